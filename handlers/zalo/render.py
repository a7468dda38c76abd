"""Neutral markup and flat buttons rendered as Zalo CS messages: plain text, ≤ 2,000 UTF-16 units,
at most 5 buttons a message, and a non-empty text on every message that carries buttons.

More than 5 buttons: the message keeps the first 4 and the rest follow at once in further
messages whose text is `zalo.more` ("Xem thêm"), 5 to a message (4 while more than 5 remain).
Nothing is kept between messages, so no extra payload needs handling.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from content.texts import Texts

MAX_UNITS = 2000
MAX_BUTTONS = 5
MORE_KEY = "zalo.more"
_TAG = re.compile(r"</?(?:b|i|code)>")


@dataclass(frozen=True)
class ZaloButton:
    title: str
    payload: str
    kind: str = "query"  # query | show | url | phone

    def as_tuple(self) -> tuple[str, str, str]:
        return (self.title, self.kind, self.payload)


@dataclass(frozen=True)
class ZaloMessage:
    text: str
    buttons: list[ZaloButton] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Code units in UTF-16 (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def to_plain(markup: str) -> str:
    """`<b>`, `<i>`, `<code>` dropped, HTML escapes undone, NFC."""
    return unicodedata.normalize("NFC", html.unescape(_TAG.sub("", markup)))


def _cut(text: str, limit: int) -> tuple[str, str]:
    """The longest head within `limit` units, ending at a paragraph, line or space if possible."""
    units = 0
    end = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            break
        end = index + 1
    end = max(end, 1)  # a limit below one character still makes progress
    head = text[:end]
    for sep in ("\n\n", "\n", " "):
        at = head.rfind(sep)
        if at > 0:
            return text[:at].rstrip(), text[at + len(sep) :].lstrip()
    return head, text[end:]


def split_text(text: str, limit: int = MAX_UNITS) -> list[str]:
    """NFC text in pieces of at most `limit` UTF-16 units, cut at the gentlest boundary."""
    text = unicodedata.normalize("NFC", text).strip()
    pieces: list[str] = []
    while utf16_len(text) > limit:
        head, text = _cut(text, limit)
        if head:
            pieces.append(head)
    if text:
        pieces.append(text)
    return pieces


def _pages(buttons: Sequence[ZaloButton]) -> list[list[ZaloButton]]:
    rest = list(buttons)
    pages: list[list[ZaloButton]] = []
    while len(rest) > MAX_BUTTONS:
        pages.append(rest[: MAX_BUTTONS - 1])
        rest = rest[MAX_BUTTONS - 1 :]
    if rest:
        pages.append(rest)
    return pages


def layout(
    markup: str,
    buttons: Sequence[ZaloButton],
    texts: Texts,
    limit: int = MAX_UNITS,
) -> list[ZaloMessage]:
    """The messages one reply becomes, in the order they must be sent."""
    for button in buttons:
        if not button.title.strip() or not button.payload.strip():
            raise ValueError("a Zalo button needs a title and a payload")
    pieces = split_text(to_plain(markup), limit)
    pages = _pages(buttons)
    if not pieces:
        if not pages:
            return []
        pieces = [to_plain(texts.raw(MORE_KEY))]
    messages = [ZaloMessage(piece) for piece in pieces[:-1]]
    messages.append(ZaloMessage(pieces[-1], pages[0] if pages else []))
    more = to_plain(texts.raw(MORE_KEY))
    messages.extend(ZaloMessage(more, page) for page in pages[1:])
    return messages
