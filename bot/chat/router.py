"""Everything a person does in a private chat, on any channel: commands, dialogs, buttons.

A channel adapter turns what arrived into an `Incoming` and calls `ChatRouter.handle`; it gets back
an `Answer` (replies, and a short notice that a channel with toasts may show as one). The router
holds one update of a chat at a time, so two quick presses cannot race on one state.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.chat.buttons import ButtonSeal
from bot.chat.ref import ChatRef
from bot.chat.reply import Reply
from bot.deadlines.reminders import parse_head_button
from bot.dialogs.conversation import Answer
from bot.dialogs.engine import Incoming, is_dialog_payload
from bot.kernel.services import Services
from bot.outreach.service import ARCHIVE_ITEM_BUTTON, ARCHIVE_PAGE_BUTTON, CONFIRM_BUTTON
from bot.people.service import UNREGISTERED_ROLE
from content.texts import fold

# "/baocao", "/baocao@antq_bot", "baocao", "báo cáo", "/start CODE", "mã mời CODE"
_SLASH = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s+(.*))?$", re.S)
# "mã mời <code>" (or "mời: <code>"): the words apart from the code, so that an answer that merely
# begins with "ma" or "moi" (a tip's passphrase "mai-voi-…") is never taken for an invitation
_INVITATION = re.compile(r"^(?:ma moi|moi)(?:\s*:\s*|\s+)([A-Za-z0-9_-]{16,64})$")
# "mã cán bộ ABCD-EFGH-...": a staff member links this chat to their console account
_STAFF_LINK = re.compile(r"^ma can bo\s*:?\s*([a-z0-9][a-z0-9 -]{0,60})$")

Handler = Callable[[ChatRef, str], Awaitable[Answer]]
INSIDE_DIALOGS = frozenset({"huy", "trogiup", "help"})  # the commands an open dialog lets through


@dataclass(frozen=True)
class Command:
    """A command as a person typed it: its name (as in content/commands.yaml) and the rest."""

    name: str
    argument: str = ""


class ChatRouter:
    """The one place that decides what a person's message or button press means."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.texts = services.content.texts
        self._commands: dict[str, Handler] = {
            "start": self._start,
            "capnhat": self._update_profile,
            "trogiup": self._help,
            "help": self._help,
            "huy": self._cancel,
            "xoadulieu": self._delete_my_data,
            "baocao": self._report,
            "togiac": self._tip,
            "tracuu": self._lookup,
            "tuannay": self._this_week,
            "luutru": self._archive,
            "dangky": self._subscribe,
            "huydangky": self._unsubscribe,
            "viec": self._pending_deadlines,
        }
        self._keywords = self._keyword_table()
        self.seal = ButtonSeal(services.cipher.pseudonym)  # for channels that type presses back

    # ------------------------------------------------------------------------ entry point

    async def handle(self, chat: ChatRef, incoming: Incoming) -> Answer:
        async with self.services.conversations.lock(chat):
            if incoming.kind == "text" and ButtonSeal.looks_sealed(incoming.text):
                data = self.seal.open(chat, incoming.text or "")
                if data is None:  # forged, or another person's button
                    return self._say("chat.stale_button")
                incoming = Incoming(kind="button", data=data)
            if incoming.kind == "button":
                return await self._button(chat, incoming)
            command = self.command_of(incoming)
            if command is not None:
                return await self._command(chat, command)
            staff_code = self._staff_code(incoming)
            if staff_code is not None:
                return await self._link_staff(chat, staff_code)
            invitation = self._invitation_code(incoming)
            if invitation is not None:
                return await self._redeem(chat, invitation)
            answer = await self.services.conversations.handle(chat, incoming)
            if answer is not None:
                return answer
            person = await self.services.people.people.get(chat.channel, chat.chat_id)
            if person is None:  # someone the bot has never met: greet and offer onboarding
                return await self._start(chat, "")
            return self._say("chat.not_understood")

    def command_of(self, incoming: Incoming) -> Command | None:
        """A command typed with a slash, or one of its words without ("báo cáo", "tracuu")."""
        if incoming.kind != "text" or not incoming.text:
            return None
        text = incoming.text.strip()
        match = _SLASH.match(text)
        if match:
            return Command(match.group(1).lower(), (match.group(2) or "").strip())
        name = self._keywords.get(" ".join(fold(text).split()))
        return Command(name) if name else None

    # ------------------------------------------------------------------------- commands

    async def _command(self, chat: ChatRef, command: Command) -> Answer:
        if command.name == "start" and command.argument:
            return await self._redeem(chat, command.argument.split()[0])
        handler = self._commands.get(command.name, self._unknown)
        if command.name not in INSIDE_DIALOGS:
            # a command never interrupts an open dialog: its question is asked again instead
            again = await self.services.conversations.prompt_again(chat, "chat.in_dialog")
            if again is not None:
                return again
        return await handler(chat, command.argument)

    async def _unknown(self, chat: ChatRef, argument: str) -> Answer:
        return self._say("chat.unknown_command")

    async def _start(self, chat: ChatRef, argument: str) -> Answer:
        services = self.services
        person = await services.people.people.get(chat.channel, chat.chat_id)
        if person is not None:
            return Answer([await services.people.welcome_back(person)])
        intro = Reply(self.texts.get("welcome.new", org_name=services.settings.org_name))
        answer = await services.conversations.begin(
            chat, "onboarding", await services.people.onboarding_context(chat)
        )
        return Answer([intro, *answer.replies])

    async def _update_profile(self, chat: ChatRef, argument: str) -> Answer:
        context = await self.services.people.onboarding_context(chat)
        return await self.services.conversations.begin(chat, "onboarding", context)

    async def _help(self, chat: ChatRef, argument: str) -> Answer:
        person = await self.services.people.people.get(chat.channel, chat.chat_id)
        role = person.role if person else UNREGISTERED_ROLE
        replies = [Reply(self.services.people.help_text(role))]
        again = await self.services.conversations.prompt_again(chat, "chat.in_dialog")
        if again is not None:
            replies += again.replies
        return Answer(replies)

    async def _cancel(self, chat: ChatRef, argument: str) -> Answer:
        cancelled = await self.services.conversations.cancel(chat)
        return self._say("dialog.cancelled" if cancelled else "chat.cancelled_nothing")

    async def _delete_my_data(self, chat: ChatRef, argument: str) -> Answer:
        services = self.services
        registered = await services.people.people.get(chat.channel, chat.chat_id) is not None
        if not registered and not await services.reports.has_reports_from(chat):
            return self._say("delete_data.nothing")
        return await services.conversations.begin(chat, "delete_data")

    async def _report(self, chat: ChatRef, argument: str) -> Answer:
        return await self._open_report(chat, "report", "report.intro")

    async def _tip(self, chat: ChatRef, argument: str) -> Answer:
        return await self._open_report(chat, "tip", "tip.intro")

    async def _lookup(self, chat: ChatRef, argument: str) -> Answer:
        return await self._open_report(chat, "lookup", None)

    async def _open_report(self, chat: ChatRef, dialog: str, intro_key: str | None) -> Answer:
        """The emergency numbers first, and a limit on how many reports one chat sends."""
        services = self.services
        lead: list[Reply] = []
        if dialog in ("report", "tip"):
            wait = services.reports.wait_before_next(chat)
            if wait is not None:
                return Answer([Reply(self.texts.get("report.too_many", minutes=wait))])
            lead.append(Reply(self.texts.get("emergency")))
        context = {
            **services.conversations.common_context,
            **await services.reports.dialog_context(chat),
        }
        if intro_key:
            lead.append(Reply(self.texts.get(intro_key, channel=chat.channel, **context)))
        answer = await services.conversations.begin(chat, dialog, context)
        return Answer([*lead, *answer.replies])

    async def _this_week(self, chat: ChatRef, argument: str) -> Answer:
        return Answer(await self.services.outreach.this_week(chat))

    async def _archive(self, chat: ChatRef, argument: str) -> Answer:
        return Answer([self.services.outreach.archive(0)])

    async def _subscribe(self, chat: ChatRef, argument: str) -> Answer:
        return Answer([await self.services.outreach.subscribe(chat, True)])

    async def _unsubscribe(self, chat: ChatRef, argument: str) -> Answer:
        return Answer([await self.services.outreach.subscribe(chat, False)])

    async def _pending_deadlines(self, chat: ChatRef, argument: str) -> Answer:
        """/viec: a head's deadlines not reported done, with the buttons of a reminder (D13)."""
        return Answer(await self.services.reminders.pending(chat))

    # ---------------------------------------------------------------------- invitations

    def _invitation_code(self, incoming: Incoming) -> str | None:
        """A code typed as "mã mời XXXX" (channels without start links, e.g. Zalo)."""
        if incoming.kind != "text" or not incoming.text or len(incoming.text) > 100:
            return None
        stripped = incoming.text.strip()
        match = _INVITATION.match(" ".join(fold(stripped).split()))
        if match is None:
            return None
        return stripped[-len(match.group(1)) :]  # the code as typed (codes are case-sensitive)

    def _staff_code(self, incoming: Incoming) -> str | None:
        """A staff member's one-time code typed as "mã cán bộ XXXX-..." (bot/office/notices.py)."""
        if incoming.kind != "text" or not incoming.text or len(incoming.text) > 100:
            return None
        match = _STAFF_LINK.match(" ".join(fold(incoming.text.strip()).split()))
        return match.group(1) if match else None

    async def _link_staff(self, chat: ChatRef, code: str) -> Answer:
        """The chat receives the account's notices; an open dialog is asked again after."""
        replies = [await self.services.desk.notices.link(chat, code)]
        again = await self.services.conversations.prompt_again(chat, "chat.in_dialog")
        if again is not None:
            replies += again.replies
        return Answer(replies)

    async def _redeem(self, chat: ChatRef, code: str) -> Answer:
        """A valid invitation replaces an open onboarding; any other open dialog is recalled."""
        services = self.services
        current = await services.conversations.current(chat)
        if current is not None and current.dialog not in ("onboarding", "head_invitation"):
            again = await services.conversations.prompt_again(chat, "chat.in_dialog")
            return again or Answer()
        redemption = await services.invitations.redeem(chat, code)
        replies = list(redemption.replies)
        if redemption.dialog_context is not None:
            answer = await services.conversations.begin(
                chat, "head_invitation", redemption.dialog_context
            )
            replies += answer.replies
        return Answer(replies)

    # -------------------------------------------------------------------------- buttons

    async def _button(self, chat: ChatRef, incoming: Incoming) -> Answer:
        data = incoming.data or ""
        if is_dialog_payload(data):
            return await self._dialog_button(chat, incoming)
        head = parse_head_button(data)
        if head is not None:
            return await self._head_button(chat, *head)
        outreach = self.services.outreach
        if (week := CONFIRM_BUTTON.parse(data)) is not None:
            return Answer(notice=await outreach.confirm(chat, week[0]), alert=True)
        if (page := ARCHIVE_PAGE_BUTTON.parse(data)) is not None:
            return Answer([outreach.archive(page[0])])
        if (item := ARCHIVE_ITEM_BUTTON.parse(data)) is not None:
            return Answer(await outreach.show_week(chat, item[0]))
        return Answer(notice=self.texts.get("chat.stale_button"))

    async def _dialog_button(self, chat: ChatRef, incoming: Incoming) -> Answer:
        answer = await self.services.conversations.handle(chat, incoming)
        if answer is not None:
            return answer
        stale = Answer(notice=self.texts.get("chat.stale_button"))
        pressed = incoming.context_text
        if _is_send_press(incoming.data) and pressed:  # only "Gửi", and of that report (D1)
            receipt = await self.services.reports.lost_receipt(chat, pressed)
            if receipt is not None:
                stale.replies.append(receipt)
        return stale

    async def _head_button(self, chat: ChatRef, deadline_id: int, action: str) -> Answer:
        """ "Đã hoàn thành" and "Cần hỗ trợ" under a reminder, in a head's private chat."""
        services = self.services
        outcome = await services.reminders.press(chat, deadline_id, action)
        answer = Answer(notice=outcome.notice, alert=outcome.alert)
        if outcome.dialog is None:
            return answer
        if await services.conversations.current(chat) is not None:
            answer.replies = [outcome.fallback] if outcome.fallback else []
        else:
            opened = await services.conversations.begin(chat, outcome.dialog, outcome.context)
            answer.replies = opened.replies
        return answer

    # -------------------------------------------------------------------------- helpers

    def _say(self, key: str) -> Answer:
        return Answer([Reply(self.texts.get(key))])

    def _keyword_table(self) -> dict[str, str]:
        """Command names and their Vietnamese words (content: commands.<name>.words)."""
        table: dict[str, str] = {}
        for name in self._commands:
            table[name] = name
            key = f"command_words.{name}"
            if self.texts.has(key):
                for word in self.texts.raw(key).split("|"):
                    if word.strip():
                        table[" ".join(fold(word).split())] = name
        return table


def _is_send_press(data: str | None) -> bool:
    """A summary's "✅ Gửi" (d:<seq>:y), the one press that may have stored a report."""
    parts = (data or "").split(":")
    return len(parts) == 3 and parts[2] == "y"
