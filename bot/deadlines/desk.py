"""/hanchot and /tiendo in the office group: the deadline card, its buttons, prompts, progress."""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass, field

from bot.chat.buttons import ButtonFamily
from bot.chat.paging import page_of, paging_buttons
from bot.chat.ref import Staff
from bot.chat.reply import Button, Reply, laid_out
from bot.deadlines.progress_export import DeadlineSheet, progress_workbook
from bot.deadlines.reminder_plan import PlanError, Schedule, format_plan, parse_plan
from bot.deadlines.service import (
    DeadlineService,
    Scope,
    parse_description,
    parse_due,
    parse_title,
    split_codes,
)
from bot.kernel.clock import Clock, format_local
from bot.kernel.crypto import Cipher
from bot.kernel.hygiene import parse_id
from content.texts import Texts
from storage.deadlines import Deadline, DeadlineRepository

PREFIX = "dl"
PAGE_SIZE = 8
MENU_LIMIT = 20
BOARD_NAMES = 15
MESSAGE_BUDGET = 3800
WIZARD = ("title", "description", "due", "units")
PROMPTS = {"t": "title", "m": "description", "due": "due", "r": "reminders", "ul": "units"}


DEADLINE_BUTTON = ButtonFamily(PREFIX, int, str, str, purpose="the deadline card and its steps")


def button(deadline_id: int, action: str, arg: str = "") -> str:
    return DEADLINE_BUTTON(deadline_id, action, arg)


def parse_button(data: str | None) -> tuple[int, str, str] | None:
    parsed = DEADLINE_BUTTON.parse(data)
    return (parsed[0], parsed[1], parsed[2]) if parsed else None


@dataclass(frozen=True)
class Prompt:
    """A question the clerk answers by replying to it (its message id is remembered)."""

    deadline_id: int
    field: str
    text: str


@dataclass
class DeskOutcome:
    notice: str | None = None
    alert: bool = False
    redraw: Reply | None = None  # replaces the pressed message
    post: list[Reply] = field(default_factory=list)  # new messages
    prompt: Prompt | None = None  # posted last, as a forced reply


