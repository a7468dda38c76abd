"""Time as the bot sees it: UTC instants, local dates, and a clock tests can move by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class Clock:
    """The real clock; every part of the bot asks this instead of datetime.now()."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(UTC)

    def local_now(self) -> datetime:
        return self.now().astimezone(self.tz)

    def today(self) -> date:
        return self.local_now().date()


class ManualClock(Clock):
    """A clock that stands still until a test moves it."""

    def __init__(self, tz: ZoneInfo, start: datetime) -> None:
        super().__init__(tz)
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


def format_local(moment: datetime, tz: ZoneInfo) -> str:
    """A moment as people in Vietnam read it, in local time: 26/11/2026 09:30."""
    return moment.astimezone(tz).strftime("%d/%m/%Y %H:%M")


def format_date(day: date) -> str:
    """Dates as people in Vietnam write them: 26/11/2026."""
    return day.strftime("%d/%m/%Y")


def days(n: int) -> timedelta:
    return timedelta(days=n)


@dataclass(frozen=True)
class QuietHours:
    """Local hours in which nobody is sent anything on the bot's own initiative."""

    start: time
    end: time

    @classmethod
    def parse(cls, spec: str) -> QuietHours:
        first, second = spec.split("-")
        return cls(time.fromisoformat(first), time.fromisoformat(second))

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def end_after(self, moment: datetime, tz: ZoneInfo) -> datetime:
        """The first instant at or after `moment` outside quiet hours."""
        local = moment.astimezone(tz)
        if not self.contains(local.time()):
            return moment
        end = datetime.combine(local.date(), self.end, tz)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(UTC)
