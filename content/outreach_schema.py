"""The weekly outreach library: one YAML file per school week, validated at start-up."""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from content.texts import ContentError, Texts, fold

TELEGRAM_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "a",
    "blockquote",
    "tg-spoiler",
}
TELEGRAM_TEXT_LIMIT = 4096
TEACHER_WORDS = (300, 600)
PARENT_MAX_CHARS = 1000

TOPICS = {
    "traffic_safety": "An toàn giao thông",
    "online_fraud": "Lừa đảo qua mạng",
    "cyberbullying": "Bắt nạt trực tuyến, an toàn trên mạng",
    "school_violence": "Phòng, chống bạo lực học đường",
    "drugs": "Phòng, chống ma túy, thuốc lá điện tử",
    "gambling_loans": "Cờ bạc, cá độ, tín dụng đen",
    "state_secrets": "Bảo vệ bí mật nhà nước, sử dụng mạng xã hội an toàn",
    "fire_safety": "Phòng cháy, chữa cháy",
    "firecrackers": "An toàn dịp Tết, không sử dụng pháo nổ",
    "traditions": "Truyền thống vẻ vang của dân tộc, thành tựu đất nước",
    "drowning": "Phòng, chống đuối nước",
    "crime_prevention": "Phòng, chống tội phạm, tố giác tội phạm",
    "social_evils": "Phòng, chống tệ nạn xã hội",
    "law_education": "Giáo dục pháp luật",
    "child_abuse": "Phòng, chống xâm hại trẻ em",
    "safe_school": "Trường học “An toàn về an ninh, trật tự”",
    "fake_news": "Thông tin xấu độc, tin giả",
    "border_trafficking": "An ninh biên giới, phòng, chống mua bán người",
    "holiday": "Nghỉ",
}


class _TelegramHtml(HTMLParser):
    """Checks that a text uses only Telegram's tags, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []
        self.plain: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed by Telegram")
        if tag == "a" and not dict(attrs).get("href"):
            self.problems.append("<a> needs an href")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes nothing open")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.plain.append(data)


def check_telegram_html(text: str) -> tuple[str, list[str]]:
    """(the text as a person sees it, problems); a bare < or & must be written &lt; &amp;."""
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    problems = list(parser.problems)
    if parser.open:
        problems.append(f"unclosed tags: {parser.open}")
    if re.search(r"&(?![a-zA-Z]+;|#\d+;)", text):
        problems.append("a bare & must be written &amp;")
    return "".join(parser.plain), problems


class Quiz(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(min_length=10, max_length=300)
    answer: str = Field(min_length=1, max_length=500)


class OutreachItem(BaseModel):
    """One week: the Monday of its flag-raising session, a version for staff, one for parents."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    week_start: date
    holiday: bool = False
    topic: str
    title: str = Field(min_length=5, max_length=120)
    teacher: str | None = None  # Telegram HTML, to read out or adapt (300 to 600 words)
    parent: str | None = None  # Telegram HTML, at most 1,000 characters as read
    # For heads of primary schools and kindergartens, where the week's theme is not suitable as is:
    # what to read and what to leave out. Sent with the staff version to units of those kinds.
    primary_note: str | None = Field(default=None, min_length=20, max_length=600)
    # For staff only, shown above the text and not read out (e.g. a task for the unit's head).
    staff_note: str | None = Field(default=None, min_length=10, max_length=600)
    # Local material from the school year's file (year.yaml: local_notes), never from the week's.
    local_note: str | None = Field(default=None, max_length=600)
    quiz: Quiz | None = None
    sources: list[str] = Field(default_factory=list)

    @field_validator("week_start")
    @classmethod
    def _monday(cls, value: date) -> date:
        if value.weekday() != 0:
            raise ValueError(f"{value} is not a Monday")
        return value

    @field_validator("topic")
    @classmethod
    def _known_topic(cls, value: str) -> str:
        if value not in TOPICS:
            raise ValueError(f"unknown topic {value}; known: {sorted(TOPICS)}")
        return value

    @model_validator(mode="after")
    def _versions(self) -> OutreachItem:
        if self.holiday:
            if self.teacher or self.parent or self.quiz:
                raise ValueError("a holiday week carries no texts")
            return self
        if not self.teacher or not self.parent:
            raise ValueError("a teaching week needs both the teacher and the parent version")
        teacher, problems = check_telegram_html(self.teacher)
        parent, parent_problems = check_telegram_html(self.parent)
        if problems or parent_problems:
            raise ValueError(f"invalid Telegram HTML: {problems + parent_problems}")
        words = len(teacher.split())
        if not TEACHER_WORDS[0] <= words <= TEACHER_WORDS[1]:
            raise ValueError(f"teacher version has {words} words, expected 300 to 600")
        if len(teacher) > TELEGRAM_TEXT_LIMIT - 200:  # room for the title and buttons' text
            raise ValueError(
                f"teacher version is {len(teacher)} characters, too long for one message"
            )
        if len(parent) > PARENT_MAX_CHARS:
            raise ValueError(f"parent version is {len(parent)} characters, at most 1000")
        if not self.sources:
            raise ValueError("a teaching week names its sources")
        from content import style as house_style

        style = [f"teacher: {p}" for p in house_style.staff_problems(self.teacher)]
        style += [f"parent: {p}" for p in house_style.parent_problems(self.parent)]
        style += [f"teacher: {p}" for p in house_style.zalo_problems(self.teacher, long=True)]
        for name in ("parent", "primary_note", "staff_note", "title"):
            style += [f"{name}: {p}" for p in house_style.zalo_problems(getattr(self, name) or "")]
        if style:
            raise ValueError("; ".join(style))
        return self


