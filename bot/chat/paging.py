"""One way to page a long list of choices: which page, what it shows, and its two buttons."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.chat.reply import Button
from content.texts import Texts

Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    """The page shown (clamped to the pages there are), its items and where they start."""

    number: int
    last: int
    start: int
    items: Sequence[Item]


def page_of(items: Sequence[Item], page: int, size: int) -> Page[Item]:
    last = max(0, (len(items) - 1) // size)
    number = min(max(page, 0), last)
    start = number * size
    return Page(number, last, start, items[start : start + size])


def paging_buttons(
    texts: Texts, number: int, last: int, data: Callable[[int], str], row: int | None = None
) -> list[Button]:
    """« Trang trước / Trang sau » where there is a page before or after; `data(page)` opens it."""
    buttons = []
    if number > 0:
        buttons.append(Button(texts.raw("dialog.previous_page"), data(number - 1), row))
    if number < last:
        buttons.append(Button(texts.raw("dialog.next_page"), data(number + 1), row))
    return buttons
