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
