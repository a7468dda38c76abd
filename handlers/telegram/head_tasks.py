"""/viec in a unit head's private chat: the deadlines the unit has not reported done yet, each
with the "Đã hoàn thành" and "Cần hỗ trợ" buttons of a reminder (review, newcomer D13)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers.telegram.commands import private_only
from handlers.telegram.context import chat_of, services_of
from handlers.telegram.render import send


async def pending_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await private_only(update, context):
        return
    chat = chat_of(update)
    replies = await services_of(context).reminders.pending(chat)
    await send(context, chat.chat_id, replies)
