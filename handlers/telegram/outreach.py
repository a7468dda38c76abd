"""/tuannay, /luutru, /dangky, /huydangky, and the buttons of weekly items."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.kernel.hygiene import parse_id
from bot.outreach.service import ARCHIVE_ITEM_PREFIX, ARCHIVE_PAGE_PREFIX, CONFIRM_PREFIX
from handlers.telegram.commands import private_only
from handlers.telegram.context import chat_of, services_of
from handlers.telegram.render import send


async def this_week(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await private_only(update, context):
        replies = await services_of(context).outreach.this_week(chat_of(update))
        await send(context, chat_of(update).chat_id, replies)


async def archive(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await private_only(update, context):
        await send(context, chat_of(update).chat_id, [services_of(context).outreach.archive(0)])


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await private_only(update, context):
        reply = await services_of(context).outreach.subscribe(chat_of(update), True)
        await send(context, chat_of(update).chat_id, [reply])


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await private_only(update, context):
        reply = await services_of(context).outreach.subscribe(chat_of(update), False)
        await send(context, chat_of(update).chat_id, [reply])


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Buttons of weekly items: a unit head's confirmation, and the archive's pages and items."""
    query = update.callback_query
    assert query is not None
    outreach = services_of(context).outreach
    chat = chat_of(update)
    prefix, _, value = (query.data or "").partition(":")
    if prefix == CONFIRM_PREFIX:
        await query.answer(await outreach.confirm(chat, value), show_alert=True)
    elif prefix == ARCHIVE_PAGE_PREFIX and parse_id(value) is not None:
        await query.answer()
        await send(context, chat.chat_id, [outreach.archive(parse_id(value) or 0)])
    elif prefix == ARCHIVE_ITEM_PREFIX:
        await query.answer()
        await send(context, chat.chat_id, await outreach.show_week(chat, value))
    else:
        await query.answer(services_of(context).content.texts.get("chat.stale_button"))
