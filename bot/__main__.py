"""The one command line: `antq run`, `antq sandbox`, `antq units import FILE`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from bot.clock import Clock
from bot.config import Settings
from bot.startup import (
    configure_logging,
    load_content_or_exit,
    load_settings_or_exit,
    open_database_or_exit,
    open_services_or_exit,
)
from content import Content

log = logging.getLogger("antq")


async def serve(settings: Settings, bundle: Content) -> None:
    """Run the bot until SIGINT or SIGTERM."""
    from bot.app import StartupError, build_application, start_bot, stop_bot

    services = await open_services_or_exit(settings, bundle, Clock(settings.tz))
    app = build_application(services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await start_bot(app, services)
        log.info(bundle.texts.get("cli.started", mode=settings.mode.value))
        await stop.wait()
    except StartupError as exc:
        print(bundle.texts.get(exc.text_key, **exc.params), file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        await stop_bot(app)
        await services.close()


def cmd_run(args: argparse.Namespace) -> int:
    bundle = load_content_or_exit()
    settings = load_settings_or_exit(bundle.texts, need_token=True)
    configure_logging(settings.log_level)
    asyncio.run(serve(settings, bundle))
    return 0


def cmd_units_import(args: argparse.Namespace) -> int:
    from bot.units_import import format_report, import_units

    bundle = load_content_or_exit()
    settings = load_settings_or_exit(bundle.texts, need_token=False)

    async def run() -> bool:
        db = await open_database_or_exit(bundle, settings.database_path)
        try:
            report = await import_units(db, Path(args.file))
        finally:
            await db.close()
        print(format_report(report, bundle.texts))
        return report.ok

    return 0 if asyncio.run(run()) else 1


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.terminal import remove_database, run_terminal

    bundle = load_content_or_exit()
    configure_logging("WARNING")
    if args.reset:
        remove_database(Path(args.database))
    return asyncio.run(run_terminal(bundle, database=Path(args.database)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="antq", description="ANTQ Bot")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the bot with the configured token")
    run.set_defaults(func=cmd_run)

    sandbox = commands.add_parser(
        "sandbox", help="start a local Telegram sandbox and the bot, and chat in this terminal"
    )
    sandbox.add_argument("--database", default="./data/sandbox.db")
    sandbox.add_argument("--reset", action="store_true", help="start from an empty database")
    sandbox.set_defaults(func=cmd_sandbox)

    units = commands.add_parser("units", help="manage units (schools and other units)")
    units_commands = units.add_subparsers(dest="units_command", required=True)
    units_import = units_commands.add_parser("import", help="import units from a CSV or XLSX file")
    units_import.add_argument("file")
    units_import.set_defaults(func=cmd_units_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
