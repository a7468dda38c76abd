"""/baocao, /togiac and /tracuu: open the report, tip and lookup dialogs."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat.ref import ChatRef
from bot.chat.reply import Reply
from bot.kernel.services import Services
from handlers.telegram.commands import outside_dialogs
from handlers.telegram.render import send


async def _open(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    chat: ChatRef,
    dialog: str,
    intro_key: str | None,
) -> None:
    texts = services.content.texts
    lead: list[Reply] = []
    if dialog in ("report", "tip"):
        wait = services.reports.wait_before_next(chat)
        if wait is not None:
            await send(context, chat.chat_id, [Reply(texts.get("report.too_many", minutes=wait))])
            return
        lead.append(Reply(texts.get("emergency")))
    dialog_context = await services.reports.dialog_context(chat)
    if intro_key:
        lead.append(Reply(texts.get(intro_key, **dialog_context)))
    answer = await services.conversations.begin(chat, dialog, dialog_context)
    await send(context, chat.chat_id, [*lead, *answer.replies])


@outside_dialogs
async def report(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services, chat: ChatRef
) -> None:
    await _open(context, services, chat, "report", "report.intro")


@outside_dialogs
async def tip(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services, chat: ChatRef
) -> None:
    await _open(context, services, chat, "tip", "tip.intro")


@outside_dialogs
async def lookup(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services, chat: ChatRef
) -> None:
    await _open(context, services, chat, "lookup", None)
