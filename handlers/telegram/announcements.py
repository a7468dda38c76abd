"""/thongbao in the office group: the draft, its buttons, and the progress message."""

from __future__ import annotations

import contextlib

from telegram import Bot, ForceReply, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.announcements.service import parse_button
from bot.chat.reply import Reply
from bot.kernel.services import Services
from handlers.telegram.context import (
    is_office_chat,
    office_button,
    services_of,
    staff_of,
)
from handlers.telegram.files import TelegramFiles
from handlers.telegram.render import fit, keyboard, send

LAST_PROGRESS_KEY = "announcement_progress"


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    message = update.effective_message
    if message is None or not is_office_chat(update, services):
        return
    texts = services.content.texts
    user_id = update.effective_user.id if update.effective_user else None
    if not services.settings.is_office_admin(user_id):
        await send(context, message.chat_id, [Reply(texts.get("office.not_allowed"))])
        return
    await message.reply_text(
        services.announcements.prompt(),
        parse_mode=ParseMode.HTML,
        reply_markup=ForceReply(selective=True),
    )


async def draft(message: Message, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The clerk's reply to the prompt: a text, or a photo with its caption."""
    services = services_of(context)
    text = message.text or message.caption or ""
    refused = services.announcements.refusal(text, bool(message.photo))
    if refused is not None:  # before the photo is fetched
        await send(context, message.chat_id, [refused])
        return
    photo = None
    if message.photo:  # into the bot's store, cleaned, so any channel can send it
        files = TelegramFiles(context.bot, services.files)
        stored = await files.take(message.photo[-1].file_id, "photo", images_only=True)
        if isinstance(stored, str):
            await send(context, message.chat_id, [Reply(services.content.texts.get(stored))])
            return
        photo = stored.id
    reply = await services.announcements.draft(
        staff_of(message.from_user), str(message.chat_id), text, photo
    )
    await send(context, message.chat_id, [reply])


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    pressed = await office_button(update, context, parse_button, "announce.unknown")
    if pressed is None:
        return
    parsed, message = pressed
    outcome = await services.announcements.press(*parsed, staff_of(query.from_user))
    await query.answer(outcome.notice)
    if outcome.redraw is not None and message is not None:
        await message.edit_text(
            fit(outcome.redraw.text),
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(outcome.redraw),
        )
    if outcome.progress is not None and message is not None:
        posted = await context.bot.send_message(
            message.chat.id,
            outcome.progress.text,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(outcome.progress),
        )
        await services.announcements.repo.set_progress_message(parsed[0], str(posted.message_id))


async def refresh_progress(bot: Bot, services: Services, last: dict[int, str]) -> None:
    """Redraw each sending announcement's progress message when its figures changed."""
    for announcement in await services.announcements.sending():
        if announcement.progress_message_id is None:
            continue
        view = await services.announcements.progress_view(announcement.id)
        if last.get(announcement.id) == view.text:
            continue
        with contextlib.suppress(BadRequest):  # not modified, or gone: try again next time
            await bot.edit_message_text(
                view.text,
                chat_id=announcement.chat_id,
                message_id=int(announcement.progress_message_id),
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(view),
            )
        last[announcement.id] = view.text


async def progress_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    last = context.application.bot_data.setdefault(LAST_PROGRESS_KEY, {})
    await refresh_progress(context.bot, services_of(context), last)
