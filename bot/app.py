"""Wiring: the python-telegram-bot Application around the services, and how it runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.ext._utils import webhookhandler
from tornado.httpserver import HTTPServer

import handlers.telegram as handlers
from bot.kernel.config import Mode, Settings
from bot.kernel.outbox import OutboxSender
from bot.kernel.services import Services
from handlers.telegram import announcements
from handlers.telegram.aiohttp_request import AiohttpRequest
from handlers.telegram.context import CHANNEL, SERVICES_KEY, is_group_chat
from handlers.telegram.files import TelegramFiles
from handlers.telegram.outbox_transport import TelegramTransport, make_outbox_bot
from storage.db import Transaction
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

PROGRESS_EVERY = timedelta(seconds=10)  # the office group takes 20 messages a minute
TRANSPORT_KEY = "outbox_transport"
FILES_KEY = "telegram_files"
ADOPTION_KEY = "file_adoption"
REQUESTS_KEY = "http_requests"
WEBHOOK_MAX_BODY = 1 << 20  # an update is a few KB; Telegram's largest are far below 1 MB


def build_application(services: Services) -> Application:
    """A ready-to-start Application with every handler registered and the outbox sender."""
    settings = services.settings
    requests = [
        AiohttpRequest(connection_pool_size=64, media_timeout=120.0),
        AiohttpRequest(connection_pool_size=2),
    ]
    app = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value() if settings.bot_token else "")
        .base_url(f"{settings.api_base_url}/bot")
        .base_file_url(f"{settings.api_base_url}/file/bot")
        .request(requests[0])
        .get_updates_request(requests[1])
        .concurrent_updates(settings.concurrent_updates)
        # Replies to a person who is waiting are not paced to the broadcast limit (the outbox
        # paces everything proactive); groups keep Telegram's 20 a minute; a 429 is retried.
        .rate_limiter(AIORateLimiter(overall_max_rate=0, max_retries=3))
        .build()
    )
    app.bot_data[SERVICES_KEY] = services
    app.bot_data[REQUESTS_KEY] = requests
    transport = TelegramTransport(make_outbox_bot(settings), services.files)
    app.bot_data[TRANSPORT_KEY] = transport
    services.senders[CHANNEL] = _sender(services, transport)
    files = TelegramFiles(app.bot, services.files)
    app.bot_data[FILES_KEY] = files
    services.conversations.fetchers[CHANNEL] = files.fetch
    handlers.register(app, settings)
    return app


def _sender(services: Services, transport: TelegramTransport) -> OutboxSender:
    people = services.people.people

    async def office_message_sent(tx: Transaction, row: OutboxRow, message_id: str) -> None:
        await services.desk.remember_message(tx, row.ref, message_id)

    async def person_blocked(channel: str, chat_id: str) -> None:
        async with services.db.transaction() as tx:
            await people.unreachable(tx, channel, chat_id)

    return OutboxSender(
        services.db,
        services.outbox.repo,
        transport,
        services.clock,
        decode=services.decode_outgoing,
        on_sent={"office_report": office_message_sent},
        on_blocked=person_blocked,
        channel=CHANNEL,
        is_group=is_group_chat,
    )


class StartupError(Exception):
    """The bot cannot reach or use the Bot API; `text_key` words it for the person installing."""

    def __init__(self, text_key: str, **params: object) -> None:
        super().__init__(text_key)
        self.text_key = text_key
        self.params = params


async def start_bot(app: Application, services: Services) -> None:
    """Initialise, publish the command menu, start the outbox and the updates."""
    api = services.settings.api_base_url
    try:
        await app.initialize()
        await handlers.publish_commands(app, services)
    except InvalidToken:
        await _release_requests(app)
        raise StartupError("cli.bad_token", api=api) from None
    except NetworkError as exc:
        await _release_requests(app)
        raise StartupError("cli.unreachable", api=api, detail=type(exc).__name__) from None
    await app.bot_data[TRANSPORT_KEY].start()
    services.senders[CHANNEL].start()
    await app.start()
    services.scheduler.start()  # the core's ticks; idempotent when another channel started them
    if app.job_queue is not None:  # Telegram's own: redrawing the progress message in place
        app.job_queue.run_repeating(
            announcements.progress_job,
            interval=PROGRESS_EVERY,
            first=PROGRESS_EVERY,
            name="announcement-progress",
        )
    await services.files.remove_stale_temp()
    app.bot_data[ADOPTION_KEY] = asyncio.create_task(_adopt_legacy_files(app, services))
    await _start_receiving(app, services.settings)


async def _adopt_legacy_files(app: Application, services: Services) -> None:
    """Once up: Telegram file ids kept before the file store, fetched into it (lazy migration)."""
    try:
        moved = await app.bot_data[FILES_KEY].adopt_legacy_files(services.cipher)
    except Exception:
        log.exception("files kept before the file store could not all be adopted")
        return
    if moved:
        log.info("file store: %d files kept before it were adopted", moved)


async def _release_requests(app: Application) -> None:
    """Close the HTTP sessions of an application whose start failed (shutdown() skips them)."""
    requests: list[AiohttpRequest] = app.bot_data.get(REQUESTS_KEY, [])
    await asyncio.gather(*(request.shutdown() for request in requests), return_exceptions=True)


async def stop_bot(app: Application) -> None:
    """Stop receiving, let running handlers finish, flush the outbox, release connections."""
    adoption: asyncio.Task[None] | None = app.bot_data.get(ADOPTION_KEY)
    if adoption is not None and not adoption.done():
        adoption.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await adoption
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    services: Services | None = app.bot_data.get(SERVICES_KEY)
    if services is not None:
        services.scheduler.shutdown()
        sender = services.senders.pop(CHANNEL, None)
        if sender is not None:
            await sender.stop()
    transport: TelegramTransport | None = app.bot_data.get(TRANSPORT_KEY)
    if transport is not None:
        await transport.stop()
    await app.shutdown()


class _BoundedHTTPServer(HTTPServer):
    """Tornado's server with a small body limit: a longer POST is refused from its headers.

    Its default of 100 MB is buffered in full before the secret is even checked.
    """

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        kwargs["max_body_size"] = WEBHOOK_MAX_BODY
        super().initialize(*args, **kwargs)


async def _start_receiving(app: Application, settings: Settings) -> None:
    assert app.updater is not None
    if settings.mode is Mode.WEBHOOK:
        webhookhandler.HTTPServer = _BoundedHTTPServer  # type: ignore[misc]
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        url_path = (settings.webhook_url or "").split("://", 1)[-1].partition("/")[2]
        await app.updater.start_webhook(
            listen=settings.webhook_host,
            port=settings.webhook_port,
            url_path=url_path,
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        await app.updater.start_polling(
            poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES
        )
