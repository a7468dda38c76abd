"""The office's review: the group message of a report, status changes, replies, reminders."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.chat.buttons import ButtonFamily
from bot.chat.markup import share, shorten, text_limit, utf16_length, visible_length
from bot.chat.ref import ChatRef, Staff
from bot.chat.reply import Button, Reply, laid_out
from bot.dialogs.engine import stored_ref
from bot.kernel.clock import Clock, format_local
from bot.kernel.crypto import Cipher
from bot.kernel.outbox import PRIORITY_INTERACTIVE, FileRef, Outbox, OutgoingMessage
from bot.office.audit import AuditText
from bot.office.notices import StaffNotices
from content import Content
from storage.audit import ActorNames, AuditLog
from storage.db import Database, Transaction
from storage.reports import ReportFile, ReportRepository, ReportRow

log = logging.getLogger(__name__)

STATUSES = ("new", "received", "in_progress", "forwarded", "resolved", "dismissed", "spam")
OFFICE_ACTIONS = STATUSES[1:]
REPLY_ACTION = "reply"
CONFIRM = "c."  # "c.spam": the second press, that confirms a status change (D9)
BACK_ACTION = "back"  # leave the card as it was
OFFICE_REPORT = ButtonFamily("r", int, str, purpose="a status action on a report's office message")
BUTTON_PREFIX = OFFICE_REPORT.prefix
OFFICE_PRIORITY = PRIORITY_INTERACTIVE
REPORTER_PRIORITY = PRIORITY_INTERACTIVE


def office_button(report_id: int, action: str) -> str:
    return OFFICE_REPORT(report_id, action)


def parse_office_button(data: str | None) -> tuple[int, str] | None:
    """(report id, action) from a button of the office's message; None for anything forged."""
    parsed = OFFICE_REPORT.parse(data)
    actions = (*OFFICE_ACTIONS, *(CONFIRM + a for a in OFFICE_ACTIONS), REPLY_ACTION, BACK_ACTION)
    if parsed is None or parsed[1] not in actions:
        return None
    return parsed[0], parsed[1]


@dataclass
class ActionResult:
    outcome: Literal["changed", "already", "unknown", "stale", "confirm"]
    notice: str
    view: Reply | None = None


