"""Reminder plans of deadlines ("7 08:00, 3 08:00, 1 08:00, 0 07:00") and the day's slot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_PLAN = "7 08:00, 3 08:00, 1 08:00, 0 07:00"
BEFORE_AT = time(8, 0)  # the time of "n days before" when the clerk types only the days
DAY_AT = time(7, 0)  # the time of "the day itself" when the clerk types only 0
MAX_DAYS = 90
MAX_OFFSETS = 10

_PART = re.compile(r"^(\d{1,3})(?:\s*(?:ngày|ngay|d)?\s*(?:lúc|luc|@)?\s*(\d{1,2})[:hH](\d{2}))?$")
_CLOCK = re.compile(r"^([01]?\d|2[0-3])[:hH]([0-5]\d)$")


class PlanError(ValueError):
    """A reminder plan or a time that cannot be read; `key` names the text explaining why."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True, order=True)
class Offset:
    """A reminder `days` before the due date (0: the day itself), at a local time."""

    days: int
    at: time


def parse_clock(text: str) -> time:
    """'08:00' or '8h00' as a time of day."""
    match = _CLOCK.match(text.strip())
    if not match:
        raise PlanError("deadline.error.bad_time", value=text.strip())
    return time(int(match.group(1)), int(match.group(2)))


def parse_plan(text: str) -> tuple[Offset, ...]:
    """'7 08:00, 3 08:00, 1, 0 07:00' (days before, optional local time), newest last."""
    parts = [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]
    if not parts:
        raise PlanError("deadline.error.plan_empty")
    if len(parts) > MAX_OFFSETS:
        raise PlanError("deadline.error.plan_too_many", max=MAX_OFFSETS)
    offsets: dict[int, Offset] = {}
    for part in parts:
        match = _PART.match(part)
        if not match:
            raise PlanError("deadline.error.plan_part", value=part)
        days = int(match.group(1))
        if days > MAX_DAYS:
            raise PlanError("deadline.error.plan_too_far", value=part, max=MAX_DAYS)
        if match.group(2) is None:
            at = DAY_AT if days == 0 else BEFORE_AT
        else:
            hour, minute = int(match.group(2)), int(match.group(3))
            if hour > 23 or minute > 59:
                raise PlanError("deadline.error.plan_part", value=part)
            at = time(hour, minute)
        if days in offsets:
            raise PlanError("deadline.error.plan_duplicate", days=days)
        offsets[days] = Offset(days, at)
    return tuple(sorted(offsets.values(), reverse=True))


def format_plan(offsets: tuple[Offset, ...]) -> str:
    """The canonical text of a plan, as stored: '7 08:00, 3 08:00, 1 08:00, 0 07:00'."""
    return ", ".join(f"{o.days} {o.at.strftime('%H:%M')}" for o in offsets)


@dataclass(frozen=True)
class Slot:
    """The reminder of one local day: before the due time (days_left) or after (days_late)."""

    day: date
    moment: datetime  # UTC
    days_left: int  # days from this day to the due date (0: the due date itself)
    days_late: int  # 0 before the due time; 1, 2, ... the days after the due date

    @property
    def overdue(self) -> bool:
        return self.days_late > 0


@dataclass(frozen=True)
class Schedule:
    """Everything that decides when a deadline's reminders fall."""

    due: datetime  # UTC
    offsets: tuple[Offset, ...]
    overdue_at: time
    overdue_days: int
    tz: ZoneInfo

    def slot_on(self, day: date) -> Slot | None:
        """The reminder of `day`, if that local day has one."""
        due_day = self.due.astimezone(self.tz).date()
        if day <= due_day:
            left = (due_day - day).days
            for offset in self.offsets:
                if offset.days == left:
                    moment = _utc(day, offset.at, self.tz)
                    return Slot(day, moment, left, 0) if moment < self.due else None
            return None
        late = (day - due_day).days
        if late > self.overdue_days:
            return None
        return Slot(day, _utc(day, self.overdue_at, self.tz), 0, late)

    def before_due(self) -> list[Slot]:
        """The reminders before the due time, in order (the card shows them)."""
        due_day = self.due.astimezone(self.tz).date()
        slots = [self.slot_on(due_day - timedelta(days=o.days)) for o in self.offsets]
        return sorted((s for s in slots if s is not None), key=lambda s: s.moment)


def _utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tz).astimezone(UTC)
