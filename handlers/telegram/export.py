"""/xuat in the office group: the office's workbook for a period, sent as a document."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.chat.reply import Reply
from bot.office.export_desk import PeriodError
from handlers.telegram.commands import office_only
from handlers.telegram.context import chat_of, services_of, staff_of
from handlers.telegram.render import send


async def export_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await office_only(update, context):
        return
    services = services_of(context)
    texts = services.content.texts
    chat_id = chat_of(update).chat_id
    try:
        made = await services.exports.office_file(
            " ".join(context.args or []), staff_of(update.effective_user)
        )
    except PeriodError as exc:
        await send(context, chat_id, [Reply(texts.get("export.bad_dates", detail=str(exc)))])
        await send(context, chat_id, [Reply(texts.get("export.usage"))])
        return
    await context.bot.send_document(
        chat_id,
        InputFile(made.content, filename=made.name),
        caption=made.caption,
        parse_mode=ParseMode.HTML,
    )
