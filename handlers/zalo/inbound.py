"""A person's input on Zalo answered by the core: commands, open dialogs, buttons, onboarding.

Thin and replaceable: it does for Zalo what the person-facing Telegram handlers do, by calling
the same services, until the core's channel-neutral ChatRouter (bot/chat/router.py) takes over.
Typed commands work with or without the slash and as Vietnamese words with or without diacritics
("báo cáo", "tố giác", "tra cứu", "trợ giúp", "hủy"); an invitation code works typed as
"mã mời <code>" (or "/start <code>"). Button data arrives already verified (buttons.py).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.chat.ref import ChatRef
from bot.deadlines.reminders import parse_head_button
from bot.dialogs.engine import Incoming, Reply, is_dialog_payload
from bot.kernel.services import Services
from bot.outreach.service import ARCHIVE_ITEM_PREFIX, ARCHIVE_PAGE_PREFIX, CONFIRM_PREFIX
from bot.people.service import UNREGISTERED_ROLE
from content.texts import fold


@dataclass
class Answer:
    replies: list[Reply] = field(default_factory=list)


COMMANDS: dict[str, str] = {
    "start": "start",
    "batdau": "start",
    "capnhat": "update",
    "trogiup": "help",
    "help": "help",
    "huy": "cancel",
    "xoadulieu": "delete",
    "baocao": "report",
    "togiac": "tip",
    "tracuu": "lookup",
    "tuannay": "this_week",
    "luutru": "archive",
    "dangky": "subscribe",
    "huydangky": "unsubscribe",
}
_INVITATION = re.compile(r"^\s*/?(?:start|ma\s*moi)\s*:?\s+(\S+)\s*$")


def command_of(text: str) -> str | None:
    """The command a typed text names: "/baocao", "baocao", "Báo cáo" all give "report"."""
    word = fold(text).removeprefix("/").replace(" ", "").replace("_", "")
    return COMMANDS.get(word)


def invitation_code(text: str) -> str | None:
    folded = fold(text)
    match = _INVITATION.match(folded)
    if match is None:
        return None
    return text.strip().split()[-1]  # the code as typed (folding keeps its length and order)


class ZaloInbound:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.texts = services.content.texts
        handlers: dict[str, Callable[[ChatRef], Awaitable[list[Reply]]]] = {
            "start": self.start,
            "update": self.update_profile,
            "help": self.help,
            "cancel": self.cancel,
            "delete": self.delete_data,
            "report": lambda chat: self.open(chat, "report", "report.intro"),
            "tip": lambda chat: self.open(chat, "tip", "tip.intro"),
            "lookup": lambda chat: self.open(chat, "lookup", None),
            "this_week": self.services.outreach.this_week,
            "archive": self.archive,
            "subscribe": lambda chat: self.subscribe(chat, True),
            "unsubscribe": lambda chat: self.subscribe(chat, False),
        }
        self._commands = handlers

    def say(self, key: str, **params: object) -> list[Reply]:
        return [Reply(self.texts.get(key, **params))]

    async def handle(self, chat: ChatRef, incoming: Incoming) -> Answer:
        """What the person gets for one input (the caller holds the chat's lock)."""
        return Answer(await self._replies(chat, incoming))

    async def _replies(self, chat: ChatRef, incoming: Incoming) -> list[Reply]:
        if incoming.kind == "button":
            return await self.button(chat, incoming.data or "")
        if incoming.kind == "text" and incoming.text:
            code = invitation_code(incoming.text)
            if code is not None:
                return await self.redeem(chat, code)
            command = command_of(incoming.text)
            if command is not None:
                return await self.command(chat, command)
        answer = await self.services.conversations.handle(chat, incoming)
        if answer is not None:
            return list(answer.replies)
        if await self.services.people.people.get(chat.channel, chat.chat_id) is None:
            return await self.start(chat)  # never seen: answered like a new follower
        return self.say("chat.not_understood")

    async def command(self, chat: ChatRef, command: str) -> list[Reply]:
        if command in ("help", "cancel"):
            return await self._commands[command](chat)
        reminder = await self.services.conversations.prompt_again(chat, "chat.in_dialog")
        if reminder is not None:  # an open dialog is never interrupted but by /huy
            return list(reminder.replies)
        return await self._commands[command](chat)

    # --------------------------------------------------------------------- the commands

    async def start(self, chat: ChatRef) -> list[Reply]:
        people = self.services.people
        person = await people.people.get(chat.channel, chat.chat_id)
        if person is not None:
            return [await people.welcome_back(person)]
        intro = Reply(self.texts.get("welcome.new", org_name=self.services.settings.org_name))
        context = await people.onboarding_context(chat)
        answer = await self.services.conversations.begin(chat, "onboarding", context)
        return [intro, *answer.replies]

    async def update_profile(self, chat: ChatRef) -> list[Reply]:
        context = await self.services.people.onboarding_context(chat)
        return list((await self.services.conversations.begin(chat, "onboarding", context)).replies)

    async def help(self, chat: ChatRef) -> list[Reply]:
        person = await self.services.people.people.get(chat.channel, chat.chat_id)
        role = person.role if person else UNREGISTERED_ROLE
        replies = [Reply(self.services.people.help_text(role))]
        reminder = await self.services.conversations.prompt_again(chat, "chat.in_dialog")
        return replies + (list(reminder.replies) if reminder else [])

    async def cancel(self, chat: ChatRef) -> list[Reply]:
        cancelled = await self.services.conversations.cancel(chat)
        return self.say("dialog.cancelled" if cancelled else "chat.cancelled_nothing")

    async def delete_data(self, chat: ChatRef) -> list[Reply]:
        services = self.services
        registered = await services.people.people.get(chat.channel, chat.chat_id) is not None
        if not registered and not await services.reports.has_reports_from(chat):
            return self.say("delete_data.nothing")
        return list((await services.conversations.begin(chat, "delete_data")).replies)

    async def open(self, chat: ChatRef, dialog: str, intro_key: str | None) -> list[Reply]:
        reports = self.services.reports
        lead: list[Reply] = []
        if dialog in ("report", "tip"):
            wait = reports.wait_before_next(chat)
            if wait is not None:
                return self.say("report.too_many", minutes=wait)
            lead.append(Reply(self.texts.get("emergency")))
        context = await reports.dialog_context(chat)
        if intro_key:
            lead.append(Reply(self.texts.get(intro_key, **context)))
        answer = await self.services.conversations.begin(chat, dialog, context)
        return [*lead, *answer.replies]

    async def archive(self, chat: ChatRef) -> list[Reply]:
        return [self.services.outreach.archive(0)]

    async def subscribe(self, chat: ChatRef, subscribed: bool) -> list[Reply]:
        return [await self.services.outreach.subscribe(chat, subscribed)]

    async def redeem(self, chat: ChatRef, code: str) -> list[Reply]:
        conversations = self.services.conversations
        current = await conversations.current(chat)
        if current is not None and current.dialog not in ("onboarding", "head_invitation"):
            reminder = await conversations.prompt_again(chat, "chat.in_dialog")
            return list(reminder.replies) if reminder else []
        redemption = await self.services.invitations.redeem(chat, code)
        replies = list(redemption.replies)
        if redemption.dialog_context is not None:
            answer = await conversations.begin(chat, "head_invitation", redemption.dialog_context)
            replies += answer.replies
        return replies

    # ------------------------------------------------------------------------ buttons

    async def button(self, chat: ChatRef, data: str) -> list[Reply]:
        services = self.services
        if is_dialog_payload(data):
            answer = await services.conversations.handle(chat, Incoming(kind="button", data=data))
            if answer is None:
                receipt = await services.reports.lost_receipt(chat)
                return self.say("chat.stale_button") + ([receipt] if receipt else [])
            return list(answer.replies)
        head = parse_head_button(data)
        if head is not None:
            outcome = await services.reminders.press(chat, *head)
            replies = [Reply(outcome.notice)] if outcome.notice else []
            if outcome.dialog is None:
                return replies
            if await services.conversations.current(chat) is not None:
                return replies + ([outcome.fallback] if outcome.fallback else [])
            started = await services.conversations.begin(chat, outcome.dialog, outcome.context)
            return replies + list(started.replies)
        prefix, _, value = data.partition(":")
        outreach = services.outreach
        if prefix == CONFIRM_PREFIX:
            return [Reply(await outreach.confirm(chat, value))]
        if prefix == ARCHIVE_PAGE_PREFIX and value.isdigit():
            return [outreach.archive(int(value))]
        if prefix == ARCHIVE_ITEM_PREFIX:
            return await outreach.show_week(chat, value)
        return self.say("chat.stale_button")
