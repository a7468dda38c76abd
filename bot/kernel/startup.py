"""Start-up shared by the command line and the sandbox: content, settings, services, or exit 2."""

from __future__ import annotations

import logging
import sqlite3
import sys
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError

import content
from bot.kernel.clock import Clock
from bot.kernel.config import Settings, describe_errors
from bot.kernel.crypto import DataKeyError, KeySource
from bot.kernel.services import Services
from content import Content, ContentError
from storage.db import Database

EXIT_CONFIG = 2


# Libraries that, at DEBUG, log what people wrote (update bodies, request data, SQL parameters)
# or the bot token (request URLs). They never log below these levels, whatever ANTQ_LOG_LEVEL is.
LIBRARY_LOG_CEILINGS = {
    "telegram": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiosqlite": logging.WARNING,
    "apscheduler": logging.WARNING,
    "aiohttp.access": logging.WARNING,
    "PIL": logging.WARNING,  # at DEBUG it logs image metadata: a tipster's EXIF author and device
}


class NoReceivedData(logging.Filter):
    """python-telegram-bot logs an update it cannot parse with the whole body ("Received data
    was: {...}"), which can hold what a person wrote: the line is kept, the body is not."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "Received data was" in message:
            record.msg = message.split("Received data was", 1)[0] + "Received data was: (withheld)"
            record.args = ()
        return True


def quiet_libraries() -> None:
    """Each library logs at the chosen level or its ceiling, whichever is stricter."""
    chosen = logging.getLogger().getEffectiveLevel()
    for name, ceiling in LIBRARY_LOG_CEILINGS.items():
        logging.getLogger(name).setLevel(max(chosen, ceiling))
    updater = logging.getLogger("telegram.ext.Updater")  # the webhook handler logs as it
    if not any(isinstance(f, NoReceivedData) for f in updater.filters):
        updater.addFilter(NoReceivedData())


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    quiet_libraries()


def load_content_or_exit() -> Content:
    try:
        return content.load()
    except ContentError as exc:
        print(f"ContentError: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def load_settings_or_exit(
    texts: content.Texts, need_token: bool, *, for_run: bool = False, **overrides: object
) -> Settings:
    """Settings, or one line per bad or missing value and exit 2.

    `for_run`: the channels that will run must have what they need (Zalo's secrets once
    ANTQ_ZALO_APP_ID is set); with no channel at all the process still serves the web.
    """
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except UnicodeDecodeError:
        print(texts.get("config.env_encoding"), file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
    except ValidationError as exc:
        print(texts.get("config.invalid"), file=sys.stderr)
        for line in describe_errors(exc, texts):
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
    if need_token and settings.bot_token is None:
        print(texts.get("config.invalid"), file=sys.stderr)
        print(f"  ANTQ_BOT_TOKEN: {texts.get('config.error.missing')}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG)
    missing = settings.missing_for_run() if for_run else []
    if missing:
        print(texts.get("config.invalid"), file=sys.stderr)
        for name in missing:
            print(f"  {name}: {texts.get('config.error.missing')}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG)
    return settings


def database_unusable(bundle: Content, path: Path, exc: BaseException) -> NoReturn:
    detail = str(exc) if isinstance(exc, sqlite3.Error) else type(exc).__name__
    print(bundle.texts.get("cli.database_error", path=path, detail=detail), file=sys.stderr)
    raise SystemExit(EXIT_CONFIG) from None


async def open_database_or_exit(bundle: Content, path: Path) -> Database:
    try:
        return await Database.open(path)
    except (sqlite3.Error, OSError) as exc:
        database_unusable(bundle, path, exc)


async def open_services_or_exit(settings: Settings, bundle: Content, clock: Clock) -> Services:
    """Services, or a clear word about the data key and exit code 2."""
    try:
        services = await Services.open(settings, bundle, clock)
    except DataKeyError as exc:
        print(bundle.texts.get(exc.text_key, **exc.params), file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
    except (sqlite3.Error, OSError) as exc:
        database_unusable(bundle, settings.database_path, exc)
    if services.key_source is KeySource.CREATED:
        print(
            bundle.texts.get("security.key.created", path=settings.data_key_file), file=sys.stderr
        )
    return services