class DeadlineDesk:
    def __init__(
        self, service: DeadlineService, texts: Texts, clock: Clock, cipher: Cipher
    ) -> None:
        self.service = service
        self.repo: DeadlineRepository = service.repo
        self.texts = texts
        self.clock = clock
        self.tz = clock.tz
        self.cipher = cipher
        self.prompts = asyncio.Lock()  # held while a prompt is posted and remembered

    # ------------------------------------------------------------------------- /hanchot

    async def menu(self) -> Reply:
        """Deadlines being prepared or followed, each a button, and one to create a new one."""
        t = self.texts
        rows = [[Button(t.raw("deadline.desk.new_button"), button(0, "new"))]]
        deadlines = await self.repo.in_states("draft", "open")
        for deadline in deadlines[:MENU_LIMIT]:
            if deadline.state == "draft":
                label = t.raw("deadline.desk.draft_line", id=deadline.id, title=deadline.title)
            else:
                assert deadline.due_at is not None
                label = t.raw(
                    "deadline.desk.open_line",
                    id=deadline.id,
                    title=deadline.title,
                    due=deadline.due_at.astimezone(self.tz).strftime("%d/%m/%Y"),
                )
            rows.append([Button(label[:60], button(deadline.id, "v"))])
        key = "deadline.desk.menu" if deadlines else "deadline.desk.menu_empty"
        return Reply(t.get(key), laid_out(rows))

    async def show(self, deadline_id: int) -> Reply:
        deadline = await self.repo.get(deadline_id)
        if deadline is None:
            return Reply(self.texts.get("deadline.desk.unknown"))
        return await self.card(deadline)

    async def card(self, deadline: Deadline, lead: str | None = None) -> Reply:
        t = self.texts
        none = t.raw("office.none")
        units, with_heads = await self.repo.unit_count(deadline.id)
        scope = t.raw(f"deadline.scope.{deadline.scope or 'none'}", value=deadline.scope_value)
        text = t.raw(
            "deadline.card.text",
            id=deadline.id,
            title=html.escape(deadline.title, quote=False) or none,
            state=t.raw(f"deadline.state.{deadline.state}"),
            description=html.escape(deadline.description, quote=False) or none,
            due=format_local(deadline.due_at, self.tz) if deadline.due_at else none,
            scope=html.escape(scope, quote=False),
            units=units,
            with_heads=with_heads,
            plan=self._plan_text(deadline),
            overdue_at=self.service.reminders.overdue_at.strftime("%H:%M"),
            overdue_days=self.service.reminders.overdue_days,
        )
        if lead:
            text = f"{lead}\n\n{text}"
        return Reply(text, self._card_buttons(deadline))

    def _plan_text(self, deadline: Deadline) -> str:
        t = self.texts
        schedule = self.service.reminders.schedule(deadline)
        if schedule is None:
            parts = [
                t.raw("deadline.plan.day_of", at=o.at.strftime("%H:%M"))
                if o.days == 0
                else t.raw("deadline.plan.before", days=o.days, at=o.at.strftime("%H:%M"))
                for o in parse_plan(deadline.reminders)
            ]
            return ", ".join(parts)
        return self._slots_text(schedule)

    def _slots_text(self, schedule: Schedule) -> str:
        t = self.texts
        parts = []
        for slot in schedule.before_due():
            moment = format_local(slot.moment, self.tz)
            if slot.days_left == 0:
                parts.append(t.raw("deadline.plan.slot_day_of", moment=moment))
            else:
                parts.append(t.raw("deadline.plan.slot", moment=moment, days=slot.days_left))
        return ", ".join(parts) or t.raw("deadline.plan.none")

    def _card_buttons(self, deadline: Deadline) -> list[Button]:
        if deadline.state not in ("draft", "open"):
            return []
        t = self.texts
        d = deadline.id
        rows = []
        if deadline.state == "draft":
            rows.append([Button(t.raw("deadline.button.open"), button(d, "ok"))])
        rows += [
            [
                Button(t.raw("deadline.button.title"), button(d, "t")),
                Button(t.raw("deadline.button.description"), button(d, "m")),
            ],
            [
                Button(t.raw("deadline.button.due"), button(d, "due")),
                Button(t.raw("deadline.button.units"), button(d, "u")),
            ],
            [Button(t.raw("deadline.button.reminders"), button(d, "r"))],
        ]
        if deadline.state == "draft":
            rows.append([Button(t.raw("deadline.button.discard"), button(d, "x"))])
        else:
            rows.append(
                [
                    Button(t.raw("deadline.button.close"), button(d, "c")),
                    Button(t.raw("deadline.button.cancel"), button(d, "x")),
                ]
            )
        return laid_out(rows)

    # --------------------------------------------------------------------------- buttons

    async def press(self, deadline_id: int, action: str, arg: str, staff: Staff) -> DeskOutcome:
        """A button of the office's deadline messages (the caller checked the clerk's right)."""
        t = self.texts
        if action == "new":
            created = await self.service.create_draft(staff.actor)
            return DeskOutcome(prompt=self.prompt(created, "title"))
        deadline = await self.repo.get(deadline_id)
        if deadline is None:
            return DeskOutcome(t.get("deadline.desk.unknown"))
        if action == "v":
            return DeskOutcome(redraw=await self.card(deadline))
        if deadline.state not in ("draft", "open"):
            return DeskOutcome(t.get("deadline.desk.ended"), redraw=await self.card(deadline))
        if action in PROMPTS:
            return DeskOutcome(prompt=self.prompt(deadline.id, PROMPTS[action], deadline))
        if action == "u":
            return DeskOutcome(redraw=await self._scope_choice(deadline))
        if action in ("uk", "uz"):
            page = parse_id(arg) or 0
            return DeskOutcome(redraw=await self._values(deadline, action, page))
        if action in ("ua", "uks", "uzs"):
            return await self._choose_scope(deadline, action, arg, staff)
        if action == "ok":
            problem = await self.service.open(deadline.id, staff.actor)
            if problem is not None:
                return DeskOutcome(t.get(problem), alert=True)
            opened = await self.repo.get(deadline.id)
            assert opened is not None
            lead = t.get("deadline.desk.opened", id=deadline.id)
            return DeskOutcome(
                t.get("deadline.desk.opened_notice"), redraw=await self.card(opened, lead)
            )
        if action == "x" and deadline.state == "draft":
            await self.service.cancel(deadline.id, staff.actor)
            return DeskOutcome(redraw=Reply(t.get("deadline.desk.discarded", id=deadline.id)))
        if action == "x":
            confirm = [
                [Button(t.raw("deadline.button.confirm_cancel"), button(deadline.id, "xx"))],
                [Button(t.raw("dialog.back"), button(deadline.id, "v"))],
            ]
            text = t.get("deadline.desk.confirm_cancel", id=deadline.id, title=deadline.title)
            return DeskOutcome(redraw=Reply(text, laid_out(confirm)))
        if action == "xx":
            await self.service.cancel(deadline.id, staff.actor)
            return await self._redrawn(deadline.id, "deadline.desk.cancelled")
        if action == "c":
            await self.service.close(deadline.id, staff.actor)
            return await self._redrawn(deadline.id, "deadline.desk.closed")
        return DeskOutcome(t.get("deadline.desk.unknown"))

    async def _redrawn(self, deadline_id: int, lead_key: str) -> DeskOutcome:
        deadline = await self.repo.get(deadline_id)
        assert deadline is not None
        lead = self.texts.get(lead_key, id=deadline_id)
        return DeskOutcome(lead, redraw=await self.card(deadline, lead))

    async def _scope_choice(self, deadline: Deadline) -> Reply:
        t = self.texts
        d = deadline.id
        rows = [
            [Button(t.raw("deadline.scope_button.all"), button(d, "ua"))],
            [Button(t.raw("deadline.scope_button.kind"), button(d, "uk", "0"))],
            [Button(t.raw("deadline.scope_button.area"), button(d, "uz", "0"))],
            [Button(t.raw("deadline.scope_button.list"), button(d, "ul"))],
        ]
        if deadline.scope is not None:
            rows.append([Button(t.raw("dialog.back"), button(d, "v"))])
        return Reply(
            t.get("deadline.desk.choose_scope", id=d, title=deadline.title), laid_out(rows)
        )

    async def _values(self, deadline: Deadline, action: str, page: int) -> Reply:
        t = self.texts
        column = "kind" if action == "uk" else "area"
        values = await self.repo.distinct(column)
        shown = page_of(values, page, PAGE_SIZE)
        rows = [
            [Button(value[:60], button(deadline.id, f"{action}s", str(shown.start + offset)))]
            for offset, value in enumerate(shown.items)
        ]
        paging = paging_buttons(
            t, shown.number, shown.last, lambda n: button(deadline.id, action, str(n))
        )
        if paging:
            rows.append(paging)
        rows.append([Button(t.raw("dialog.back"), button(deadline.id, "u"))])
        return Reply(t.get(f"deadline.desk.choose_{column}", id=deadline.id), laid_out(rows))

    async def _choose_scope(
        self, deadline: Deadline, action: str, arg: str, staff: Staff
    ) -> DeskOutcome:
        if action == "ua":
            scope = Scope("all")
        else:
            values = await self.repo.distinct("kind" if action == "uks" else "area")
            index = parse_id(arg)
            if index is None or index >= len(values):
                return DeskOutcome(self.texts.get("deadline.desk.unknown"))
            scope = Scope("kind" if action == "uks" else "area", values[index])
        updated = await self.service.update(deadline.id, scope=scope, actor=staff.actor)
        if updated is None:
            return DeskOutcome(self.texts.get("deadline.desk.ended"))
        outcome = await self._after_change(updated, "units")
        if outcome.post and outcome.prompt is None:  # the card replaces the pressed choice
            outcome.redraw, outcome.post = outcome.post[0], outcome.post[1:]
        return outcome

    async def _after_change(self, after: Deadline, filled: str) -> DeskOutcome:
        """After a field is set: the next question of a new draft, or the card again."""
        t = self.texts
        if after.state == "draft":
            following = self._next_question(after, filled)
            if following == "units":
                return DeskOutcome(post=[await self._scope_choice(after)])
            if following is not None:
                return DeskOutcome(prompt=self.prompt(after.id, following, after))
            return DeskOutcome(t.get("deadline.desk.saved"), post=[await self.card(after)])
        lead = t.get("deadline.desk.updated", id=after.id)
        return DeskOutcome(t.get("deadline.desk.saved"), post=[await self.card(after, lead)])

    @staticmethod
    def _next_question(deadline: Deadline, filled: str) -> str | None:
        """The wizard of a new deadline asks title, description, due date, then units."""
        if filled not in WIZARD:
            return None
        for name in WIZARD[WIZARD.index(filled) + 1 :]:
            if name == "description" and filled == "title" and not deadline.description:
                return name
            if name == "due" and deadline.due_at is None:
                return name
            if name == "units" and deadline.scope is None:
                return name
        return None

    # --------------------------------------------------------------------------- prompts

    def prompt(self, deadline_id: int, name: str, deadline: Deadline | None = None) -> Prompt:
        plan = deadline.reminders if deadline else self.service.default_plan
        text = self.texts.get(f"deadline.prompt.{name}", id=deadline_id, plan=plan)
        return Prompt(deadline_id, name, text)

    def is_prompt(self, text: str | None) -> bool:
        """One of our prompts (a deadline's field, an answer to a question), maybe an old one."""
        markers = (self.texts.raw("deadline.prompt_marker"), self.texts.raw("deadline.help.marker"))
        return text is not None and text.startswith(markers)

    async def remember_prompt(self, prompt: Prompt, message_id: str) -> None:
        await self.repo.await_reply(prompt.deadline_id, prompt.field, message_id)

    async def reply(
        self, message_id: str, text: str, staff: Staff | None = None
    ) -> DeskOutcome | None:
        """A clerk's reply to a prompt of ours; None when the replied message is not one."""
        deadline = await self.repo.by_prompt(message_id)
        if deadline is None or deadline.awaiting is None:
            return None
        t = self.texts
        name = deadline.awaiting
        if deadline.state not in ("draft", "open"):
            return DeskOutcome(post=[Reply(t.get("deadline.desk.ended"))])
        try:
            changes = await self._parse(name, text)
        except PlanError as exc:
            problem = Reply(t.get(exc.key, **exc.params))
            return DeskOutcome(post=[problem], prompt=self.prompt(deadline.id, name, deadline))
        actor = staff.actor if staff is not None else "office"
        updated = await self.service.update(deadline.id, **changes, actor=actor)  # type: ignore[arg-type]
        if updated is None:
            return DeskOutcome(post=[Reply(t.get("deadline.desk.ended"))])
        await self.repo.await_reply(deadline.id, None, None)
        return await self._after_change(updated, name)

    async def _parse(self, name: str, text: str) -> dict[str, object]:
        if name == "title":
            return {"title": parse_title(text)}
        if name == "description":
            return {"description": parse_description(text)}
        if name == "due":
            return {"due_at": parse_due(text, self.tz, self.clock.now())}
        if name == "reminders":
            return {"reminders": format_plan(parse_plan(text))}
        codes = split_codes(text)
        if not codes:
            raise PlanError("deadline.error.units_empty")
        found, unknown = await self.service.check_codes(codes)
        if unknown:
            raise PlanError("deadline.error.unknown_units", codes=", ".join(unknown[:20]))
        return {"scope": Scope("list", None, tuple(found))}

    # -------------------------------------------------------------------------- /tiendo

    async def board(self) -> list[str]:
        """The progress of every open deadline, as messages under Telegram's length limit."""
        t = self.texts
        now = self.clock.now()
        deadlines = await self.repo.in_states("open")
        if not deadlines:
            return [t.get("deadline.board.empty")]
        blocks = []
        for deadline in deadlines:
            assert deadline.due_at is not None
            progress = await self.repo.progress(deadline.id, deadline.due_at)
            names = await self.repo.not_done_names(deadline.id, BOARD_NAMES)
            if progress.not_done == 0:
                missing = t.get("deadline.board.all_done")
            else:
                missing = t.get("deadline.board.missing", names="; ".join(names))
                if progress.not_done > len(names):
                    more = t.get("deadline.board.more", count=progress.not_done - len(names))
                    missing = f"{missing} {more}"
            overdue = now > deadline.due_at and progress.not_done > 0
            blocks.append(
                t.raw(
                    "deadline.board.block",
                    id=deadline.id,
                    title=html.escape(deadline.title, quote=False),
                    due=format_local(deadline.due_at, self.tz),
                    status=t.raw("deadline.board.overdue" if overdue else "deadline.board.running"),
                    on_time=progress.on_time,
                    late=progress.late,
                    not_done=progress.not_done,
                    total=progress.total,
                    missing=missing,
                )
            )
        messages = [t.get("deadline.board.header", now=format_local(now, self.tz))]
        for block in blocks:
            if len(messages[-1]) + len(block) + 2 > MESSAGE_BUDGET:
                messages.append(block)
            else:
                messages[-1] = f"{messages[-1]}\n\n{block}"
        return messages

    async def board_file(self, staff: Staff | None = None) -> tuple[bytes, str] | None:
        """The same as an Excel file: (content, file name); None without open deadlines.

        Handing the file out is an export, and recorded in the audit log."""
        deadlines = await self.repo.in_states("open")
        if not deadlines:
            return None
        sheets = []
        for deadline in deadlines:
            assert deadline.due_at is not None
            sheets.append(
                DeadlineSheet(
                    deadline,
                    await self.repo.progress(deadline.id, deadline.due_at),
                    await self.repo.statuses(deadline.id),
                )
            )
        now = self.clock.now()
        content = await asyncio.to_thread(  # thousands of rows: not on the event loop
            progress_workbook, sheets, self.texts, self.tz, now, self.cipher.decrypt_optional
        )
        name = f"tien_do_han_chot_{now.astimezone(self.tz).strftime('%Y%m%d_%H%M')}.xlsx"
        async with self.service.db.transaction() as tx:
            await self.service.audit.record(
                tx,
                at=now,
                actor=staff.actor if staff is not None else "office",
                action="export",
                subject=name,
                details=str(len(sheets)),
            )
        return content, name

    def now_text(self) -> str:
        return format_local(self.clock.now(), self.tz)
