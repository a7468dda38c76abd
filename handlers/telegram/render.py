"""Channel-neutral replies turned into Telegram messages and inline keyboards."""

from __future__ import annotations

import html
import logging
import re

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
            [
                InlineKeyboardButton(b.label, url=b.url)
                if b.url
                else InlineKeyboardButton(b.label, callback_data=b.data)
                for b in row
            ]
            for row in in_rows(buttons)
        ]
    )


_TOKEN = re.compile(r"<[^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][\w-]*)")


def _width(token: str) -> int:
    """What Telegram counts for a piece of HTML: tags nothing, an entity its character."""
    if token.startswith("<") and len(token) > 1:
        return 0
    text = html.unescape(token) if token.startswith("&") else token
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> str:
    """Telegram refuses texts over 4096 characters as it counts them (after the HTML is parsed,
    `&amp;` is one): cut the visible text rather than fail, never inside a tag or an entity,
    and close the tags left open."""
    tokens = _TOKEN.findall(text)
    if sum(_width(token) for token in tokens) <= limit:
        return text
    kept: list[str] = []
    open_tags: list[str] = []
    used = 0
    for token in tokens:
        width = _width(token)
        if width == 0 and token.startswith("<"):
            name = _TAG_NAME.match(token)
            if name and token.startswith("</"):
                if name.group(1) in open_tags:
                    open_tags.remove(name.group(1))
            elif name:
                open_tags.append(name.group(1))
            kept.append(token)
            continue
        if used + width > limit - 1:
            break
        kept.append(token)
        used += width
    return "".join(kept) + "…" + "".join(f"</{name}>" for name in reversed(open_tags))


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
