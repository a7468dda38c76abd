"""The office group: status buttons on each report, and clerks' replies to senders."""

from __future__ import annotations

import re

from telegram import ForceReply, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.chat.reply import Reply
from bot.office.review import REPLY_ACTION, parse_office_button
from handlers.telegram import announcements, deadlines
from handlers.telegram.context import (
    is_office_chat,
    office_button,
    pressed_message,
    services_of,
    staff_of,
)
from handlers.telegram.render import fit, keyboard, send

CODE_IN_PROMPT = re.compile(r"\b([0-9A-Z]{4}-[0-9A-Z]{4})\b")
MAX_REPLY = 3500


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    texts = services.content.texts
    parsed = await office_button(update, context, parse_office_button, "office.unknown")
    if parsed is None:
        return
    message = pressed_message(query)
    if message is None:
        await query.answer()
        return
    report_id, action = parsed
    desk = services.desk
    if action == REPLY_ACTION:
        report = await desk.report(report_id)
        if report is None:
            await query.answer(texts.get("office.unknown"))
            return
        await query.answer()
        await context.bot.send_message(
            message.chat.id,
            desk.reply_prompt(report),
            parse_mode=ParseMode.HTML,
            reply_markup=ForceReply(selective=True),
            reply_to_message_id=message.message_id,
        )
        return
    result = await desk.act(report_id, action, staff_of(query.from_user))
    await query.answer(result.notice)
    if result.view is not None and message is not None:
        await message.edit_text(
            fit(result.view.text), parse_mode=ParseMode.HTML, reply_markup=keyboard(result.view)
        )


async def on_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A clerk answers the bot's reply prompt: the text goes to the report's sender."""
    message = update.effective_message
    services = services_of(context)
    if message is None or not is_office_chat(update, services):
        return
    prompt = message.reply_to_message
    if prompt is None or prompt.from_user is None or prompt.from_user.id != context.bot.id:
        return
    texts = services.content.texts
    if services.deadline_desk.is_prompt(prompt.text):  # a deadline's field, an answer
        if services.settings.is_office_admin(message.from_user.id if message.from_user else None):
            await deadlines.on_office_reply(message, context)
        else:
            await send(context, message.chat_id, [Reply(texts.get("office.not_allowed"))])
        return
    is_announcement = services.announcements.is_prompt(prompt.text)
    match = CODE_IN_PROMPT.search(prompt.text or "")
    if match is None and not is_announcement:
        return
    if not services.settings.is_office_admin(message.from_user.id if message.from_user else None):
        await send(context, message.chat_id, [Reply(texts.get("office.not_allowed"))])
        return
    if is_announcement or match is None:
        await announcements.draft(message, context)
        return
    text = (message.text or "").strip()
    if not text:
        await send(context, message.chat_id, [Reply(texts.get("office.reply_empty"))])
        return
    if len(text) > MAX_REPLY:
        reply = texts.get("office.reply_too_long", length=len(text), max=MAX_REPLY)
        await send(context, message.chat_id, [Reply(reply)])
        return
    confirmation = await services.desk.reply(match.group(1), staff_of(message.from_user), text)
    await send(context, message.chat_id, [Reply(confirmation)])
