"""Commands in a group chat (the office's): help, and a pointer to the private chat for the rest."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat.reply import Reply
from bot.people.service import OFFICE_ROLE
from handlers.telegram.context import chat_of, is_office_chat, is_private, services_of
from handlers.telegram.render import send


async def office_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """In the office group and one of its admins; anyone else there is told they may not."""
    services = services_of(context)
    message = update.effective_message
    if message is None or not is_office_chat(update, services):
        return False
    user_id = update.effective_user.id if update.effective_user else None
    if not services.settings.is_office_admin(user_id):
        texts = services.content.texts
        await send(context, message.chat_id, [Reply(texts.get("office.not_allowed"))])
        return False
    return True


async def group_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/trogiup in the office group: the office's commands."""
    services = services_of(context)
    if not is_private(update) and is_office_chat(update, services):
        text = services.people.help_text(OFFICE_ROLE)
        await send(context, chat_of(update).chat_id, [Reply(text)])


async def in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A person's command typed in the office group: it belongs in a private chat."""
    services = services_of(context)
    if not is_private(update) and is_office_chat(update, services):
        texts = services.content.texts
        await send(context, chat_of(update).chat_id, [Reply(texts.get("chat.private_only"))])
