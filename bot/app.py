"""Wiring: the python-telegram-bot Application around the services, and how it runs."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

import handlers
from bot.config import Mode, Settings
from bot.services import Services
from handlers.context import SERVICES_KEY

log = logging.getLogger(__name__)


def build_application(services: Services) -> Application:
    """A ready-to-start Application with every handler registered."""
    settings = services.settings
    builder = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(f"{settings.api_base_url}/bot")
        .base_file_url(f"{settings.api_base_url}/file/bot")
        .concurrent_updates(settings.concurrent_updates)
        .rate_limiter(AIORateLimiter(max_retries=3))
    )
    app = builder.build()
    app.bot_data[SERVICES_KEY] = services
    handlers.register(app)
    return app


async def start_bot(app: Application, services: Services) -> None:
    """Initialise, publish the command menu, and start receiving updates."""
    await app.initialize()
    await handlers.publish_commands(app, services)
    await app.start()
    await _start_receiving(app, services.settings)


async def stop_bot(app: Application) -> None:
    """Stop receiving, let running handlers finish, and release the connection pool."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()


async def _start_receiving(app: Application, settings: Settings) -> None:
    """Start polling or the webhook listener on an initialised, started Application."""
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
