#!/usr/bin/env python3
"""A bare python-telegram-bot echo bot, the baseline that dialog_throughput.py compares with."""

from __future__ import annotations

import argparse
import logging
import os

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text is not None:
        await context.bot.send_message(message.chat_id, message.text)


async def edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    if query.message is not None and query.message.is_accessible:
        await query.edit_message_text(query.data or "?")


def build(base_url: str, token: str, concurrent_updates: int) -> Application:
    """Built as bot/app.py builds the real bot, but without its rate limiter and handlers."""
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{base_url}/bot")
        .base_file_url(f"{base_url}/file/bot")
        .concurrent_updates(concurrent_updates)
        .build()
    )
    private_text = filters.ChatType.PRIVATE & filters.TEXT & filters.UpdateType.MESSAGE
    app.add_handler(MessageHandler(private_text, echo))
    app.add_handler(CallbackQueryHandler(edit))
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--base-url", default=os.environ.get("ANTQ_API_BASE_URL", "http://127.0.0.1:8081")
    )
    parser.add_argument("--token", default=os.environ.get("ANTQ_BOT_TOKEN", "123456:BENCH-token"))
    parser.add_argument(
        "--concurrent-updates",
        type=int,
        default=int(os.environ.get("ANTQ_CONCURRENT_UPDATES", "32")),
    )
    parser.add_argument("--log-level", default=os.environ.get("ANTQ_LOG_LEVEL", "WARNING"))
    args = parser.parse_args()
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    app = build(args.base_url.rstrip("/"), args.token, args.concurrent_updates)
    # The same polling settings as bot/app.py; SIGINT and SIGTERM stop it cleanly.
    app.run_polling(poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
