"""Run the sandbox standalone: `python -m sandbox.telegram --port 8081 [--no-limits] ...`.

`--algorithm window` makes the flood limits a strict sliding window (no more than N calls in any
second: 30 overall, 1 per private chat; 20 a minute per group) instead of token buckets.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence

from sandbox.telegram.limits import ALGORITHMS, LimitsConfig
from sandbox.telegram.server import SandboxServer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox.telegram", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback)")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--bot-username", default="antq_sandbox_bot")
    parser.add_argument("--no-limits", action="store_true", help="switch flood limits off")
    parser.add_argument("--no-privacy", action="store_true", help="bot sees all group messages")
    parser.add_argument(
        "--algorithm",
        choices=ALGORITHMS,
        default=LimitsConfig().algorithm,
        help="flood control: token buckets (bucket) or a strict sliding window (window)",
    )
    defaults = LimitsConfig()
    for name in (
        "global_rate",
        "global_burst",
        "chat_rate",
        "chat_burst",
        "group_per_minute",
        "group_burst",
        "max_text_length",
        "max_caption_length",
    ):
        default = getattr(defaults, name)
        parser.add_argument(
            "--" + name.replace("_", "-"), type=type(default), default=default, dest=name
        )
    parser.add_argument("--log-level", default="WARNING")
    return parser


def limits_from_args(args: argparse.Namespace) -> LimitsConfig:
    values = {
        name: getattr(args, name)
        for name in LimitsConfig().to_dict()
        if name != "enabled" and hasattr(args, name)
    }
    return LimitsConfig(enabled=not args.no_limits, **values)


async def serve(args: argparse.Namespace) -> None:
    server = SandboxServer(
        args.host,
        args.port,
        limits_from_args(args),
        args.bot_username,
        group_privacy=not args.no_privacy,
    )
    await server.serve_until_signalled("sandbox")


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper())
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
