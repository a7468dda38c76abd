"""What a channel can do, the port every channel adapter implements, and replies shaped to fit.

The core never depends on a capability only one channel has: edits and toasts are optimisations
of the Telegram adapter; every other channel gets the same feedback as ordinary messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from bot.chat.markup import split_text, to_plain, utf16_length
from bot.chat.ref import ChatRef
from bot.chat.reply import Reply


@dataclass(frozen=True)
class Capabilities:
    """A channel's limits and gestures, declared by its adapter."""

    edits: bool = False  # can replace a message it sent (Telegram)
    toasts: bool = False  # can answer a button press with a short pop-up (Telegram)
    max_buttons: int | None = None  # per message; None: no limit the core must respect
    max_text: int = 4096  # per message, in UTF-16 code units
    markup: Literal["html", "plain"] = "html"  # how the neutral markup is shown
    buttons_as_text: bool = False  # a press arrives as typed text (Zalo): payloads are sealed
    file_kinds: frozenset[str] = frozenset({"photo", "document", "video"})


class Channel(Protocol):
    """A channel adapter as the core sees it: a name, its capabilities, and a way to answer."""

    name: str
    capabilities: Capabilities

    async def send(self, chat_id: str, replies: list[Reply]) -> list[str]:
        """Deliver the replies in order; the channel's ids of the messages sent."""
        ...


def shaped(
    replies: list[Reply],
    capabilities: Capabilities,
    *,
    notice: str | None = None,
    more_label: str = "…",
    seal: Callable[[str], str] | None = None,
) -> list[Reply]:
    """Replies as a channel without toasts, rows or long messages can show them.

    A notice (a toast elsewhere) becomes a message of its own; text in the channel's markup is
    split at its length limit (buttons stay with the last piece); more buttons than it allows go
    on in further messages whose text is `more_label`; `seal` signs each button's data.
    """
    shown: list[Reply] = []
    if notice and not capabilities.toasts and not any(notice in r.text for r in replies):
        shown.append(Reply(notice))
    for reply in replies:
        text = to_plain(reply.text) if capabilities.markup == "plain" else reply.text
        pieces = split_text(text, capabilities.max_text, utf16_length) if text else [""]
        buttons = [
            replace(b, data=seal(b.data)) if seal and not b.url else b for b in reply.buttons
        ]
        limit = capabilities.max_buttons or max(len(buttons), 1)
        first, rest = buttons[:limit], buttons[limit:]
        shown += [Reply(piece) for piece in pieces[:-1]]
        shown.append(Reply(pieces[-1] or more_label, first))
        for start in range(0, len(rest), limit):
            shown.append(Reply(more_label, rest[start : start + limit]))
    return shown


def numbered(reply: Reply) -> str:
    """A reply's text with its buttons as a numbered list, for channels that show no buttons."""
    if not reply.buttons:
        return reply.text
    lines = [f"{number}. {button.label}" for number, button in enumerate(reply.buttons, 1)]
    return "\n".join([reply.text, "", *lines])


__all__ = ["Capabilities", "Channel", "ChatRef", "numbered", "shaped"]
