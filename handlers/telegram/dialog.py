"""Messages and button presses that answer an open dialog."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat.reply import Reply
from bot.dialogs.engine import is_dialog_payload
from handlers.telegram.context import chat_of, is_private, services_of
from handlers.telegram.incoming import from_update
from handlers.telegram.render import edit_or_send, send


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_private(update):
        return
    services = services_of(context)
    chat = chat_of(update)
    incoming = from_update(update)
    if incoming is None:
        return
    async with services.conversations.lock(chat):
        answer = await services.conversations.handle(chat, incoming)
        if answer is None:
            await send(
                context, chat.chat_id, [Reply(services.content.texts.get("chat.not_understood"))]
            )
            return
        await send(context, chat.chat_id, answer.replies)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    texts = services.content.texts
    if not is_private(update) or not is_dialog_payload(query.data):
        await query.answer(texts.get("chat.stale_button"))
        return
    chat = chat_of(update)
    incoming = from_update(update)
    assert incoming is not None
    async with services.conversations.lock(chat):
        answer = await services.conversations.handle(chat, incoming)
        if answer is None:
            await query.answer(texts.get("chat.stale_button"))
            receipt = await services.reports.lost_receipt(chat)
            if receipt is not None:
                await send(context, chat.chat_id, [receipt])
            return
        message = query.message if query.message and query.message.is_accessible else None
        if answer.advanced and message is not None:
            shown = edit_or_send(context, message, answer.replies)
        else:
            shown = send(context, chat.chat_id, answer.replies)
        await asyncio.gather(query.answer(answer.notice), shown)
