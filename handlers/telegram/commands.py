"""The basic commands: /start, /capnhat, /trogiup, /huy, /xoadulieu, and unknown ones."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat.ref import ChatRef
from bot.chat.reply import Reply
from bot.kernel.services import Services
from bot.people.service import OFFICE_ROLE, UNREGISTERED_ROLE
from handlers.telegram.context import chat_of, is_office_chat, is_private, services_of
from handlers.telegram.render import send


async def in_dialog_reminder(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """If a dialog is open, repeat its question with a reminder and return True."""
    answer = await services_of(context).conversations.prompt_again(
        chat_of(update), "chat.in_dialog"
    )
    if answer is None:
        return False
    await send(context, chat_of(update).chat_id, answer.replies)
    return True


async def private_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    if is_private(update):
        return True
    services = services_of(context)
    if is_office_chat(update, services):
        await send(
            context,
            chat_of(update).chat_id,
            [Reply(services.content.texts.get("chat.private_only"))],
        )
    return False


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


CommandBody = Callable[[Update, ContextTypes.DEFAULT_TYPE, Services, ChatRef], Awaitable[None]]
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def outside_dialogs(body: CommandBody) -> Callback:
    """A private-chat command that never interrupts an open dialog.

    One update of the chat at a time; if a dialog is open, its question is asked again instead.
    """

    @functools.wraps(body)
    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await private_only(update, context):
            return
        services = services_of(context)
        chat = chat_of(update)
        async with services.conversations.lock(chat):
            if await in_dialog_reminder(update, context):
                return
            await body(update, context, services, chat)

    return handler


@outside_dialogs
async def start(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services, chat: ChatRef
) -> None:
    person = await services.people.people.get(chat.channel, chat.chat_id)
    if person is not None:
        await send(context, chat.chat_id, [await services.people.welcome_back(person)])
        return
    intro = Reply(services.content.texts.get("welcome.new", org_name=services.settings.org_name))
    answer = await services.conversations.begin(
        chat, "onboarding", await services.people.onboarding_context(chat)
    )
    await send(context, chat.chat_id, [intro, *answer.replies])


@outside_dialogs
async def update_profile(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services, chat: ChatRef
) -> None:
    answer = await services.conversations.begin(
        chat, "onboarding", await services.people.onboarding_context(chat)
    )
    await send(context, chat.chat_id, answer.replies)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = chat_of(update)
    user_id = update.effective_user.id if update.effective_user else None
    is_office = services.settings.is_office_admin(user_id)
    if not is_private(update):
        if is_office_chat(update, services):
            await send(context, chat.chat_id, [Reply(services.people.help_text(OFFICE_ROLE))])
        return
    async with services.conversations.lock(chat):
        person = await services.people.people.get(chat.channel, chat.chat_id)
        role = person.role if person else UNREGISTERED_ROLE
        await send(context, chat.chat_id, [Reply(services.people.help_text(role, is_office))])
        await in_dialog_reminder(update, context)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await private_only(update, context):
        return
    services = services_of(context)
    chat = chat_of(update)
    texts = services.content.texts
    async with services.conversations.lock(chat):
        cancelled = await services.conversations.cancel(chat)
        key = "dialog.cancelled" if cancelled else "chat.cancelled_nothing"
        await send(context, chat.chat_id, [Reply(texts.get(key))])


@outside_dialogs
async def delete_my_data(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services, chat: ChatRef
) -> None:
    registered = await services.people.people.get(chat.channel, chat.chat_id) is not None
    if not registered and not await services.reports.has_reports_from(chat):
        nothing = Reply(services.content.texts.get("delete_data.nothing"))
        await send(context, chat.chat_id, [nothing])
        return
    answer = await services.conversations.begin(chat, "delete_data")
    await send(context, chat.chat_id, answer.replies)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_private(update):
        return
    services = services_of(context)
    chat = chat_of(update)
    async with services.conversations.lock(chat):
        if await in_dialog_reminder(update, context):
            return
        await send(
            context, chat.chat_id, [Reply(services.content.texts.get("chat.unknown_command"))]
        )
