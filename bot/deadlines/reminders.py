"""Deadline reminders: the day's round planned from the database, heads' answers, escalation."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from bot.chat.buttons import ButtonFamily
from bot.chat.ref import ChatRef
from bot.chat.reply import Button, Reply
from bot.deadlines.reminder_plan import Schedule, Slot, parse_plan
from bot.dialogs.conversation import Finish
from bot.dialogs.engine import stored_ref
from bot.kernel.clock import Clock, QuietHours, format_local
from bot.kernel.config import Settings
from bot.kernel.crypto import Cipher
from bot.kernel.outbox import PRIORITY_INTERACTIVE, PRIORITY_REMINDER, Outbox, OutgoingMessage
from bot.office.review import file_message
from content.texts import Texts
from storage.db import Database, Transaction
from storage.deadlines import Deadline, DeadlineRepository, office_ref
from storage.people import PeopleRepository
from storage.units import UnitRepository

HEAD_PREFIX = "dr"  # buttons under a reminder: "dr:<deadline id>:done" and "dr:<id>:help"
QUESTION_PREFIX = "dq"  # the office's "answer" button under a question: "dq:<question id>"
DIGEST_KIND = "deadline_digest"
CHANGED_KIND = "deadline_changed"
OFFICE_KIND = "deadline_office"
ANSWER_KIND = "deadline_answer"
DIGEST_NAMES = 40
PENDING_SHOWN = 10  # deadlines listed by /viec, the nearest due first


HEAD_BUTTON = ButtonFamily(HEAD_PREFIX, int, str, purpose="done or help under a reminder")
QUESTION_BUTTON = ButtonFamily(QUESTION_PREFIX, int, purpose="answer a head's question")


def head_button(deadline_id: int, action: str) -> str:
    return HEAD_BUTTON(deadline_id, action)


def parse_head_button(data: str | None) -> tuple[int, str] | None:
    parsed = HEAD_BUTTON.parse(data)
    if parsed is None or parsed[1] not in ("done", "help"):
        return None
    return parsed[0], parsed[1]


def question_button(question_id: int) -> str:
    return QUESTION_BUTTON(question_id)


def parse_question_button(data: str | None) -> int | None:
    parsed = QUESTION_BUTTON.parse(data)
    return parsed[0] if parsed else None


@dataclass
class HeadOutcome:
    """What a head's press leads to: a toast, and possibly a follow-up dialog to open."""

    notice: str
    alert: bool = False
    dialog: str | None = None
    context: dict[str, str] = field(default_factory=dict)
    fallback: Reply | None = None  # said instead of the dialog when another one is open