YEAR_FILE = "year.yaml"
UNIT_KINDS_FILE = Path(__file__).parent / "data" / "unit_kinds.yaml"


@cache
def unit_kinds(path: Path = UNIT_KINDS_FILE) -> dict[str, tuple[str, ...]]:
    """Groups of unit kinds ('offices', 'primary'), as written in the unit list."""
    try:
        groups = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"{path.name}: {exc}") from exc
    if not isinstance(groups, dict) or not {"offices", "primary"} <= set(groups):
        raise ContentError(f"{path.name}: expected the groups offices and primary")
    return {name: tuple(str(kind) for kind in kinds) for name, kinds in groups.items()}


def is_primary(unit_kind: str | None) -> bool:
    return unit_kind is not None and fold(unit_kind) in {fold(k) for k in unit_kinds()["primary"]}


def staff_body(item: OutreachItem, texts: Texts, unit_kind: str | None = None) -> str:
    """The staff version: the staff note (not read out), the text, and the note for young pupils.

    The note for primary schools is added for a unit of a primary kind, and, labelled, when the
    unit is not known (a push to every unit); a secondary school's staff do not get it.
    """
    parts = []
    if item.staff_note:
        parts.append(texts.raw("outreach.staff_note", note=item.staff_note))
    parts.append(item.teacher or "")
    if item.local_note:
        parts.append(texts.raw("outreach.local_note", note=item.local_note))
    if item.primary_note and (unit_kind is None or is_primary(unit_kind)):
        parts.append(texts.raw("outreach.primary_note", note=item.primary_note))
    return "\n\n".join(parts)


