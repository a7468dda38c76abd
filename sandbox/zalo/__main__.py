"""Run the fake Zalo OA standalone: `python -m sandbox.zalo --port 0 [--webhook URL]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence

from sandbox.zalo.config import ZaloSandboxConfig
from sandbox.zalo.models import SimClock
from sandbox.zalo.server import ZaloSandboxServer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox.zalo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback)")
    parser.add_argument("--port", type=int, default=8082, help="0 picks a free port")
    parser.add_argument("--webhook", default=None, help="URL the events are POSTed to")
    parser.add_argument("--signature-secret", choices=("oa", "app"), default="oa")
    parser.add_argument("--rate-per-minute", type=int, default=4000)
    parser.add_argument("--log-level", default="WARNING")
    return parser


async def serve(args: argparse.Namespace) -> None:
    config = ZaloSandboxConfig(
        webhook_url=args.webhook,
        signature_secret=args.signature_secret,
        rate_per_minute=args.rate_per_minute,
    )
    server = ZaloSandboxServer(args.host, args.port, config, SimClock(follow_real_time=True))
    await server.serve_until_signalled("zalo sandbox")


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper())
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