class ReminderService:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        cipher: Cipher,
        texts: Texts,
        clock: Clock,
        settings: Settings,
        notify: Callable[[], None],
    ) -> None:
        self.db = db
        self.repo = DeadlineRepository(db)
        self.people = PeopleRepository(db)
        self.units = UnitRepository(db)
        self.outbox = outbox
        self.cipher = cipher
        self.texts = texts
        self.clock = clock
        self.tz = clock.tz
        self.office_chat = settings.office_chat
        self.quiet = QuietHours.parse(settings.quiet_hours)
        self.overdue_at = time.fromisoformat(settings.deadline_overdue_at)
        self.overdue_days = settings.deadline_overdue_days
        self.notify = notify

    def schedule(self, deadline: Deadline) -> Schedule | None:
        if deadline.due_at is None:
            return None
        return Schedule(
            deadline.due_at,
            parse_plan(deadline.reminders),
            self.overdue_at,
            self.overdue_days,
            self.tz,
        )

    # ------------------------------------------------------------------------ the tick

    async def tick(self) -> int:
        """Plan the day's reminders of every open deadline whose time has come; run every
        minute and at start-up. Derived from the database each time: a round is planned once
        per deadline and local day, and one missed while the bot was down is planned when it
        is back, as long as it is still that day (quiet hours permitting)."""
        planned = 0
        for deadline in await self.repo.in_states("open"):
            planned += await self.plan(deadline)
        if planned:
            self.notify()
        return planned

    async def plan(self, deadline: Deadline) -> int:
        """The round of today for one deadline, if it is due and not planned yet."""
        schedule = self.schedule(deadline)
        if deadline.state != "open" or schedule is None:
            return 0
        now = self.clock.now()
        today = now.astimezone(self.tz).date()
        slot = schedule.slot_on(today)
        if slot is None or slot.moment > now:
            return 0
        not_before = self.quiet.end_after(now, self.tz)
        if not_before.astimezone(self.tz).date() != today:
            return 0  # only quiet hours are left of that day: the next slot will come
        day = today.isoformat()
        if await self.repo.round_planned(None, deadline.id, day):
            return 0
        message = self.reminder(deadline, slot)
        async with self.db.transaction() as tx:
            if await self.repo.round_planned(tx, deadline.id, day):
                return 0
            count = await self.repo.plan_round(
                tx,
                deadline_id=deadline.id,
                day=day,
                payload=self.outbox.encode(message),
                priority=PRIORITY_REMINDER,
                not_before=not_before if not_before > now else None,
                now=now,
            )
            if slot.overdue:
                count += await self._digest(tx, deadline, slot, not_before, now)
        return count

    def reminder(self, deadline: Deadline, slot: Slot) -> OutgoingMessage:
        """The day's reminder of a deadline, the same for every head of every unit not done."""
        assert deadline.due_at is not None
        t = self.texts
        params = self._params(deadline)
        if slot.overdue:
            text = t.raw("deadline.reminder.overdue", days=slot.days_late, **params)
        else:
            if slot.days_left == 0:
                left = t.raw("deadline.left.today", time=params["due_time"])
            elif slot.days_left == 1:
                left = t.raw("deadline.left.tomorrow")
            else:
                left = t.raw("deadline.left.days", days=slot.days_left)
            text = t.raw("deadline.reminder.before", left=left, **params)
        buttons = [
            Button(t.raw("deadline.button.done"), head_button(deadline.id, "done"), 0),
            Button(t.raw("deadline.button.help"), head_button(deadline.id, "help"), 0),
        ]
        return OutgoingMessage.from_reply(Reply(text, buttons))

    def _params(self, deadline: Deadline) -> dict[str, Any]:
        assert deadline.due_at is not None
        description = ""
        if deadline.description:
            description = "\n" + html.escape(deadline.description, quote=False)
        return {
            "id": deadline.id,
            "title": html.escape(deadline.title, quote=False),
            "due": format_local(deadline.due_at, self.tz),
            "due_time": deadline.due_at.astimezone(self.tz).strftime("%H:%M"),
            "description": description,
        }

    async def _digest(
        self, tx: Transaction, deadline: Deadline, slot: Slot, not_before: datetime, now: datetime
    ) -> int:
        """The office's daily list of the units of a deadline that are overdue."""
        if self.office_chat is None:
            return 0
        names = await self.repo.not_done_names(deadline.id, tx=tx)
        if not names:
            return 0
        total = len(await self.repo.codes_of(tx, deadline.id))
        shown = "\n".join(
            self.texts.get("deadline.digest.line", name=name) for name in names[:DIGEST_NAMES]
        )
        more = len(names) - DIGEST_NAMES
        if more > 0:
            shown += "\n" + self.texts.get("deadline.digest.more", count=more)
        text = self.texts.raw(
            "deadline.digest.text",
            days=slot.days_late,
            count=len(names),
            total=total,
            names=shown,
            **self._params(deadline),
        )
        assert self.office_chat is not None
        added = await self.outbox.enqueue(
            tx,
            channel=self.office_chat.channel,
            chat_id=self.office_chat.chat_id,
            kind=DIGEST_KIND,
            message=OutgoingMessage(text=text),
            ref=office_ref(deadline.id),
            priority=PRIORITY_REMINDER,
            not_before=not_before if not_before > now else None,
            dedupe_key=f"deadline:{deadline.id}:{slot.day.isoformat()}:office",
        )
        return 1 if added else 0

    # ---------------------------------------------------------------- changes to a deadline

    async def changed(
        self, tx: Transaction, deadline: Deadline, *, due_moved: bool, now: datetime
    ) -> None:
        """An open deadline changed (in tx): what was still to be sent is planned again, and
        those already reminded hear of a new due date."""
        today = now.astimezone(self.tz).date().isoformat()
        await self.repo.replan_from(tx, deadline.id, today)
        if due_moved and deadline.due_at is not None:
            text = self.texts.raw("deadline.changed", **self._params(deadline))
            await self._tell_reminded(tx, deadline, CHANGED_KIND, text, f"v{deadline.version}", now)

    async def cancelled(self, tx: Transaction, deadline: Deadline, now: datetime) -> None:
        """A deadline is cancelled (in tx): nothing more of it is sent; the reminded are told."""
        await self.repo.cancel_pending(tx, deadline.id)
        if deadline.due_at is not None:
            text = self.texts.raw("deadline.cancelled", **self._params(deadline))
            await self._tell_reminded(tx, deadline, CHANGED_KIND, text, "cancelled", now)

    async def closed(self, tx: Transaction, deadline: Deadline) -> None:
        await self.repo.cancel_pending(tx, deadline.id)

    async def _tell_reminded(
        self, tx: Transaction, deadline: Deadline, kind: str, text: str, tag: str, now: datetime
    ) -> None:
        not_before = self.quiet.end_after(now, self.tz)
        await self.repo.tell_reminded(
            tx,
            deadline_id=deadline.id,
            kind=kind,
            payload=self.outbox.encode(OutgoingMessage(text=text)),
            priority=PRIORITY_REMINDER,
            not_before=not_before if not_before > now else None,
            dedupe_prefix=f"deadline:{deadline.id}:{tag}:",
            now=now,
        )

    # ----------------------------------------------------------------- a head's answers

    async def pending(self, chat: ChatRef) -> list[Reply]:
        """A head's own list of what their unit has still to do (D13): each open deadline not
        reported done, with the buttons of a reminder, so that nobody waits for the next one."""
        t = self.texts
        person = await self.people.get(chat.channel, chat.chat_id)
        if person is None or person.role != "head" or person.unit_code is None:
            return [Reply(t.get("deadline.pending.not_head"))]
        deadlines = await self.repo.pending_for_unit(person.unit_code, PENDING_SHOWN + 1)
        if not deadlines:
            return [Reply(t.get("deadline.pending.none"))]
        now = self.clock.now()
        replies = [Reply(t.get("deadline.pending.title", count=len(deadlines[:PENDING_SHOWN])))]
        for deadline in deadlines[:PENDING_SHOWN]:
            params = self._params(deadline)
            assert deadline.due_at is not None
            key = "deadline.pending.late" if deadline.due_at < now else "deadline.pending.item"
            buttons = [
                Button(t.raw("deadline.button.done"), head_button(deadline.id, "done"), 0),
                Button(t.raw("deadline.button.help"), head_button(deadline.id, "help"), 0),
            ]
            replies.append(Reply(t.raw(key, **params), buttons))
        if len(deadlines) > PENDING_SHOWN:
            replies.append(Reply(t.get("deadline.pending.more", count=PENDING_SHOWN)))
        return replies

    async def press(self, chat: ChatRef, deadline_id: int, action: str) -> HeadOutcome:
        """ "Đã hoàn thành" or "Cần hỗ trợ" under a reminder."""
        t = self.texts
        person = await self.people.get(chat.channel, chat.chat_id)
        if person is None or person.role != "head" or person.unit_code is None:
            return HeadOutcome(t.get("deadline.head.not_head"), alert=True)
        deadline = await self.repo.get(deadline_id)
        if deadline is None or deadline.state == "draft" or deadline.due_at is None:
            return HeadOutcome(t.get("deadline.head.unknown"), alert=True)
        if deadline.state == "cancelled":
            return HeadOutcome(t.get("deadline.head.cancelled"), alert=True)
        unit = await self.units.get(person.unit_code)
        unit_name = unit.name if unit else person.unit_code
        context = {
            "deadline_id": str(deadline.id),
            "unit_code": person.unit_code,
            "unit_name": unit_name,
            "title": deadline.title,
        }
        now = self.clock.now()
        if action == "help":
            return HeadOutcome(
                t.get("deadline.head.help_notice"),
                dialog="deadline_help",
                context=context,
                fallback=Reply(t.get("deadline.head.help_busy")),
            )
        async with self.db.transaction() as tx:
            concerned, done_at = await self.repo.unit_of(tx, deadline.id, person.unit_code)
            if not concerned:
                return HeadOutcome(t.get("deadline.head.not_concerned"), alert=True)
            if done_at is not None:
                when = format_local(done_at, self.tz)
                return HeadOutcome(t.get("deadline.head.already", at=when), alert=True)
            await self.repo.mark_done(tx, deadline.id, person.unit_code, person.id, now)
        at = format_local(now, self.tz)
        context["done_at"] = at
        late = now > deadline.due_at
        notice = t.get("deadline.head.done_late" if late else "deadline.head.done", at=at)
        recorded = t.get("deadline.head.recorded", unit=unit_name, title=deadline.title, at=at)
        return HeadOutcome(
            notice, dialog="deadline_done", context=context, fallback=Reply(recorded)
        )

    async def finish_done(
        self, tx: Transaction, chat: ChatRef, answers: dict[str, Any], context: dict[str, str]
    ) -> Finish:
        """The optional note and files after "Đã hoàn thành": kept, and sent to the office."""
        note = answers.get("note")
        files = answers.get("files") or []
        if not note and not files:
            return Finish([Reply(self.texts.get("deadline.done.thanks"))])
        deadline_id = int(context["deadline_id"])
        await self.repo.add_note(
            tx, deadline_id, context["unit_code"], self.cipher.encrypt_optional(note), len(files)
        )
        if self.office_chat is not None:
            text = self.texts.get(
                "deadline.done.office",
                unit=context["unit_name"],
                title=context["title"],
                id=deadline_id,
                at=context.get("done_at", ""),
                note=note or self.texts.raw("office.none"),
                files=len(files),
            )
            await self._to_office(tx, deadline_id, OutgoingMessage(text=text))
            for number, attachment in enumerate(files, start=1):
                caption = self.texts.get(
                    "deadline.done.file_caption",
                    number=number,
                    count=len(files),
                    unit=context["unit_name"],
                    title=context["title"],
                )
                message = file_message(attachment["kind"], stored_ref(attachment), caption)
                await self._to_office(tx, deadline_id, message)
        return Finish([Reply(self.texts.get("deadline.done.sent"))])

    async def finish_help(
        self, tx: Transaction, chat: ChatRef, answers: dict[str, Any], context: dict[str, str]
    ) -> Finish:
        """A head's question, forwarded to the office with a button to answer it."""
        if self.office_chat is None:
            return Finish([Reply(self.texts.get("deadline.help.no_office"))])
        deadline_id = int(context["deadline_id"])
        question_id = await self.repo.add_question(
            tx,
            deadline_id=deadline_id,
            unit_code=context.get("unit_code"),
            channel=chat.channel,
            chat_id=chat.chat_id,
            now=self.clock.now(),
        )
        text = self.texts.get(
            "deadline.help.office",
            unit=context["unit_name"],
            title=context["title"],
            id=deadline_id,
            question=answers["question"],
        )
        label = self.texts.raw("deadline.help.answer_button")
        buttons = [Button(label, question_button(question_id))]
        await self._to_office(
            tx, deadline_id, OutgoingMessage.from_reply(Reply(text, buttons)), PRIORITY_INTERACTIVE
        )
        return Finish([Reply(self.texts.get("deadline.help.sent"))])

    async def _to_office(
        self,
        tx: Transaction,
        deadline_id: int,
        message: OutgoingMessage,
        priority: int = PRIORITY_REMINDER,
    ) -> None:
        assert self.office_chat is not None
        await self.outbox.enqueue(
            tx,
            channel=self.office_chat.channel,
            chat_id=self.office_chat.chat_id,
            kind=OFFICE_KIND,
            message=message,
            ref=office_ref(deadline_id),
            priority=priority,
        )

    # ------------------------------------------------------------- the office's answers

    async def answer_prompt(self, question_id: int) -> str | None:
        """The text of the prompt the clerk replies to; None for an unknown question."""
        question = await self.repo.question(question_id)
        if question is None:
            return None
        deadline = await self.repo.get(question.deadline_id)
        unit = await self.units.get(question.unit_code) if question.unit_code else None
        return self.texts.get(
            "deadline.help.answer_prompt",
            id=question.id,
            unit=unit.name if unit else self.texts.raw("office.none"),
            title=deadline.title if deadline else "",
        )

    async def answer(self, question_id: int, text: str) -> str:
        """The clerk's answer, sent to the head who asked."""
        question = await self.repo.question(question_id)
        if question is None:
            return self.texts.get("deadline.help.unknown")
        if question.chat_id is None or question.channel is None:
            return self.texts.get("deadline.help.gone")
        deadline = await self.repo.get(question.deadline_id)
        title = deadline.title if deadline else ""
        reply = self.texts.get("deadline.help.answer", title=title, text=text)
        async with self.db.transaction() as tx:
            await self.outbox.enqueue(
                tx,
                chat_id=question.chat_id,
                channel=question.channel,
                kind=ANSWER_KIND,
                message=OutgoingMessage(text=reply),
                ref=office_ref(question.deadline_id),
                priority=PRIORITY_INTERACTIVE,
            )
            await self.repo.answered(tx, question_id, self.clock.now())
        self.notify()
        return self.texts.get("deadline.help.answered")
