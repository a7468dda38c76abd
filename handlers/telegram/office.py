"""The office group: status buttons on each report, and clerks' replies to senders."""

from __future__ import annotations

from telegram import ForceReply, Message, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.chat.ref import ChatRef
from bot.chat.reply import Reply
from bot.office.review import REPLY_ACTION, parse_office_button
from handlers.telegram import announcements, deadlines
from handlers.telegram.context import (
    CHANNEL,
    is_office_chat,
    office_button,
    services_of,
    staff_of,
)
from handlers.telegram.render import fit, keyboard, send
from storage.reports import ReportRow

MAX_REPLY = 3500


async def _post_reply_prompt(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, report: ReportRow, reply_to: int | None
) -> None:
    """The "Nhập nội dung trả lời" prompt, remembered by its message id: only a reply to it
    reaches the sender (F2). A quick reply waits until the prompt is remembered."""
    desk = services_of(context).desk
    async with desk.prompts:
        posted = await context.bot.send_message(
            chat_id,
            desk.reply_prompt(report),
            parse_mode=ParseMode.HTML,
            reply_markup=ForceReply(selective=True),
            reply_to_message_id=reply_to,
        )
        await desk.remember_reply_prompt(chat_ref(chat_id), str(posted.message_id), report.id)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    texts = services.content.texts
    pressed = await office_button(update, context, parse_office_button, "office.unknown")
    if pressed is None:
        return
    parsed, message = pressed
    report_id, action = parsed
    desk = services.desk
    if action == REPLY_ACTION:
        report = await desk.report(report_id)
        if report is None:
            await query.answer(texts.get("office.unknown"))
            return
        await query.answer()
        await _post_reply_prompt(context, message.chat.id, report, message.message_id)
        return
    result = await desk.press(report_id, action, staff_of(query.from_user))
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
    if services.announcements.is_prompt(prompt.text):
        if services.settings.is_office_admin(message.from_user.id if message.from_user else None):
            await announcements.draft(message, context)
        else:
            await send(context, message.chat_id, [Reply(texts.get("office.not_allowed"))])
        return
    desk = services.desk
    async with desk.prompts:  # by the prompt's stored id, never by a code in a message's text
        report = await desk.reply_prompt_of(chat_ref(message.chat_id), str(prompt.message_id))
    if report is None:
        return  # the group's own talk: a reply to a report's message, a reminder, an addition
    if not services.settings.is_office_admin(message.from_user.id if message.from_user else None):
        await send(context, message.chat_id, [Reply(texts.get("office.not_allowed"))])
        return
    await _answer(message, context, report)


async def _answer(message: Message, context: ContextTypes.DEFAULT_TYPE, report: ReportRow) -> None:
    services = services_of(context)
    texts = services.content.texts
    text = (message.text or "").strip()
    problem = None
    if not text:
        problem = texts.get("office.reply_empty")
    elif len(text) > MAX_REPLY:
        problem = texts.get("office.reply_too_long", length=len(text), max=MAX_REPLY)
    if problem is not None:  # asked again, so that a reply to this answer is taken (D8)
        await send(context, message.chat_id, [Reply(problem)])
        await _post_reply_prompt(context, message.chat_id, report, message.message_id)
        return
    result = await services.desk.reply_as(report.id, staff_of(message.from_user).actor, text)
    await send(context, message.chat_id, [Reply(result.notice)])


def chat_ref(chat_id: int) -> ChatRef:
    return ChatRef(CHANNEL, str(chat_id))
