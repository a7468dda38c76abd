"""/hanchot and /tiendo in the office group, and the office's answers to heads' questions."""

from __future__ import annotations

import asyncio

from telegram import ForceReply, InputFile, Message, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.chat.reply import Reply
from bot.deadlines.desk import DeskOutcome, parse_button
from bot.deadlines.reminders import parse_question_button
from bot.kernel.hygiene import parse_id
from handlers.telegram.commands import office_only
from handlers.telegram.context import chat_of, office_button, services_of, staff_of
from handlers.telegram.render import fit, keyboard, send


async def deadlines_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/hanchot: the list (or, with a number, one deadline's card)."""
    if not await office_only(update, context):
        return
    desk = services_of(context).deadline_desk
    argument = " ".join(context.args or []).strip().lstrip("#")
    number = parse_id(argument)
    reply = await desk.show(number) if number is not None else await desk.menu()
    await send(context, chat_of(update).chat_id, [reply])


async def progress_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/tiendo: the progress of every open deadline, then the same as an Excel file."""
    if not await office_only(update, context):
        return
    services = services_of(context)
    chat_id = chat_of(update).chat_id
    desk = services.deadline_desk
    texts = [Reply(text) for text in await desk.board()]
    await send(context, chat_id, texts)
    workbook = await desk.board_file(staff_of(update.effective_user))
    if workbook is not None:
        content, name = workbook
        caption = services.content.texts.get("deadline.board.file_caption", now=desk.now_text())
        await context.bot.send_document(
            chat_id, InputFile(content, filename=name), caption=caption, parse_mode=ParseMode.HTML
        )


async def _show(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, outcome: DeskOutcome, reply_to: int | None
) -> None:
    """New messages of an outcome, then its forced-reply prompt (remembered by its id)."""
    await send(context, chat_id, outcome.post)
    if outcome.prompt is None:
        return
    desk = services_of(context).deadline_desk
    async with desk.prompts:  # a quick reply waits until the prompt is remembered
        posted = await context.bot.send_message(
            chat_id,
            fit(outcome.prompt.text),
            parse_mode=ParseMode.HTML,
            reply_markup=ForceReply(selective=True),
            reply_to_message_id=reply_to,
        )
        await desk.remember_prompt(outcome.prompt, str(posted.message_id))


async def on_office_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Buttons of the deadline card and of its choices, in the office group."""
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    pressed = await office_button(update, context, parse_button, "deadline.desk.unknown")
    if pressed is None:
        return
    parsed, message = pressed
    outcome = await services.deadline_desk.press(*parsed, staff_of(query.from_user))
    answered = query.answer(outcome.notice, show_alert=outcome.alert)
    if outcome.redraw is not None:
        redraw = message.edit_text(
            fit(outcome.redraw.text),
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(outcome.redraw),
        )
        await asyncio.gather(answered, redraw)
    else:
        await answered
    await _show(context, message.chat.id, outcome, message.message_id)


async def on_office_reply(message: Message, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """A clerk's reply to one of our prompts (a deadline's field, an answer to a question);
    False when the replied message is not one of them."""
    services = services_of(context)
    prompt = message.reply_to_message
    if prompt is None:
        return False
    texts = services.content.texts
    text = message.text or message.caption or ""
    desk = services.deadline_desk
    async with desk.prompts:
        outcome = await desk.reply(str(prompt.message_id), text, staff_of(message.from_user))
        question_id = await services.reminders.repo.question_by_prompt(str(prompt.message_id))
    if outcome is not None:
        await _show(context, message.chat_id, outcome, message.message_id)
        return True
    if question_id is None:
        if not desk.is_prompt(prompt.text):
            return False
        await send(context, message.chat_id, [Reply(texts.get("deadline.desk.stale_prompt"))])
        return True
    answer = text.strip()
    if not answer:
        await send(context, message.chat_id, [Reply(texts.get("office.reply_empty"))])
        return True
    confirmation = await services.reminders.answer(question_id, answer)
    await send(context, message.chat_id, [Reply(confirmation)])
    return True


async def on_question_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Trả lời" under a head's question in the office group: a prompt to reply to."""
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    texts = services.content.texts
    pressed = await office_button(update, context, parse_question_button, "deadline.help.unknown")
    if pressed is None:
        return
    question_id, message = pressed
    prompt = await services.reminders.answer_prompt(question_id)
    if prompt is None:
        await query.answer(texts.get("deadline.help.unknown"))
        return
    await query.answer()
    async with services.deadline_desk.prompts:
        posted = await context.bot.send_message(
            message.chat.id,
            prompt,
            parse_mode=ParseMode.HTML,
            reply_markup=ForceReply(selective=True),
            reply_to_message_id=message.message_id,
        )
        await services.reminders.repo.set_question_prompt(question_id, str(posted.message_id))
