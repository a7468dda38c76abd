"""/thongke in the office group: the figures of a period, for office members only."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat.reply import Reply
from bot.office.statistics import StatisticsError
from handlers.telegram.commands import office_only
from handlers.telegram.context import chat_of, services_of
from handlers.telegram.render import send


async def statistics_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await office_only(update, context):
        return
    services = services_of(context)
    argument = " ".join(context.args or [])
    try:
        text = await services.statistics.text(argument)
    except StatisticsError:
        text = services.content.texts.get("stats.usage", argument=argument)
    await send(context, chat_of(update).chat_id, [Reply(text)])
