"""The last resort: log what failed without any message content, and reassure the person."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.ext import ContextTypes

from handlers.telegram.context import services_of

log = logging.getLogger(__name__)


def describe(error: BaseException | None) -> str:
    """The exception's type and where it was raised; never its message, which may quote a person."""
    if error is None:
        return "unknown error"
    frames = traceback.format_tb(error.__traceback__)
    return f"{type(error).__name__}\n{''.join(frames)}"


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed: %s", update_id, describe(context.error))
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    texts = services_of(context).content.texts
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await context.bot.send_message(update.effective_chat.id, texts.get("chat.error"))
    except Exception as exc:  # the person may have blocked the bot, or Telegram is down
        log.warning("could not tell the person about the failure: %s", type(exc).__name__)
