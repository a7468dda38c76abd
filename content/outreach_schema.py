"""The weekly outreach library: one YAML file per school week, validated at start-up."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from content.texts import ContentError

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
        return self


def load_outreach(directory: Path) -> dict[date, OutreachItem]:
    """Every week of the library, by the Monday it belongs to; a bad file is a ContentError."""
    items: dict[date, OutreachItem] = {}
    for path in sorted(directory.glob("*/*.yaml")):
        try:
            item = OutreachItem.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as exc:
            raise ContentError(f"{path.name}: {exc}") from exc
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ContentError(f"outreach {path.parent.name}/{path.name}: {problems}") from None
        if path.stem != item.week_start.isoformat():
            raise ContentError(f"outreach {path.name}: file name must be {item.week_start}.yaml")
        items[item.week_start] = item
    return items
