"""`antq sandbox`: the sandbox, the bot and a chat in this terminal; no token, no internet."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from pydantic import SecretStr, ValidationError

from bot.app import build_application, start_bot, stop_bot
from bot.kernel.config import Mode, Settings, describe_errors
from bot.kernel.crypto import DataKeyError, load_key
from bot.kernel.services import Services
from bot.kernel.startup import open_services_or_exit
from bot.units.importer import import_units
from content import CONTENT_DIR, Content
from sandbox.telegram.client import SandboxClient, SimUser
from sandbox.telegram.limits import LimitsConfig
from sandbox.telegram.server import SandboxServer
from sandbox.terminal.chat import (
    OFFICE_CHAT_ID,
    PERSONAS,
    ClockMoved,
    FileSource,
    TerminalChat,
)
from sandbox.terminal.clock import SandboxClock
from sandbox.zalo_chat import ZaloSide
from storage.units import UnitRepository

SANDBOX_TOKEN = "123456:SANDBOX-local-only"
SAMPLE_UNITS = CONTENT_DIR / "data" / "sample_units.csv"
FILES_FOLDER = "tep_tu_tro_ly"  # beside the database: what the bot sent, to open


def sandbox_settings(bundle: Content, server_url: str, database: Path) -> Settings | None:
    try:
        return Settings(
            bot_token=SecretStr(SANDBOX_TOKEN),
            api_base_url=server_url,
            mode=Mode.POLLING,
            database_path=database,
            data_key_file=database.with_suffix(".key"),
            office_chat_id=OFFICE_CHAT_ID,
            office_admins=frozenset(p.user_id for p in PERSONAS if p.in_office_group),
        )
    except ValidationError as exc:
        print(bundle.texts.get("config.invalid"), file=sys.stderr)
        for line in describe_errors(exc, bundle.texts):
            print(f"  {line}", file=sys.stderr)
        return None


def clock_file(database: Path) -> Path:
    return database.with_suffix(".clock")


def files_folder(database: Path) -> Path:
    """Where the files the bot sends are saved: beside the database, to open them."""
    return database.absolute().parent / FILES_FOLDER


def remove_database(database: Path) -> None:
    """Start the sandbox from nothing: the database, its WAL files, key and moved clock go."""
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        path.unlink(missing_ok=True)
    database.with_suffix(".key").unlink(missing_ok=True)
    clock_file(database).unlink(missing_ok=True)


def quiet_key(key_file: Path) -> None:
    """The sandbox's data key is created here, silently: the production warning to back it up
    is not for a trial database. A bad key file is left for the start-up to explain."""
    with contextlib.suppress(DataKeyError, OSError):
        load_key(None, key_file)


def scheduled_now(services: Services) -> ClockMoved:
    """After `:gio`: run every scheduled check of the core at once (the weekly push, reminders
    and the overdue digest, re-announcements, retention), and let the outbox look."""

    async def run() -> None:
        await services.scheduler.run_all()
        if services.sender is not None:
            services.sender.notify()

    return run


def _file_source(server: SandboxServer) -> FileSource:
    def find(file_id: str) -> tuple[bytes, str] | None:
        record = server.state.files.get(file_id)
        return (record.data, record.file_path) if record is not None else None

    return find


async def run_terminal(bundle: Content, database: Path) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    try:
        return await _run(bundle, database, stop)
    finally:
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


async def _run(bundle: Content, database: Path, stop: asyncio.Event) -> int:
    server = SandboxServer(limits=LimitsConfig(chat_burst=10))
    await server.start()
    try:
        settings = sandbox_settings(bundle, server.url, database)
        if settings is None:
            return 2
        clock = SandboxClock(settings.tz, clock_file(database))
        await asyncio.to_thread(quiet_key, settings.data_key_file)
        services = await open_services_or_exit(settings, bundle, clock)
        app = build_application(services)
        try:
            if await UnitRepository(services.db).count() == 0:
                await import_units(services.db, SAMPLE_UNITS)
            async with SandboxClient(server.url) as client:
                users = [await client.create_user(p.name, user_id=p.user_id) for p in PERSONAS]
                office: list[int | SimUser] = [
                    u for u, p in zip(users, PERSONAS, strict=True) if p.in_office_group
                ]
                await client.create_group(
                    bundle.texts.raw("terminal.office_group"), office, chat_id=OFFICE_CHAT_ID
                )
                await start_bot(app, services)
                files_dir = files_folder(database)
                chat = TerminalChat(
                    bundle,
                    users,
                    client,
                    files=_file_source(server),
                    files_dir=files_dir,
                    clock=clock,
                    clock_moved=scheduled_now(services),
                )
                chat.zalo = ZaloSide(services, write=chat.write)
                await chat.zalo.start()
                intro = [bundle.texts.raw("terminal.files_folder", path=files_dir)]
                try:
                    await chat.run(stop, intro=intro)
                finally:
                    await chat.zalo.stop()
                print(bundle.texts.raw("terminal.stopping"), flush=True)
        finally:
            await stop_bot(app)
            await services.close()
    finally:
        await server.stop()
    print(bundle.texts.raw("terminal.bye"), flush=True)
    return 0