class Holiday(BaseModel):
    """A day off (or a range of days) named in the school year's file."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=3, max_length=120)
    day: date | None = Field(default=None, alias="date")
    first: date | None = Field(default=None, alias="from")
    last: date | None = Field(default=None, alias="to")
    compensates: date | None = None  # a compensatory day off: the holiday that fell on a weekend

    @model_validator(mode="after")
    def _one_day_or_a_range(self) -> Holiday:
        if (self.day is None) == (self.first is None and self.last is None):
            raise ValueError(f"{self.name}: give either date, or from and to")
        if self.day is None and (self.first is None or self.last is None or self.first > self.last):
            raise ValueError(f"{self.name}: a range needs from <= to")
        return self

    @property
    def start(self) -> date:
        return self.day or self.first  # type: ignore[return-value]

    @property
    def end(self) -> date:
        return self.day or self.last  # type: ignore[return-value]

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


class SchoolYear(BaseModel):
    """The calendar settings of one school year (content/outreach/<year>/year.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^\d{4}-\d{4}$")
    first_week: date
    last_week: date
    holidays: list[Holiday] = Field(default_factory=list)
    after_last_week: str = Field(min_length=5, max_length=120)
    province: str | None = None  # the province this library is deployed in (local material)
    local_notes: dict[date, str] = Field(default_factory=dict)  # by week: after the staff text

    @field_validator("first_week", "last_week")
    @classmethod
    def _monday(cls, value: date) -> date:
        if value.weekday() != 0:
            raise ValueError(f"{value} is not a Monday")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> SchoolYear:
        if self.first_week >= self.last_week:
            raise ValueError("first_week must come before last_week")
        for holiday in self.holidays:
            if holiday.compensates and not any(
                other.covers(holiday.compensates) for other in self.holidays
            ):
                raise ValueError(f"{holiday.name}: compensates a day that is not a holiday")
        return self

    def holiday_on(self, day: date) -> Holiday | None:
        return next((h for h in self.holidays if h.covers(day)), None)

    def mondays(self) -> list[date]:
        """Every Monday from the first week to the last, sessions and holidays alike."""
        weeks, week = [], self.first_week
        while week <= self.last_week:
            weeks.append(week)
            week += timedelta(days=7)
        return weeks

    def session_weeks(self) -> list[date]:
        """The Mondays with a flag-raising session: in the year, not a holiday."""
        return [week for week in self.mondays() if self.holiday_on(week) is None]

    def off_reason(self, week: date) -> str | None:
        """Why the week's Monday has no session (a holiday's name, the end of the year), or None."""
        if week > self.last_week:
            return self.after_last_week
        holiday = self.holiday_on(week)
        return holiday.name if holiday else None


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors()
    )


def load_year(folder: Path) -> SchoolYear:
    path = folder / YEAR_FILE
    try:
        return SchoolYear.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"outreach {folder.name}/{YEAR_FILE}: {exc}") from exc
    except ValidationError as exc:
        raise ContentError(f"outreach {folder.name}/{YEAR_FILE}: {_problems(exc)}") from None


def load_years(directory: Path) -> dict[str, SchoolYear]:
    return {
        path.parent.name: load_year(path.parent)
        for path in sorted(directory.glob(f"*/{YEAR_FILE}"))
    }


def _day_off(week: date, reason: str) -> OutreachItem:
    return OutreachItem(week_start=week, holiday=True, topic="holiday", title=reason)


def load_outreach(directory: Path) -> dict[date, OutreachItem]:
    """Every week of the library, by the Monday it belongs to; a bad file is a ContentError.

    The school year's file decides which Mondays have a session: a week whose Monday is a holiday
    or comes after the last week is a day off (its text, if written, is kept in the file but not
    sent); a holiday Monday without a file gets a day-off item too.
    """
    items: dict[date, OutreachItem] = {}
    for folder in sorted(path for path in directory.iterdir() if path.is_dir()):
        year = load_year(folder) if (folder / YEAR_FILE).exists() else None
        for path in sorted(folder.glob("*.yaml")):
            if path.name == YEAR_FILE:
                continue
            try:
                item = OutreachItem.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
            except (OSError, yaml.YAMLError) as exc:
                raise ContentError(f"{path.name}: {exc}") from exc
            except ValidationError as exc:
                raise ContentError(
                    f"outreach {folder.name}/{path.name}: {_problems(exc)}"
                ) from None
            if path.stem != item.week_start.isoformat():
                raise ContentError(
                    f"outreach {path.name}: file name must be {item.week_start}.yaml"
                )
            if item.local_note:
                raise ContentError(f"outreach {path.name}: local_note belongs in {YEAR_FILE}")
            reason = year.off_reason(item.week_start) if year else None
            if reason:
                item = _day_off(item.week_start, reason)
            elif year and item.week_start in year.local_notes:
                item = item.model_copy(update={"local_note": year.local_notes[item.week_start]})
            items[item.week_start] = item
        if year is not None:
            for week in year.mondays():
                reason = year.off_reason(week)
                if reason and week not in items:
                    items[week] = _day_off(week, reason)
    return items
