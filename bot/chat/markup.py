"""The neutral markup (<b>, <i>, <code> and HTML escapes) rendered for each kind of channel."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable

TAG = re.compile(r"</?(?:b|i|code)>")
ALLOWED_TAGS = ("b", "i", "code")


def escape(text: str) -> str:
    """A person's words, safe to put into the markup."""
    return html.escape(text, quote=False)


def to_plain(markup: str) -> str:
    """For channels that show plain text only (Zalo): tags dropped, escapes resolved."""
    return html.unescape(TAG.sub("", markup))


def utf16_length(text: str) -> int:
    """Length as Zalo and Telegram count it: UTF-16 code units (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


TEXT_LIMITS = {"telegram": 4096, "zalo": 2000}
"""The longest message each channel takes, in UTF-16 units of visible text (Telegram's 4,096
characters after its HTML is parsed; Zalo's 2,000). A channel not listed: Telegram's."""


def text_limit(channel: str | None) -> int:
    return TEXT_LIMITS.get(channel or "", TEXT_LIMITS["telegram"])


def visible_length(markup: str) -> int:
    """What a channel counts of a neutral markup text: tags nothing, an escape one character."""
    return utf16_length(to_plain(markup))


def shorten(text: str, budget: int) -> str:
    """Plain text within `budget` UTF-16 units, ending in "…" when it had to be cut."""
    if utf16_length(text) <= budget:
        return text
    if budget <= 0:
        return ""
    return _prefix_within(text, budget - 1, utf16_length).rstrip() + "…"


def share(lengths: dict[str, int], budget: int) -> dict[str, int]:
    """The fairest cut of `budget` among fields of these lengths: short fields keep all they
    have, the longest ones get an equal part of what is left (water-filling)."""
    granted: dict[str, int] = {}
    left = max(budget, 0)
    pending = sorted(lengths, key=lambda name: lengths[name])
    while pending:
        part = left // len(pending)
        name = pending[0]
        if lengths[name] <= part:
            granted[name] = lengths[name]
            left -= lengths[name]
            pending.pop(0)
            continue
        for name in pending:
            granted[name] = part
        break
    return granted


def split_text(text: str, limit: int, length: Callable[[str], int] = utf16_length) -> list[str]:
    """Cut plain text into pieces of at most `limit`, at a paragraph, a line or a space."""
    text = unicodedata.normalize("NFC", text)
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        if length(rest) <= limit:
            pieces.append(rest)
            break
        window = _prefix_within(rest, limit, length)
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > len(window) // 3:
                break
        if cut <= 0:
            cut = len(window)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return pieces or [""]


def _prefix_within(text: str, limit: int, length: Callable[[str], int]) -> str:
    low, high = 0, len(text)
    while low < high:  # the longest prefix whose length is within the limit
        middle = (low + high + 1) // 2
        if length(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low]
