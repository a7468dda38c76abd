"""The sandbox's clock: real time plus an offset the person moves forward with `:gio`."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.kernel.clock import Clock


class SandboxClock(Clock):
    """Runs like the real clock, `offset` ahead; the offset can be kept in a file so that a
    sandbox started again on the same database goes on at the moved time."""

    def __init__(self, tz: ZoneInfo, state_file: Path | None = None) -> None:
        super().__init__(tz)
        self.state_file = state_file
        self.offset = timedelta(0)
        if state_file is not None:
            try:
                self.offset = timedelta(seconds=float(state_file.read_text().strip()))
            except (OSError, ValueError):
                self.offset = timedelta(0)
            self.offset = max(self.offset, timedelta(0))

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def move_to(self, moment: datetime) -> None:
        """Jump forward to `moment` (never back: what happened stays in the past)."""
        delta = moment.astimezone(UTC) - self.now()
        if delta > timedelta(0):
            self.offset += delta
            self._save()

    def _save(self) -> None:
        if self.state_file is not None:
            with contextlib.suppress(OSError):
                self.state_file.write_text(f"{self.offset.total_seconds():.3f}\n")


class BadMoment(ValueError):
    """`:gio` could not read the moment."""


WEEKDAYS = {  # unaccented, lower case, spaces removed -> Monday = 0
    "thuhai": 0,
    "t2": 0,
    "thu2": 0,
    "thuba": 1,
    "t3": 1,
    "thu3": 1,
    "thutu": 2,
    "t4": 2,
    "thu4": 2,
    "thunam": 3,
    "t5": 3,
    "thu5": 3,
    "thusau": 4,
    "t6": 4,
    "thu6": 4,
    "thubay": 5,
    "t7": 5,
    "thu7": 5,
    "chunhat": 6,
    "cn": 6,
}
UNITS = {
    "m": 60,
    "ph": 60,
    "phut": 60,
    "h": 3600,
    "g": 3600,
    "gio": 3600,
    "d": 86400,
    "n": 86400,
    "ngay": 86400,
    "w": 604800,
    "tuan": 604800,
}
_DELTA = re.compile(r"^\+\s*(\d{1,5})\s*([a-z]+)$")
_TIME = re.compile(r"(\d{1,2})[:h](\d{2})?$")
_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?$")
MAX_JUMP = timedelta(days=800)


def _plain(text: str) -> str:
    """Lower case, no diacritics (đ -> d), single spaces."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


def _clock_time(text: str) -> time:
    match = _TIME.match(text)
    if match is None:
        raise BadMoment(text)
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        raise BadMoment(text)
    return time(hour, minute)


def parse_moment(spec: str, now: datetime, tz: ZoneInfo) -> datetime:
    """Where `:gio <spec>` moves the clock, from `now`:

    `+2h`, `+30m`, `+3 ngay`, `+1 tuan`; `chu nhat 19:00` / `chủ nhật 19:00` / `t2 08:00` (the
    next such day and time); `27/11/2026 08:00`, `27/11 08:00` (this year, or the next if it
    has passed); `19:00` (today, or tomorrow if it has passed).
    """
    plain = _plain(spec)
    if not plain:
        raise BadMoment(spec)
    local = now.astimezone(tz)
    delta = _DELTA.match(plain.replace(" ", "") if plain.startswith("+") else plain)
    if delta is not None:
        unit = UNITS.get(delta.group(2))
        if unit is None:
            raise BadMoment(spec)
        jump = timedelta(seconds=int(delta.group(1)) * unit)
        if jump > MAX_JUMP:
            raise BadMoment(spec)
        return now + jump
    words = plain.split(" ")
    at = _clock_time(words[-1]) if _TIME.match(words[-1]) else None
    rest = words[:-1] if at is not None else words
    head = "".join(rest)
    if not rest:  # just a time of day
        assert at is not None
        moment = datetime.combine(local.date(), at, tz)
        return moment if moment > local else moment + timedelta(days=1)
    if head in WEEKDAYS:
        ahead = (WEEKDAYS[head] - local.weekday()) % 7
        moment = datetime.combine(local.date() + timedelta(days=ahead), at or time(8, 0), tz)
        return moment if moment > local else moment + timedelta(days=7)
    match = _DATE.match(head)
    if match is None:
        raise BadMoment(spec)
    day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
    try:
        if year is None:
            moment = datetime.combine(date(local.year, month, day), at or time(8, 0), tz)
            if moment <= local:
                moment = datetime.combine(date(local.year + 1, month, day), at or time(8, 0), tz)
        else:
            full = int(year) + (2000 if len(year) == 2 else 0)
            moment = datetime.combine(date(full, month, day), at or time(8, 0), tz)
    except ValueError:
        raise BadMoment(spec) from None
    if moment - local > MAX_JUMP:
        raise BadMoment(spec)
    return moment


WEEKDAY_NAMES = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def describe(moment: datetime, tz: ZoneInfo) -> str:
    """`Chủ nhật 06/12/2026 19:00`."""
    local = moment.astimezone(tz)
    return f"{WEEKDAY_NAMES[local.weekday()]} {local.strftime('%d/%m/%Y %H:%M')}"
