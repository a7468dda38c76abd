"""How a handler reaches the bot's services and names the chat it is in."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.conversation import ChatRef
from bot.services import Services

CHANNEL = "telegram"
SERVICES_KEY = "services"


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data[SERVICES_KEY]


def chat_of(update: Update) -> ChatRef:
    assert update.effective_chat is not None
    return ChatRef(CHANNEL, update.effective_chat.id)


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def is_office_chat(update: Update, services: Services) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.id == services.settings.office_chat_id
