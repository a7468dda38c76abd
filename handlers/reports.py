"""/baocao, /togiac and /tracuu: open the report, tip and lookup dialogs."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.dialogs import Reply
from handlers.commands import in_dialog_reminder, private_only
from handlers.context import chat_of, services_of
from handlers.render import send


async def _open(
    update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: str, intro_key: str | None
) -> None:
    if not await private_only(update, context):
        return
    services = services_of(context)
    texts = services.content.texts
    chat = chat_of(update)
    async with services.conversations.lock(chat):
        if await in_dialog_reminder(update, context):
            return
        lead: list[Reply] = []
        if dialog in ("report", "tip"):
            wait = services.reports.wait_before_next(chat)
            if wait is not None:
                await send(
                    context, chat.chat_id, [Reply(texts.get("report.too_many", minutes=wait))]
                )
                return
            lead.append(Reply(texts.get("emergency")))
        dialog_context = await services.reports.dialog_context(chat)
        if intro_key:
            lead.append(Reply(texts.get(intro_key, **dialog_context)))
        answer = await services.conversations.begin(chat, dialog, dialog_context)
        await send(context, chat.chat_id, [*lead, *answer.replies])


async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _open(update, context, "report", "report.intro")


async def tip(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _open(update, context, "tip", "tip.intro")


async def lookup(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _open(update, context, "lookup", None)
