"""Deadlines as the office sets them: fields, units, opening, changing, cancelling, closing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.deadlines.reminder_plan import PlanError, format_plan, parse_plan
from bot.deadlines.reminders import ReminderService
from bot.kernel.clock import Clock, format_local
from storage.audit import AuditLog
from storage.db import Database, Transaction
from storage.deadlines import Deadline, DeadlineRepository

TITLE_MAX = 200
DESCRIPTION_MAX = 1500
DEFAULT_DUE_TIME = time(17, 0)
SCOPES = ("all", "kind", "area", "list")
SCHEDULE_FIELDS = ("due_at", "reminders", "scope")

_DUE = re.compile(
    r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:\s+(?:lúc\s+|luc\s+)?(\d{1,2})[:hH](\d{2}))?$"
)
_SHORT_DUE = re.compile(  # typed in the chat: 15/12 17:00, 15/12/26, 15/12
    r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}))?(?:\s+(?:lúc\s+|luc\s+)?(\d{1,2})[:hH](\d{2}))?$"
)
_ISO_DUE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2}))?$")
_CODES = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class Scope:
    """Which units a deadline concerns: all, one kind, one area, or a list of codes."""

    kind: str
    value: str | None = None
    codes: tuple[str, ...] = ()


def read_due(text: str, tz: ZoneInfo) -> datetime:
    """'15/12/2026 17:00' (or a date alone, meaning 17:00), local time, as UTC."""
    cleaned = " ".join(text.split())
    match = _DUE.match(cleaned)
    if match:
        day, month, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
        hour_text, minute_text = match.group(4), match.group(5)
    else:
        iso = _ISO_DUE.match(cleaned)
        if not iso:
            raise PlanError("deadline.error.bad_due", value=text.strip())
        year, month, day = int(iso.group(1)), int(iso.group(2)), int(iso.group(3))
        hour_text, minute_text = iso.group(4), iso.group(5)
    hour = int(hour_text) if hour_text else DEFAULT_DUE_TIME.hour
    minute = int(minute_text) if minute_text else DEFAULT_DUE_TIME.minute
    try:
        local = datetime(year, month, day, hour, minute, tzinfo=tz)
    except ValueError:
        raise PlanError("deadline.error.no_such_due", value=text.strip()) from None
    return local.astimezone(UTC)


def parse_due(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """A due date typed by the office: readable, and in the future. In the chat a year may be
    left out (the next such day) or typed with two digits, as people do on a phone."""
    short = _SHORT_DUE.match(" ".join(text.split()))
    if short and not _DUE.match(" ".join(text.split())):
        day, month, year_text = int(short.group(1)), int(short.group(2)), short.group(3)
        local_now = now.astimezone(tz)
        year = 2000 + int(year_text) if year_text else local_now.year
        hour = int(short.group(4)) if short.group(4) else DEFAULT_DUE_TIME.hour
        minute = int(short.group(5)) if short.group(5) else DEFAULT_DUE_TIME.minute
        try:
            local = datetime(year, month, day, hour, minute, tzinfo=tz)
            if year_text is None and local <= local_now:
                local = local.replace(year=year + 1)  # 15/01 typed in December: next January
        except ValueError:
            raise PlanError("deadline.error.no_such_due", value=text.strip()) from None
        due = local.astimezone(UTC)
    else:
        due = read_due(text, tz)
    if due <= now:
        raise PlanError("deadline.error.due_past", value=text.strip())
    return due


def parse_title(text: str) -> str:
    title = " ".join(text.split())
    if not title:
        raise PlanError("deadline.error.title_empty")
    if len(title) > TITLE_MAX:
        raise PlanError("deadline.error.too_long", length=len(title), max=TITLE_MAX)
    return title


def parse_description(text: str) -> str:
    description = text.strip()
    if description in ("-", "—", "–"):
        return ""
    if len(description) > DESCRIPTION_MAX:
        raise PlanError("deadline.error.too_long", length=len(description), max=DESCRIPTION_MAX)
    return description


def split_codes(text: str) -> list[str]:
    return [code for code in _CODES.split(text.strip()) if code]


@dataclass(frozen=True)
class DeadlineItem:
    """One deadline of an import file, checked for form; `where` names it in the file."""

    where: str
    key: str | None
    title: str
    description: str
    due_at: datetime
    reminders: str
    scope: Scope


@dataclass
class UpsertResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)


class _Refused(Exception):
    """Raised inside the import's transaction so that nothing of it is kept."""


