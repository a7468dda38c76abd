"""Every text a person can read, with where it comes from, the day it is read and its channels.

Used by the schema checks at load time and by the tests that keep the content right next year
(laws in force, dates and weekdays, channels, house style).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from content.texts import CHANNELS, Texts, split_variant

if TYPE_CHECKING:
    from content import Content

# Texts read only in a terminal, in the office's tools or in Telegram's own menus: never on Zalo.
NOT_ON_ZALO = (
    "cli.",
    "config.",
    "terminal.",
    "security.key.",
    "units_import.",
    "deadlines_import.",
    "commands.",
    "invite.cli.",
    "invite.file.",
    "web.",  # the web pages and the office's console: read in a browser
)


@dataclass(frozen=True)
class Piece:
    where: str  # "texts tip.intro@zalo", "outreach 2026-09-07 teacher"
    text: str  # as written: neutral markup (<b>, <i>, <code>, escapes)
    channels: frozenset[str]  # the channels it can reach
    read_on: date | None = None  # the day it is read (outreach); None: any day the bot runs
    long: bool = False  # may be split at blank lines on Zalo (outreach staff versions)


def text_channels(texts: Texts, key: str) -> frozenset[str]:
    """A variant reaches its channel; a plain key every channel that has no variant of its own."""
    base, channel = split_variant(key)
    if channel is not None:
        return frozenset({channel})
    channels = set(CHANNELS) - set(texts.variants(base))
    if base.startswith(NOT_ON_ZALO):
        channels.discard("zalo")
    return frozenset(channels)


def text_pieces(texts: Texts) -> Iterator[Piece]:
    for key in texts:
        yield Piece(f"texts {key}", texts.template(key), text_channels(texts, key))


def outreach_pieces(bundle: Content) -> Iterator[Piece]:
    every = frozenset(CHANNELS)
    for week, item in sorted(bundle.outreach.items()):
        name = f"outreach {week.isoformat()}"
        yield Piece(f"{name} title", item.title, every, week)
        if item.teacher:
            yield Piece(f"{name} teacher", item.teacher, every, week, long=True)
        if item.local_note:
            yield Piece(f"{name} local_note", item.local_note, every, week)
        if item.staff_note:
            yield Piece(f"{name} staff_note", item.staff_note, every, week)
        if item.primary_note:
            yield Piece(f"{name} primary_note", item.primary_note, every, week)
        if item.parent:
            yield Piece(f"{name} parent", item.parent, every, week)
        if item.quiz:
            yield Piece(f"{name} quiz", f"{item.quiz.question}\n{item.quiz.answer}", every, week)
        for source in item.sources:
            yield Piece(f"{name} source", source, frozenset(), week)


def category_pieces(bundle: Content) -> Iterator[Piece]:
    for category in bundle.categories.values():
        yield Piece(f"category {category.code}", category.label, frozenset(CHANNELS))


def all_pieces(bundle: Content) -> list[Piece]:
    """Bot texts, outreach weeks (with their sources, which no one receives) and categories."""
    return [*text_pieces(bundle.texts), *outreach_pieces(bundle), *category_pieces(bundle)]
