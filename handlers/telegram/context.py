"""How a handler reaches the bot's services and names the chat it is in."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from telegram import CallbackQuery, Message, Update, User
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.chat.ref import ChatRef, Staff
from bot.kernel.services import Services

CHANNEL = "telegram"
SERVICES_KEY = "services"


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data[SERVICES_KEY]


def chat_of(update: Update) -> ChatRef:
    assert update.effective_chat is not None
    return ChatRef(CHANNEL, str(update.effective_chat.id))


def staff_of(user: User | None) -> Staff:
    """An office member of the Telegram group, as the audit log names them."""
    if user is None:
        return Staff(actor="office", role="clerk")
    return Staff(actor=f"office:{user.id}", role="clerk", name=user.full_name)


def pressed_message(query: CallbackQuery) -> Message | None:
    """The message under a pressed button, when the bot can still see it."""
    return query.message if isinstance(query.message, Message) else None


def is_group_chat(chat_id: str) -> bool:
    """Telegram's group ids are negative: the outbox paces messages to them as groups."""
    return chat_id.startswith("-")


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def is_office_chat(update: Update, services: Services) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.id == services.settings.office_chat_id


Parsed = TypeVar("Parsed")


async def office_button(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    parse: Callable[[str | None], Parsed | None],
    unknown_key: str,
) -> tuple[Parsed, Message] | None:
    """A button pressed in the office group by one of its members: its data parsed, and the
    message it is under; None otherwise (forged or foreign data is answered with `unknown_key`,
    a non-member with a refusal, a message the bot can no longer see with nothing)."""
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    texts = services.content.texts
    parsed = parse(query.data)
    if parsed is None or not is_office_chat(update, services) or query.message is None:
        await query.answer(texts.get(unknown_key))
        return None
    if not services.settings.is_office_admin(query.from_user.id):
        await query.answer(texts.get("office.not_allowed"), show_alert=True)
        return None
    message = pressed_message(query)
    if message is None:
        await query.answer()
        return None
    return parsed, message
