"""A person's private chat with the bot: every message and button press goes to the core router."""

from __future__ import annotations

import asyncio

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.chat.reply import Reply
from handlers.telegram.context import chat_of, is_private, services_of
from handlers.telegram.incoming import from_update
from handlers.telegram.render import edit_or_send, send


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_private(update):
        return
    incoming = from_update(update)
    if incoming is None:
        return
    services = services_of(context)
    answer = await services.router.handle(chat_of(update), incoming)
    replies = list(answer.replies)
    if answer.notice and not replies:  # no button was pressed: nowhere for a toast
        replies.append(Reply(answer.notice))
    await send(context, chat_of(update).chat_id, replies)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press: the notice as a toast (an alert when it matters); the pressed message is edited
    in place when the dialog moved on, an optimisation only Telegram makes."""
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    if not is_private(update):
        await query.answer(services.content.texts.get("chat.stale_button"))
        return
    incoming = from_update(update)
    assert incoming is not None
    message = query.message if isinstance(query.message, Message) else None
    incoming.context_text = message.text if message is not None else None
    chat = chat_of(update)
    answer = await services.router.handle(chat, incoming)
    if answer.advanced and message is not None:
        shown = edit_or_send(context, message, answer.replies)
    else:
        shown = send(context, chat.chat_id, answer.replies)
    await asyncio.gather(query.answer(answer.notice, show_alert=answer.alert), shown)