class DeadlineService:
    def __init__(
        self,
        db: Database,
        reminders: ReminderService,
        clock: Clock,
        default_plan: str,
        notify: Callable[[], None],
    ) -> None:
        self.db = db
        self.audit = AuditLog(db)
        self.repo: DeadlineRepository = reminders.repo
        self.reminders = reminders
        self.clock = clock
        self.tz = clock.tz
        self.default_plan = format_plan(parse_plan(default_plan))
        self.notify = notify

    def _due_text(self, item: DeadlineItem) -> dict[str, object]:
        return {"value": format_local(item.due_at, self.tz)}

    async def create_draft(self, created_by: str) -> int:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            deadline_id = await self.repo.create(
                tx, created_by=created_by, reminders=self.default_plan, now=now
            )
            await self._audit(tx, now, created_by, "deadline_created", deadline_id)
        return deadline_id

    async def _audit(
        self,
        tx: Transaction,
        now: datetime,
        actor: str,
        action: str,
        deadline_id: int,
        details: str | None = None,
    ) -> None:
        await self.audit.record(
            tx,
            at=now,
            actor=actor,
            action=action,
            subject=f"deadline:{deadline_id}",
            details=details,
        )

    async def resolve(self, tx: Transaction, scope: Scope) -> list[str]:
        if scope.kind == "list":
            return list(scope.codes)
        return await self.repo.unit_codes(tx, scope.kind, scope.value)

    async def check_codes(self, codes: list[str]) -> tuple[list[str], list[str]]:
        """(stored codes in the order given, unknown codes) for a clerk's list."""
        known = await self.repo.known_codes(codes)
        found, unknown, seen = [], [], set()
        for code in codes:
            stored = known.get(code.upper())
            if stored is None:
                unknown.append(code)
            elif stored not in seen:
                seen.add(stored)
                found.append(stored)
        return found, unknown

    async def update(
        self,
        deadline_id: int,
        *,
        title: str | None = None,
        description: str | None = None,
        due_at: datetime | None = None,
        reminders: str | None = None,
        scope: Scope | None = None,
        actor: str = "office",
    ) -> Deadline | None:
        """Change what is given; for an open deadline, what is still to be sent follows."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            deadline = await self.repo.get_in(tx, deadline_id)
            if deadline is None or deadline.state in ("cancelled", "closed"):
                return None
            await self._apply(
                tx,
                deadline,
                now,
                title=title,
                description=description,
                due_at=due_at,
                reminders=reminders,
                scope=scope,
                actor=actor,
            )
            updated = await self.repo.get_in(tx, deadline_id)
        assert updated is not None
        await self._replanned(updated)
        return updated

    async def _apply(
        self,
        tx: Transaction,
        deadline: Deadline,
        now: datetime,
        *,
        title: str | None = None,
        description: str | None = None,
        due_at: datetime | None = None,
        reminders: str | None = None,
        scope: Scope | None = None,
        key: str | None = None,
        actor: str = "office",
    ) -> bool:
        """Write the changes in tx (and their audit entry); returns whether anything changed."""
        changes: dict[str, object] = {}
        if key is not None and key != deadline.key:
            changes["key"] = key
        if title is not None and title != deadline.title:
            changes["title"] = title
        if description is not None and description != deadline.description:
            changes["description"] = description
        if due_at is not None and due_at != deadline.due_at:
            changes["due_at"] = due_at
        if reminders is not None:
            plan = format_plan(parse_plan(reminders))
            if plan != deadline.reminders:
                changes["reminders"] = plan
        units_changed = False
        if scope is not None:
            codes = await self.resolve(tx, scope)
            units_changed = set(codes) != await self.repo.codes_of(tx, deadline.id)
            if (scope.kind, scope.value) != (deadline.scope, deadline.scope_value):
                changes["scope"], changes["scope_value"] = scope.kind, scope.value
            if units_changed:
                await self.repo.set_units(tx, deadline.id, codes)
        if not changes and not units_changed:
            return False
        is_open = deadline.state == "open"
        await self.repo.update(tx, deadline.id, now, bump=is_open, **changes)
        names = [name for name in changes if name not in ("scope", "scope_value")]
        if units_changed or "scope" in changes:
            names.append("units")
        await self._audit(tx, now, actor, "deadline_changed", deadline.id, ", ".join(names))
        if is_open:
            changed = await self.repo.get_in(tx, deadline.id)
            assert changed is not None
            await self.reminders.changed(tx, changed, due_moved="due_at" in changes, now=now)
        return True

    async def _replanned(self, deadline: Deadline) -> None:
        if deadline.state == "open":
            await self.reminders.plan(deadline)
            self.notify()

    async def open(self, deadline_id: int, actor: str = "office") -> str | None:
        """A complete draft starts being followed; the text key of what is missing otherwise."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            deadline = await self.repo.get_in(tx, deadline_id)
            if deadline is None or deadline.state != "draft":
                return "deadline.error.not_draft"
            problem = await self.missing(tx, deadline, now)
            if problem is not None:
                return problem
            await self.repo.update(tx, deadline_id, now, bump=False, state="open")
            await self._audit(tx, now, actor, "deadline_opened", deadline_id)
            opened = await self.repo.get_in(tx, deadline_id)
        assert opened is not None
        await self._replanned(opened)
        return None

    async def missing(self, tx: Transaction, deadline: Deadline, now: datetime) -> str | None:
        if not deadline.title:
            return "deadline.error.title_missing"
        if deadline.due_at is None:
            return "deadline.error.due_missing"
        if deadline.due_at <= now:
            return "deadline.error.due_passed"
        if deadline.scope is None or not await self.repo.codes_of(tx, deadline.id):
            return "deadline.error.units_missing"
        return None

    async def cancel(self, deadline_id: int, actor: str = "office") -> bool:
        """Cancel a draft or an open deadline; False if it had already ended."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            deadline = await self.repo.get_in(tx, deadline_id)
            if deadline is None or deadline.state not in ("draft", "open"):
                return False
            await self.repo.update(tx, deadline_id, now, bump=True, state="cancelled")
            await self._audit(tx, now, actor, "deadline_cancelled", deadline_id)
            if deadline.state == "open":
                await self.reminders.cancelled(tx, deadline, now)
        self.notify()
        return True

    async def close(self, deadline_id: int, actor: str = "office") -> bool:
        """Stop following an open deadline (no more reminders); its results stay."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            deadline = await self.repo.get_in(tx, deadline_id)
            if deadline is None or deadline.state != "open":
                return False
            await self.repo.update(tx, deadline_id, now, bump=True, state="closed")
            await self._audit(tx, now, actor, "deadline_closed", deadline_id)
            await self.reminders.closed(tx, deadline)
        return True

    async def upsert_many(self, items: list[DeadlineItem], created_by: str) -> UpsertResult:
        """Create the deadlines of a file (open at once) or update those with the same key; all
        or nothing: one problem and nothing is written."""
        now = self.clock.now()
        result = UpsertResult()
        touched: list[int] = []
        try:
            async with self.db.transaction() as tx:
                for item in items:
                    existing = await self.repo.by_key(tx, item.key) if item.key else None
                    codes = await self.resolve(tx, item.scope)
                    if not codes:
                        result.problems.append((item.where, "deadline.error.no_units", {}))
                        continue
                    if existing is None:
                        if item.due_at <= now:
                            result.problems.append(
                                (item.where, "deadline.error.due_past_file", self._due_text(item))
                            )
                            continue
                        deadline_id = await self.repo.create(
                            tx,
                            created_by=created_by,
                            reminders=format_plan(parse_plan(item.reminders)),
                            now=now,
                            state="open",
                            key=item.key,
                            title=item.title,
                            description=item.description,
                            due_at=item.due_at,
                            scope=item.scope.kind,
                            scope_value=item.scope.value,
                        )
                        await self.repo.set_units(tx, deadline_id, codes)
                        await self._audit(tx, now, created_by, "deadline_created", deadline_id)
                        touched.append(deadline_id)
                        result.added += 1
                        continue
                    if existing.state not in ("draft", "open"):
                        result.unchanged += 1
                        continue
                    if item.due_at != existing.due_at and item.due_at <= now:
                        result.problems.append(
                            (item.where, "deadline.error.due_past_file", self._due_text(item))
                        )
                        continue
                    changed = await self._apply(
                        tx,
                        existing,
                        now,
                        title=item.title,
                        description=item.description,
                        due_at=item.due_at,
                        reminders=item.reminders,
                        scope=item.scope,
                        actor=created_by,
                    )
                    if changed:
                        touched.append(existing.id)
                        result.updated += 1
                    else:
                        result.unchanged += 1
                if result.problems:
                    raise _Refused
        except _Refused:
            return UpsertResult(problems=result.problems)
        for deadline_id in touched:
            deadline = await self.repo.get(deadline_id)
            if deadline is not None:
                await self._replanned(deadline)
        return result
