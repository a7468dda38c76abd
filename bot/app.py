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
    """A ready-to-start Application: handlers registered, commands published at start-up."""
    settings = services.settings

    async def post_init(app: Application) -> None:
        await handlers.publish_commands(app, services)

    builder = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(f"{settings.api_base_url}/bot")
        .base_file_url(f"{settings.api_base_url}/file/bot")
        .concurrent_updates(settings.concurrent_updates)
        .rate_limiter(AIORateLimiter(max_retries=3))
        .post_init(post_init)
    )
    app = builder.build()
    app.bot_data[SERVICES_KEY] = services
    handlers.register(app)
    return app


async def start_receiving(app: Application, settings: Settings) -> None:
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


async def stop_receiving(app: Application) -> None:
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
