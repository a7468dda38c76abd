"""Addresses in the core: a chat on one channel, with the channel's own id as a string."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChatRef:
    """A private conversation on one channel ("telegram", "zalo", "web"); ids are opaque text."""

    channel: str
    chat_id: str

    def __post_init__(self) -> None:
        if not isinstance(self.chat_id, str):  # an int here is a bug at the channel's edge
            raise TypeError(f"ChatRef.chat_id must be str, not {type(self.chat_id).__name__}")


@dataclass(frozen=True)
class Staff:
    """A member of the office acting on a surface: who, under which role, for the audit log."""

    actor: str  # as the audit log names them: "staff:lan", "telegram:123456"
    role: str = "clerk"  # admin, clerk or viewer
    name: str = ""

    @property
    def can_act(self) -> bool:
        return self.role in ("admin", "clerk")
