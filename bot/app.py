"""Wiring: the python-telegram-bot Application around the services, and how it runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

import handlers.telegram as handlers
from bot.kernel.config import Mode, Settings
from bot.kernel.outbox import OutboxSender
from bot.kernel.services import Services
from handlers.telegram import announcements
from handlers.telegram.aiohttp_request import AiohttpRequest
from handlers.telegram.context import CHANNEL, SERVICES_KEY
from handlers.telegram.outbox_transport import TelegramTransport, make_outbox_bot
from handlers.telegram.sanitize import TelegramSanitizer
from storage.db import Transaction
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

REANNOUNCE_EVERY = timedelta(minutes=5)
OUTREACH_EVERY = timedelta(minutes=1)
REMINDERS_EVERY = timedelta(minutes=1)
RETENTION_EVERY = timedelta(days=1)  # a daily purge; idempotent, so a restart may run it again
PROGRESS_EVERY = timedelta(seconds=10)  # the office group takes 20 messages a minute
TRANSPORT_KEY = "outbox_transport"


def build_application(services: Services) -> Application:
    """A ready-to-start Application with every handler registered and the outbox sender."""
    settings = services.settings
    app = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(f"{settings.api_base_url}/bot")
        .base_file_url(f"{settings.api_base_url}/file/bot")
        .request(AiohttpRequest(connection_pool_size=64, media_timeout=120.0))
        .get_updates_request(AiohttpRequest(connection_pool_size=2))
        .concurrent_updates(settings.concurrent_updates)
        # Replies to a person who is waiting are not paced to the broadcast limit (the outbox
        # paces everything proactive); groups keep Telegram's 20 a minute; a 429 is retried.
        .rate_limiter(AIORateLimiter(overall_max_rate=0, max_retries=3))
        .build()
    )
    app.bot_data[SERVICES_KEY] = services
    transport = TelegramTransport(make_outbox_bot(settings))
    app.bot_data[TRANSPORT_KEY] = transport
    services.sender = _sender(services, transport)
    services.conversations.sanitizer = TelegramSanitizer(app.bot, services.content.texts)
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
        is_group=lambda chat: chat.startswith("-"),  # Telegram's group ids are negative
    )


async def _reannounce(context: ContextTypes.DEFAULT_TYPE) -> None:
    services: Services = context.application.bot_data[SERVICES_KEY]
    await services.desk.reannounce_unclaimed()


async def _outreach(context: ContextTypes.DEFAULT_TYPE) -> None:
    services: Services = context.application.bot_data[SERVICES_KEY]
    await services.outreach.tick()


async def _reminders(context: ContextTypes.DEFAULT_TYPE) -> None:
    services: Services = context.application.bot_data[SERVICES_KEY]
    await services.reminders.tick()


async def _retention(context: ContextTypes.DEFAULT_TYPE) -> None:
    services: Services = context.application.bot_data[SERVICES_KEY]
    erased = await services.retention.purge()
    if erased:
        log.info("retention: the content of %d closed reports was erased", erased)


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
        raise StartupError("cli.bad_token", api=api) from None
    except NetworkError as exc:
        raise StartupError("cli.unreachable", api=api, detail=type(exc).__name__) from None
    await app.bot_data[TRANSPORT_KEY].start()
    assert services.sender is not None
    services.sender.start()
    await app.start()
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            _reannounce, interval=REANNOUNCE_EVERY, first=timedelta(seconds=30), name="reannounce"
        )
        app.job_queue.run_repeating(
            _outreach, interval=OUTREACH_EVERY, first=timedelta(seconds=5), name="outreach"
        )
        app.job_queue.run_repeating(
            _reminders, interval=REMINDERS_EVERY, first=timedelta(seconds=5), name="reminders"
        )
        app.job_queue.run_repeating(
            _retention, interval=RETENTION_EVERY, first=timedelta(minutes=2), name="retention"
        )
        app.job_queue.run_repeating(
            announcements.progress_job,
            interval=PROGRESS_EVERY,
            first=PROGRESS_EVERY,
            name="announcement-progress",
        )
    await _start_receiving(app, services.settings)


async def stop_bot(app: Application) -> None:
    """Stop receiving, let running handlers finish, flush the outbox, release connections."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    services: Services | None = app.bot_data.get(SERVICES_KEY)
    if services is not None and services.sender is not None:
        await services.sender.stop()
    transport: TelegramTransport | None = app.bot_data.get(TRANSPORT_KEY)
    if transport is not None:
        await transport.stop()
    await app.shutdown()


async def _start_receiving(app: Application, settings: Settings) -> None:
    assert app.updater is not None
    if settings.mode is Mode.WEBHOOK:
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


async def _repeat(
    name: str, every: timedelta, first: timedelta, job: Callable[[], Awaitable[object]]
) -> None:
    await asyncio.sleep(first.total_seconds())
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a job's failure is logged and the job runs again next time
            log.error("job %s failed: %s", name, type(exc).__name__)
        await asyncio.sleep(every.total_seconds())


def start_jobs(services: Services) -> list[asyncio.Task[None]]:
    """The periodic jobs when Telegram (whose JobQueue runs them otherwise) is not running."""

    async def retention() -> None:
        erased = await services.retention.purge()
        if erased:
            log.info("retention: the content of %d closed reports was erased", erased)

    jobs: list[tuple[str, timedelta, timedelta, Callable[[], Awaitable[object]]]] = [
        ("reannounce", REANNOUNCE_EVERY, timedelta(seconds=30), services.desk.reannounce_unclaimed),
        ("outreach", OUTREACH_EVERY, timedelta(seconds=5), services.outreach.tick),
        ("reminders", REMINDERS_EVERY, timedelta(seconds=5), services.reminders.tick),
        ("retention", RETENTION_EVERY, timedelta(minutes=2), retention),
    ]
    return [asyncio.create_task(_repeat(*job), name=f"job-{job[0]}") for job in jobs]


async def stop_jobs(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
