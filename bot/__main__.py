"""The one command line: `antq run`, `sandbox`, `units`, `deadlines`, `staff`, `backup FILE`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from bot.kernel.clock import Clock
from bot.kernel.config import Settings
from bot.kernel.startup import (
    EXIT_CONFIG,
    configure_logging,
    database_unusable,
    load_content_or_exit,
    load_settings_or_exit,
    open_database_or_exit,
    open_services_or_exit,
)
from content import Content

log = logging.getLogger("antq")


def _invitation_link(settings: Settings) -> Callable[[str], str] | None:
    """Telegram's start links for the console's invitation sheets, when the bot's name is known."""
    from handlers.telegram.links import start_links

    return start_links(settings.bot_username) if settings.bot_username else None


async def serve(settings: Settings, bundle: Content) -> None:
    """Run the configured channels and the web server until SIGINT or SIGTERM.

    Telegram when ANTQ_BOT_TOKEN is set, Zalo when ANTQ_ZALO_APP_ID is set, both in one process;
    the one HTTP server (ANTQ_HTTP_LISTEN) always runs: the web pages and Zalo's webhook.
    """
    from bot.app import StartupError
    from handlers.web import WebServer, build_web_app

    services = await open_services_or_exit(settings, bundle, Clock(settings.tz))
    telegram_app = None
    zalo = None
    if settings.telegram_enabled:
        from bot.app import build_application

        telegram_app = build_application(services)
    web_app = build_web_app(services, invitation_link=_invitation_link(settings))
    if settings.zalo_enabled:
        from handlers.zalo.channel import ZaloChannel
        from handlers.zalo.settings import ZaloSettings

        zalo = ZaloChannel(services, ZaloSettings.from_app(settings))
        zalo.mount(web_app)  # POST /zalo/webhook and Zalo's domain check file
    web_server = WebServer(web_app, settings.http_host, settings.http_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if telegram_app is not None:
            from bot.app import start_bot

            await start_bot(telegram_app, services)
        services.scheduler.start()  # the core's ticks, whichever channels run (idempotent)
        if zalo is not None:
            await zalo.start()
        try:
            await web_server.start()
        except OSError as exc:
            if telegram_app is None or zalo is not None:  # nothing works without the server
                text = bundle.texts.raw("cli.http_failed", listen=settings.http_listen, detail=exc)
                print(text, file=sys.stderr)
                raise SystemExit(EXIT_CONFIG) from None
            # Telegram alone keeps working; the log says why the pages are missing
            log.error(
                bundle.texts.raw("web.server.bind_failed", listen=settings.http_listen, detail=exc)
            )
        running = [f"telegram {settings.mode.value}"] if telegram_app else []
        running += ["zalo"] if zalo else []
        running += [f"http {settings.http_listen}"]
        log.info(bundle.texts.get("cli.started", mode=", ".join(running)))
        await stop.wait()
    except StartupError as exc:
        print(bundle.texts.get(exc.text_key, **exc.params), file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        await web_server.stop()
        if zalo is not None:
            await zalo.stop()
        services.scheduler.shutdown()
        if telegram_app is not None:
            from bot.app import stop_bot

            await stop_bot(telegram_app)
        await services.close()


async def serve_web(settings: Settings, bundle: Content) -> None:
    """Only the web pages and the console (no Telegram), until SIGINT or SIGTERM."""
    from handlers.web import WebServer, build_web_app

    services = await open_services_or_exit(settings, bundle, Clock(settings.tz))
    server = WebServer(
        build_web_app(services, invitation_link=_invitation_link(settings)),
        settings.http_host,
        settings.http_port,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
        await stop.wait()
    finally:
        await server.stop()
        await services.close()


def cmd_web(args: argparse.Namespace) -> int:
    bundle = load_content_or_exit()
    settings = load_settings_or_exit(bundle.texts, need_token=False)
    configure_logging(settings.log_level)
    asyncio.run(serve_web(settings, bundle))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    bundle = load_content_or_exit()
    settings = load_settings_or_exit(bundle.texts, need_token=False, for_run=True)
    configure_logging(settings.log_level)
    asyncio.run(serve(settings, bundle))
    return 0


def cmd_units_import(args: argparse.Namespace) -> int:
    from bot.units.importer import format_report, import_units

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


def cmd_units_invites(args: argparse.Namespace) -> int:
    from bot.invitations.export import write_files
    from bot.invitations.service import InvitationService
    from bot.kernel.clock import format_local
    from handlers.telegram.links import start_links

    bundle = load_content_or_exit()
    texts = bundle.texts
    overrides = {"bot_username": args.bot_username} if args.bot_username else {}
    settings = load_settings_or_exit(texts, need_token=False, **overrides)
    if settings.bot_username is None:
        print(texts.get("config.invalid"), file=sys.stderr)
        print(f"  {texts.raw('invite.cli.no_username')}", file=sys.stderr)
        return EXIT_CONFIG
    username = settings.bot_username
    clock = Clock(settings.tz)
    out = Path(args.out or f"loi_moi_thu_truong_{clock.today().strftime('%Y%m%d')}.xlsx")

    async def run() -> int:
        db = await open_database_or_exit(bundle, settings.database_path)
        try:
            service = InvitationService(db, texts, clock, settings.org_name)
            units, unknown = await service.all_units(args.unit)
            if unknown:
                print(texts.raw("invite.cli.unknown_units", codes=", ".join(unknown)))
                return 1
            if not units:
                print(texts.raw("invite.cli.no_units"))
                return 1
            issued = await service.issue(units, "cli")
        except sqlite3.Error as exc:  # e.g. locked for longer than the busy timeout
            database_unusable(bundle, settings.database_path, exc)
        finally:
            await db.close()
        xlsx, csv_path = write_files(issued, start_links(username), out, texts, settings.tz)
        expires = format_local(issued[0].expires_at, settings.tz)
        print(
            texts.raw(
                "invite.cli.done", count=len(issued), expires=expires, xlsx=xlsx, csv=csv_path
            )
        )
        return 0

    return asyncio.run(run())


def cmd_deadlines_import(args: argparse.Namespace) -> int:
    from bot.deadlines.importer import format_outcome, import_deadlines

    bundle = load_content_or_exit()
    settings = load_settings_or_exit(bundle.texts, need_token=False)

    async def run() -> bool:
        services = await open_services_or_exit(settings, bundle, Clock(settings.tz))
        try:
            outcome = await import_deadlines(services.deadlines, Path(args.file), bundle.texts)
        except sqlite3.Error as exc:
            database_unusable(bundle, settings.database_path, exc)
        finally:
            await services.close()
        print(format_outcome(outcome, bundle.texts))
        return outcome.ok

    return 0 if asyncio.run(run()) else 1


def cmd_backup(args: argparse.Namespace) -> int:
    from storage.backup import BackupError, backup_in_thread

    bundle = load_content_or_exit()
    settings = load_settings_or_exit(bundle.texts, need_token=False)
    try:
        result = asyncio.run(backup_in_thread(settings.database_path, Path(args.file)))
    except (BackupError, OSError) as exc:
        print(bundle.texts.raw("cli.backup_failed", detail=str(exc)), file=sys.stderr)
        return EXIT_CONFIG
    size = f"{result.size / 1_000_000:.1f}".replace(".", ",")
    print(
        bundle.texts.raw(
            "cli.backup_done",
            path=result.path,
            size=size,
            reports=result.reports,
            key_file=settings.data_key_file,
        )
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot.kernel.clock import format_date
    from bot.office.export_desk import PeriodError

    bundle = load_content_or_exit()
    texts = bundle.texts
    settings = load_settings_or_exit(texts, need_token=False)
    target = Path(args.file)
    if target.suffix.lower() != ".xlsx":
        target = target.with_suffix(".xlsx")
    folder = target.parent
    if not folder.is_dir():  # checked first: the workbook writer would fail half-way
        detail = f"{folder}: {texts.raw('export.no_folder')}"
        print(texts.raw("export.cli_failed", detail=detail), file=sys.stderr)
        return EXIT_CONFIG

    async def run() -> int:
        services = await open_services_or_exit(settings, bundle, Clock(settings.tz))
        try:
            try:
                period = services.exports.period(args.start, args.end)
            except PeriodError as exc:
                print(texts.raw("export.cli_bad_dates", detail=str(exc)), file=sys.stderr)
                return EXIT_CONFIG
            result = await services.exports.write(period, target, "cli", as_csv=args.csv)
        except sqlite3.Error as exc:
            database_unusable(bundle, settings.database_path, exc)
        except OSError as exc:
            print(texts.raw("export.cli_failed", detail=str(exc)), file=sys.stderr)
            return EXIT_CONFIG
        finally:
            await services.close()
        print(
            texts.raw(
                "export.cli_done",
                first=format_date(period.first),
                last=format_date(period.last),
                reports=result.rows["reports"],
                units=result.rows["scorecard"],
                audit=result.rows["audit"],
                files="\n".join(f"  {path}" for path in result.files),
            )
        )
        return 0

    return asyncio.run(run())


def cmd_purge(args: argparse.Namespace) -> int:
    from bot.kernel.clock import format_local

    bundle = load_content_or_exit()
    settings = load_settings_or_exit(bundle.texts, need_token=False)

    async def run() -> int:
        services = await open_services_or_exit(settings, bundle, Clock(settings.tz))
        try:
            cutoff = services.retention.cutoff()
            if cutoff is None:
                print(bundle.texts.raw("cli.purge_off"))
                return 0
            erased = await services.retention.purge("cli")
        except sqlite3.Error as exc:
            database_unusable(bundle, settings.database_path, exc)
        finally:
            await services.close()
        when = format_local(cutoff, settings.tz)
        print(bundle.texts.raw("cli.purge_done", count=erased, cutoff=when))
        return 0

    return asyncio.run(run())


def cmd_staff(args: argparse.Namespace) -> int:
    """`antq staff add|list|disable|reset`: accounts of the web console."""
    from bot.office.staff import StaffError, StaffService

    bundle = load_content_or_exit()
    texts = bundle.texts
    settings = load_settings_or_exit(texts, need_token=False)
    password: str | None = None
    if args.staff_command == "add" and args.password_stdin:
        if sys.stdin.isatty():
            print(texts.raw("web.staff.password_prompt"), file=sys.stderr)
        password = sys.stdin.readline().rstrip("\r\n")

    async def run() -> int:
        services = await open_services_or_exit(settings, bundle, Clock(settings.tz))
        staff = StaffService(services.db, services.cipher, services.clock)
        try:
            if args.staff_command == "add":
                row, one_time = await staff.add(
                    args.username, args.name, args.role, password, "cli"
                )
                print(texts.raw("web.staff.added", username=row.username, role=row.role))
                if one_time:
                    print(texts.raw("web.staff.one_time", password=one_time))
            elif args.staff_command == "list":
                rows = await staff.list()
                if not rows:
                    print(texts.raw("web.staff.list_empty"))
                for row in rows:
                    print(
                        texts.raw(
                            "web.staff.list_line",
                            username=row.username,
                            role=row.role,
                            state=texts.raw(
                                "web.staff.active" if row.active else "web.staff.inactive"
                            ),
                            totp=texts.raw(
                                "web.staff.totp_on" if row.totp_secret else "web.staff.totp_off"
                            ),
                            name=row.name,
                        )
                    )
            elif args.staff_command == "disable":
                await staff.disable(args.username, "cli")
                print(texts.raw("web.staff.disabled", username=args.username))
            else:
                one_time = await staff.reset(args.username, "cli")
                print(texts.raw("web.staff.reset", username=args.username, password=one_time))
        except StaffError as exc:
            print(texts.raw(f"web.staff.{exc.key}"), file=sys.stderr)
            return 1
        except sqlite3.Error as exc:
            database_unusable(bundle, settings.database_path, exc)
        finally:
            await services.close()
        return 0

    return asyncio.run(run())


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.terminal import remove_database, run_terminal

    bundle = load_content_or_exit()
    configure_logging("WARNING")
    if args.reset:
        remove_database(Path(args.database))
    try:
        return asyncio.run(run_terminal(bundle, database=Path(args.database)))
    except KeyboardInterrupt:  # Ctrl+C before the terminal chat took it over: no traceback
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="antq", description="ANTQ Bot")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the bot with the configured token")
    run.set_defaults(func=cmd_run)

    web = commands.add_parser(
        "web", help="serve only the web pages and the console on ANTQ_HTTP_LISTEN (no Telegram)"
    )
    web.set_defaults(func=cmd_web)

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
    invites = units_commands.add_parser(
        "invites", help="write one invitation link per unit for its head (XLSX and CSV)"
    )
    invites.add_argument("--out", help="the .xlsx file to write (a .csv is written beside it)")
    invites.add_argument("--unit", action="append", help="only this unit code (repeat for several)")
    invites.add_argument("--bot-username", help="the bot's username (default ANTQ_BOT_USERNAME)")
    invites.set_defaults(func=cmd_units_invites)

    deadlines = commands.add_parser("deadlines", help="manage the deadlines of the units")
    deadlines_commands = deadlines.add_subparsers(dest="deadlines_command", required=True)
    deadlines_import = deadlines_commands.add_parser(
        "import", help="create or update deadlines from a YAML or CSV file"
    )
    deadlines_import.add_argument("file")
    deadlines_import.set_defaults(func=cmd_deadlines_import)

    backup = commands.add_parser(
        "backup", help="copy the database to FILE while the bot runs (SQLite online backup)"
    )
    backup.add_argument("file")
    backup.set_defaults(func=cmd_backup)

    export = commands.add_parser(
        "export", help="write the office's workbook (reports, scorecard, deadlines, outreach, log)"
    )
    export.add_argument("--from", dest="start", metavar="DD/MM/YYYY", help="first day")
    export.add_argument("--to", dest="end", metavar="DD/MM/YYYY", help="last day (default today)")
    export.add_argument("--csv", action="store_true", help="one CSV per sheet instead of XLSX")
    export.add_argument("file", help="the .xlsx file to write")
    export.set_defaults(func=cmd_export)

    staff = commands.add_parser("staff", help="accounts of the office's web console")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    staff_add = staff_commands.add_parser(
        "add", help="create an account (prints a one-time password unless --password-stdin)"
    )
    staff_add.add_argument("username")
    staff_add.add_argument("--name", required=True, help="the person's full name")
    staff_add.add_argument("--role", required=True, choices=["admin", "clerk", "viewer"])
    staff_add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    staff_commands.add_parser("list", help="list the accounts")
    staff_disable = staff_commands.add_parser("disable", help="lock an account, end its sessions")
    staff_disable.add_argument("username")
    staff_reset = staff_commands.add_parser(
        "reset", help="a new one-time password; two-step login is enrolled again"
    )
    staff_reset.add_argument("username")
    staff.set_defaults(func=cmd_staff)

    purge = commands.add_parser(
        "purge", help="erase the content of reports closed longer than ANTQ_RETENTION_DAYS"
    )
    purge.set_defaults(func=cmd_purge)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
