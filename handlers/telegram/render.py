"""Channel-neutral replies turned into Telegram messages and inline keyboards."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.chat.reply import Button, Reply, in_rows

log = logging.getLogger(__name__)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    return keyboard_of(reply.buttons)


def keyboard_of(buttons: list[Button]) -> InlineKeyboardMarkup | None:
    """The core's flat buttons in Telegram's rows, as their layout hints ask."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
            for row in in_rows(buttons)
        ]
    )


def fit(text: str) -> str:
    """Telegram refuses texts over 4096 characters; cut rather than fail."""
    limit = MessageLimit.MAX_TEXT_LENGTH
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def send(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int | str, replies: list[Reply]
) -> None:
    for reply in replies:
        await context.bot.send_message(
            chat_id, fit(reply.text), parse_mode=ParseMode.HTML, reply_markup=keyboard(reply)
        )


async def edit_or_send(
    context: ContextTypes.DEFAULT_TYPE, message: Message | None, replies: list[Reply]
) -> None:
    """After a button press: the first reply replaces the pressed message, the rest are sent."""
    if not replies:
        return
    if message is None:
        raise ValueError("a button press without its message")
    first, rest = replies[0], replies[1:]
    try:
        await message.edit_text(
            fit(first.text), parse_mode=ParseMode.HTML, reply_markup=keyboard(first)
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("could not edit message, sending instead (%s)", type(exc).__name__)
            rest = replies
    await send(context, message.chat_id, rest)
