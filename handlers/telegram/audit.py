"""/nhatky in the office group: the latest entries of the audit log, for office members only."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat.reply import Reply
from handlers.telegram.commands import office_only
from handlers.telegram.context import chat_of, services_of
from handlers.telegram.render import send


async def audit_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await office_only(update, context):
        return
    services = services_of(context)
    text = await services.audit.latest_text()
    await send(context, chat_of(update).chat_id, [Reply(text)])