class OfficeDesk:
    """Everything the office sees and does about one report, channel-neutral."""

    def __init__(
        self,
        db: Database,
        content: Content,
        cipher: Cipher,
        outbox: Outbox,
        clock: Clock,
        *,
        office_chat: ChatRef | None,
        reannounce_after: timedelta,
        urgent_reannounce_after: timedelta,
        notify: Callable[[], None],
        public_url: str | None = None,
    ) -> None:
        self.db = db
        self.content = content
        self.texts = content.texts
        self.cipher = cipher
        self.outbox = outbox
        self.reports = ReportRepository(db)
        self.audit = AuditLog(db)
        self.names = ActorNames(db)
        self.audit_text = AuditText(content.texts, clock.tz)
        self.clock = clock
        self.office_chat = office_chat
        self.reannounce_after = reannounce_after
        self.urgent_reannounce_after = urgent_reannounce_after
        self.notify = notify
        self.prompts = asyncio.Lock()  # a quick reply waits until its prompt is remembered
        self.notices = StaffNotices(
            db, content.texts, clock, outbox, public_url, self.category_label
        )

    # ------------------------------------------------------------------------------- views

    def category_label(self, code: str) -> str:
        category = self.content.categories.get(code)
        return category.label if category else code

    def view(
        self, report: ReportRow, body: dict[str, Any], file_count: int, lead: str | None = None
    ) -> Reply:
        """The office group's message for a report: its facts, its status, its buttons, after
        `lead` if given. Whatever the person typed, the whole message fits its channel's limit:
        the longest fields are cut to share the room (F4); the full text stays in the database."""
        t = self.texts
        none = t.raw("office.none")
        location = body.get("location")
        if body.get("contact_name"):
            sender = t.raw("office.contact", name=body["contact_name"], phone=body["contact_phone"])
        else:
            sender = t.raw("office.anonymous" if report.anonymous else "office.no_contact")
        fields = {
            "what": str(body.get("what") or ""),
            "where": str(body.get("where") or none),
            "people": str(body.get("people") or none),
            "sender": sender,
        }

        def render(values: dict[str, str]) -> str:
            text = t.get(
                "office.report",
                icon="🕶" if report.anonymous else "📝",
                kind=t.raw("office.kind_tip" if report.anonymous else "office.kind_report"),
                code=report.code,
                category=self.category_label(report.category),
                status=t.raw(f"status.{report.status}"),
                created=format_local(report.created_at, self.clock.tz),
                occurred=_date_text(body.get("occurred_on")) or none,
                location=t.raw("office.location", **location) if location else "",
                files=str(file_count),
                **values,
            )
            return f"{lead}\n\n{text}" if lead else text

        text = render(fields)
        limit = text_limit(self.office_chat.channel if self.office_chat else None)
        if visible_length(text) > limit:
            room = limit - visible_length(render(dict.fromkeys(fields, ""))) - len(fields)
            granted = share({name: utf16_length(value) for name, value in fields.items()}, room)
            text = render({name: shorten(value, granted[name]) for name, value in fields.items()})
        return Reply(text, self._buttons(report.id))

    def _buttons(self, report_id: int) -> list[Button]:
        label = self.texts.raw
        row = [
            Button(label(f"office.action.{a}"), office_button(report_id, a)) for a in OFFICE_ACTIONS
        ]
        reply = Button(label("office.action.reply"), office_button(report_id, REPLY_ACTION))
        return laid_out([row[0:2], row[2:4], row[4:6], [reply]])

    async def current_view(self, report: ReportRow) -> Reply:
        """The card as it stands, with who changed its status last and when."""
        body = self.cipher.decrypt_json(report.body)
        view = self.view(report, body, await self.reports.file_count(report.id))
        changes = await self.reports.events(report.id, actions=["status"])
        if not changes:
            return view
        last = changes[-1]
        names = await self.names.names([last.actor])
        who = names.get(last.actor) or self.audit_text.actor(last.actor)
        acted = self.texts.get("office.acted", who=who, at=format_local(last.at, self.clock.tz))
        return Reply(f"{view.text}\n{acted}", view.buttons)

    # ---------------------------------------------------------------------- announcements

    async def announce(
        self,
        tx: Transaction,
        report: ReportRow,
        body: dict[str, Any],
        files: list[tuple[str, str]],
        *,
        lead: str | None = None,
        unclaimed: bool = False,
    ) -> None:
        """Queue the report's message (and its files) for the office group, and a notice for
        each linked staff member (bot/office/notices.py), in tx."""
        await self.notices.queue(tx, report, unclaimed=unclaimed)
        if self.office_chat is None:
            log.warning("report %s not announced: ANTQ_OFFICE_CHAT_ID is not set", report.id)
            return
        view = self.view(report, body, len(files), lead)
        await self._enqueue(tx, "office_report", OutgoingMessage.from_reply(view), report.id)
        await self.announce_files(tx, report, files)

    async def announce_files(
        self, tx: Transaction, report: ReportRow, files: list[tuple[str, str]]
    ) -> None:
        """Queue each file of a report for the office group, captioned with the report's code."""
        if self.office_chat is None:
            return
        for number, (kind, ref) in enumerate(files, start=1):
            caption = self.texts.get(
                "office.file_caption", number=number, count=len(files), code=report.code
            )
            await self._enqueue(tx, "office_file", file_message(kind, ref, caption), report.id)

    async def _enqueue(
        self, tx: Transaction, kind: str, message: OutgoingMessage, report_id: int
    ) -> None:
        assert self.office_chat is not None
        await self.outbox.enqueue(
            tx,
            channel=self.office_chat.channel,
            chat_id=self.office_chat.chat_id,
            kind=kind,
            message=message,
            ref=f"report:{report_id}",
            priority=OFFICE_PRIORITY,
        )

    async def tell_office(self, tx: Transaction, report_id: int, text: str) -> None:
        if self.office_chat is not None:
            await self._enqueue(tx, "office_note", OutgoingMessage(text=text), report_id)

    async def tell_reporter(self, tx: Transaction, report: ReportRow, text: str) -> bool:
        """Push a message to an identified reporter; anonymous senders are never contacted."""
        if report.anonymous or report.chat_id is None:
            return False
        if report.channel is None:
            return False
        await self.outbox.enqueue(
            tx,
            channel=report.channel,  # the report's own channel, never a default
            chat_id=report.chat_id,
            kind="reporter_update",
            message=OutgoingMessage(text=text),
            ref=f"report:{report.id}",
            priority=REPORTER_PRIORITY,
        )
        return True

    async def forget_contact(
        self, tx: Transaction, report: ReportRow, body: dict[str, Any]
    ) -> None:
        """/xoadulieu: the copies of the report's office message (delivered, or still queued)
        lose the sender's name and phone, as the report itself does (F8)."""
        name, phone = body.get("contact_name"), body.get("contact_phone")
        if not name:
            return
        t = self.texts
        shown = html.escape(t.raw("office.contact", name=name, phone=phone), quote=False)
        instead = html.escape(t.raw("office.no_contact"), quote=False)
        repo = self.outbox.repo
        for row in await repo.by_ref_in(tx, f"report:{report.id}", "office_report"):
            if not row.payload:
                continue
            message = OutgoingMessage.from_payload(self.cipher.decrypt(row.payload))
            text = message.text.replace(shown, instead)
            if html.escape(str(name), quote=False) in text or (phone and str(phone) in text):
                await repo.set_payload(tx, row.id, "")  # cut or changed: blanked instead
                continue
            changed = message.model_copy(update={"text": text})
            await repo.set_payload(tx, row.id, self.outbox.encode(changed))

    async def remember_message(self, tx: Transaction, ref: str | None, message_id: str) -> None:
        """After the group message is sent: keep its id (hook of the outbox)."""
        if ref and ref.startswith("report:"):
            await self.reports.set_office_message(tx, int(ref.split(":")[1]), message_id)

    async def reannounce_unclaimed(self) -> int:
        """Announce again every new report nobody has picked up in time; returns how many."""
        now = self.clock.now()
        urgent = {code for code, c in self.content.categories.items() if c.urgent}
        due = await self.reports.unclaimed(
            announced_before=now - self.reannounce_after,
            urgent_announced_before=now - self.urgent_reannounce_after,
            urgent=urgent,
        )
        for report in due:
            body = self.cipher.decrypt_json(report.body)
            lead = self.texts.get(
                "office.again",
                code=report.code,
                category=self.category_label(report.category),
                created=format_local(report.created_at, self.clock.tz),
            )
            async with self.db.transaction() as tx:
                await self.announce(tx, report, body, [], lead=lead, unclaimed=True)
                await self.reports.mark_announced(tx, report.id, now)
        if due:
            self.notify()
        return len(due)

    # ----------------------------------------------------------------------------- actions

    async def act(self, report_id: int, action: str, staff: Staff) -> ActionResult:
        """A status change by an office clerk; pressing twice changes nothing twice."""
        if staff.name:
            await self.names.remember(staff.actor, staff.name, self.clock.now())
        return await self.act_as(report_id, action, staff.actor)

    async def press(self, report_id: int, action: str, staff: Staff) -> ActionResult:
        """A status button of the office's card: the first press asks to confirm, since every
        status reaches the reporter at once (D9); the confirmation acts; "back" changes nothing."""
        report = await self.reports.get(report_id)
        if report is None:
            return ActionResult("unknown", self.texts.get("office.unknown"))
        if action.startswith(CONFIRM):
            return await self.act(report_id, action.removeprefix(CONFIRM), staff)
        if action == BACK_ACTION:
            return ActionResult("already", "", await self.current_view(report))
        if action not in OFFICE_ACTIONS:
            return ActionResult("unknown", self.texts.get("office.unknown"))
        if report.status == action:
            return ActionResult("already", self.texts.get("office.already"))
        status = self.texts.raw(f"status.{action}")
        shown = await self.current_view(report)
        reaches = "office.confirm.reaches" if not report.anonymous else "office.confirm.lookup"
        question = (
            self.texts.get("office.confirm.question", status=status)
            + "\n"
            + (self.texts.get(reaches))
        )
        buttons = [
            Button(
                self.texts.raw("office.confirm.accept", status=status),
                office_button(report_id, CONFIRM + action),
                0,
            ),
            Button(self.texts.raw("office.confirm.keep"), office_button(report_id, BACK_ACTION), 0),
        ]
        return ActionResult("confirm", "", Reply(f"{shown.text}\n\n{question}", buttons))

    async def act_as(
        self, report_id: int, action: str, actor: str, expected_version: int | None = None
    ) -> ActionResult:
        """A status change under an actor ("office:<id>", "staff:<username>").

        With expected_version (the console's), a report changed since the page was shown is left
        alone and the outcome is "stale": two people acting at once cannot lose an update.
        """
        now = self.clock.now()
        async with self.db.transaction() as tx:
            if action not in OFFICE_ACTIONS:
                return ActionResult("unknown", self.texts.get("office.unknown"))
            report = await self._editable(tx, report_id, expected_version)
            if isinstance(report, ActionResult):
                return report
            if report.status == action:
                return ActionResult("already", self.texts.get("office.already"))
            await self.reports.set_status(tx, report_id, action, now)
            await self.reports.add_event(
                tx,
                report_id,
                at=now,
                actor=actor,
                action="status",
                from_status=report.status,
                to_status=action,
            )
            await self.audit.record(
                tx,
                at=now,
                actor=actor,
                action="report_status",
                subject=report.code,
                details=f"{report.status}>{action}",
            )
            status = self.texts.raw(f"status.{action}")
            await self.tell_reporter(
                tx,
                report,
                self.texts.get("reporter.status_changed", code=report.code, status=status),
            )
        self.notify()
        updated = await self.reports.get(report_id)
        assert updated is not None
        return ActionResult(
            "changed",
            self.texts.get("office.done", status=status),
            await self.current_view(updated),
        )

    async def remember_reply_prompt(self, chat: ChatRef, message_id: str, report_id: int) -> None:
        """After the "Nhập nội dung trả lời" prompt is posted: only a reply to it is an answer."""
        await self.reports.remember_reply_prompt(
            chat.channel, chat.chat_id, message_id, report_id, self.clock.now()
        )

    async def reply_prompt_of(self, chat: ChatRef, message_id: str) -> ReportRow | None:
        """The report whose reply prompt is this message; None for any other message (the
        report's own message, a re-announcement, an addition, a head's question): those are
        the office's own talk and never reach a sender, whatever code they show (F2)."""
        report_id = await self.reports.by_reply_prompt(chat.channel, chat.chat_id, message_id)
        return await self.reports.get(report_id) if report_id is not None else None

    async def _editable(
        self, tx: Transaction, report_id: int, expected: int | None
    ) -> ReportRow | ActionResult:
        """The report to change in `tx`, or why not: gone, or changed since the console showed
        it (`expected`, its version then): two people acting at once cannot lose an update."""
        report = await self.reports.get_in(tx, report_id)
        if report is None:
            return ActionResult("unknown", self.texts.get("office.unknown"))
        if expected is not None and await self.reports.version_in(tx, report_id) != expected:
            return ActionResult("stale", "")
        return report

    async def reply(self, code: str, staff: Staff, text: str) -> str:
        """A clerk's reply to the sender: stored (encrypted), pushed to identified reporters."""
        report = await self.reports.by_code(code)
        if report is None:
            return self.texts.get("office.unknown")
        result = await self.reply_as(report.id, staff.actor, text)
        return result.notice

    async def reply_as(
        self, report_id: int, actor: str, text: str, expected_version: int | None = None
    ) -> ActionResult:
        """A reply under an actor; reaches the sender on their channel, or waits for /tracuu."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            report = await self._editable(tx, report_id, expected_version)
            if isinstance(report, ActionResult):
                return report
            await self.reports.add_event(
                tx,
                report.id,
                at=now,
                actor=actor,
                action="reply",
                note=self.cipher.encrypt(text),
            )
            await self.reports.touch_first_action(tx, report.id, now)
            await self.audit.record(
                tx, at=now, actor=actor, action="report_reply", subject=report.code
            )
            pushed = await self.tell_reporter(
                tx, report, self.texts.get("reporter.reply", code=report.code, text=text)
            )
        self.notify()
        delivery = self.texts.raw("office.reply_pushed" if pushed else "office.reply_waiting")
        notice = self.texts.get("office.reply_saved", code=report.code, delivery=delivery)
        return ActionResult("changed", notice)

    async def note_as(
        self, report_id: int, actor: str, text: str, expected_version: int | None = None
    ) -> ActionResult:
        """An internal note of the office: kept (encrypted) in the timeline, never sent."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            report = await self._editable(tx, report_id, expected_version)
            if isinstance(report, ActionResult):
                return report
            await self.reports.add_event(
                tx, report_id, at=now, actor=actor, action="note", note=self.cipher.encrypt(text)
            )
            await self.audit.record(
                tx, at=now, actor=actor, action="report_note", subject=report.code
            )
        return ActionResult("changed", "")

    async def take_as(
        self, report_id: int, actor: str, assignee: str, expected_version: int | None = None
    ) -> ActionResult:
        """ "Tôi xử lý": the report is assigned to the staff member; a new one is also received."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            report = await self._editable(tx, report_id, expected_version)
            if isinstance(report, ActionResult):
                return report
            await self.reports.set_assignee(tx, report_id, assignee)
            await self.reports.touch_first_action(tx, report_id, now)
            await self.reports.add_event(tx, report_id, at=now, actor=actor, action="claim")
            await self.audit.record(
                tx, at=now, actor=actor, action="report_claimed", subject=report.code
            )
        if report.status == "new":
            version = await self.version(report_id)
            return await self.act_as(report_id, "received", actor, version)
        return ActionResult("changed", "")

    async def version(self, report_id: int) -> int:
        return await self.reports.version(report_id)

    def reply_prompt(self, report: ReportRow) -> str:
        return self.texts.get("office.reply_prompt", code=report.code)

    async def report(self, report_id: int) -> ReportRow | None:
        return await self.reports.get(report_id)

    def encrypt_files(self, attachments: list[dict[str, Any]]) -> list[ReportFile]:
        return [ReportFile(a["kind"], self.cipher.encrypt(stored_ref(a))) for a in attachments]


def file_message(kind: str, ref: str, caption: str) -> OutgoingMessage:
    """A stored file for the office: photos as photos, everything else as a document."""
    file = FileRef.of(ref)
    if kind == "photo":
        return OutgoingMessage(photo=file, caption=caption)
    if kind == "video":
        return OutgoingMessage(video=file, caption=caption)
    return OutgoingMessage(document=file, caption=caption)


def _date_text(iso: str | None) -> str | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso).strftime("%d/%m/%Y")
