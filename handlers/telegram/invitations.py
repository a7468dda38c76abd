"""/moi in the office group and its buttons (a head redeems a code through the core router)."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.invitations.service import parse_button
from bot.kernel.hygiene import parse_id
from handlers.telegram.commands import office_only
from handlers.telegram.context import chat_of, office_button, services_of, staff_of
from handlers.telegram.links import start_links
from handlers.telegram.render import fit, keyboard, send


async def invite_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/moi <unit code or name>, /moi thuhoi <unit code>."""
    if not await office_only(update, context):
        return
    services = services_of(context)
    reply = await services.invitations.command(
        " ".join(context.args or []),
        staff_of(update.effective_user),
        start_links(context.bot.username),
    )
    await send(context, chat_of(update).chat_id, [reply])


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A unit chosen among several matches, or "revoke" under an invitation."""
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    texts = services.content.texts
    pressed = await office_button(update, context, parse_button, "invite.unknown")
    if pressed is None:
        return
    parsed, message = pressed
    action, value = parsed
    invitations = services.invitations
    if action == "p":  # another page of the units matching a search
        page = await invitations.page(value)
        if page is None:
            await query.answer(texts.get("invite.unknown"))
            return
        await query.answer()
        await message.edit_text(
            fit(page.text), parse_mode=ParseMode.HTML, reply_markup=keyboard(page)
        )
        return
    if action == "n":
        reply = await invitations.issue_one(
            value, staff_of(query.from_user), start_links(context.bot.username)
        )
        await query.answer()
        await message.edit_text(
            fit(reply.text), parse_mode=ParseMode.HTML, reply_markup=keyboard(reply)
        )
        return
    if parse_id(value) is None:
        await query.answer(texts.get("invite.unknown"))
        return
    notice = await invitations.revoke(parse_id(value) or 0, staff_of(query.from_user))
    await query.answer(notice, show_alert=True)
    await message.edit_text(fit(f"{message.text_html}\n\n{notice}"), parse_mode=ParseMode.HTML)
