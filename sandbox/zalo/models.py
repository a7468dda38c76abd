"""Records of the fake Zalo OA: people, sent messages, uploads, tokens, faults, counters, clock."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


def new_id() -> str:
    """A Zalo-style id: a decimal string above 2^63 (19-20 digits), so it never fits an int64."""
    return str(secrets.randbelow(10**20 - 2**63) + 2**63)


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(24)}"


class SimClock:
    """The fake's time in epoch seconds: frozen at `start` plus whatever a test advanced it by.

    With `follow_real_time` the clock also moves with the wall clock (standalone runs).
    """

    def __init__(self, start: float | None = None, *, follow_real_time: bool = False) -> None:
        self._start = time.time() if start is None else float(start)
        self._real_origin = time.time()
        self._offset = 0.0
        self.follow_real_time = follow_real_time

    def now(self) -> float:
        moved = time.time() - self._real_origin if self.follow_real_time else 0.0
        return self._start + self._offset + moved

    def now_ms(self) -> int:
        return int(round(self.now() * 1000))

    def advance(self, seconds: float) -> None:
        self._offset += float(seconds)

    def set(self, epoch_seconds: float) -> None:
        self._offset += float(epoch_seconds) - self.now()


@dataclass
class Person:
    """A simulated Zalo user as seen by this one OA."""

    user_id: str
    user_id_by_app: str
    display_name: str
    following: bool = True
    blocked: bool = False
    last_interaction: float = 0.0
    shared_info: JSON | None = None
    messages: list[JSON] = field(default_factory=list)  # what the OA sent, oldest first
    pulse: asyncio.Event = field(default_factory=asyncio.Event)

    def add_message(self, message: JSON) -> None:
        message["seq"] = len(self.messages)
        self.messages.append(message)
        self.pulse.set()
        self.pulse = asyncio.Event()

    def view(self) -> JSON:
        return {
            "user_id": self.user_id,
            "user_id_by_app": self.user_id_by_app,
            "display_name": self.display_name,
            "following": self.following,
            "blocked": self.blocked,
            "last_interaction": self.last_interaction,
            "messages": len(self.messages),
        }


@dataclass
class Upload:
    """An uploaded image (attachment_id) or file (token), kept so tests can inspect the bytes."""

    upload_id: str
    kind: str  # "image" | "file"
    filename: str
    content_type: str
    data: bytes
    created: float

    def view(self) -> JSON:
        return {
            "id": self.upload_id,
            "kind": self.kind,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
            "created": self.created,
        }


@dataclass
class Media:
    """A file a simulated person sent; the fake serves it at /media/<id> for the bot to download."""

    media_id: str
    content_type: str
    filename: str
    data: bytes


@dataclass
class AccessToken:
    value: str
    expires_at: float


@dataclass
class RefreshToken:
    value: str
    expires_at: float
    used: bool = False


@dataclass
class Fault:
    """The next `count` calls of `method` (or "*") answer `code`, or wait `delay` seconds first."""

    method: str
    count: int
    code: int | None = None
    delay: float = 0.0

    def view(self) -> JSON:
        return {"method": self.method, "count": self.count, "code": self.code, "delay": self.delay}


@dataclass
class Stats:
    cs_free: int = 0
    cs_billed: int = 0
    templates: int = 0
    broadcasts: int = 0
    broadcast_recipients: int = 0
    refreshes: int = 0
    uploads: int = 0
    user_details: int = 0
    faults_injected: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    webhook_attempts: int = 0
    webhook_failures: int = 0
    webhook_answer_times: list[float] = field(default_factory=list)

    def view(self) -> JSON:
        return {
            "cs_free": self.cs_free,
            "cs_billed": self.cs_billed,
            "templates": self.templates,
            "broadcasts": self.broadcasts,
            "broadcast_recipients": self.broadcast_recipients,
            "refreshes": self.refreshes,
            "uploads": self.uploads,
            "user_details": self.user_details,
            "faults_injected": self.faults_injected,
            "calls": dict(self.calls),
            "errors": {str(code): n for code, n in self.errors.items()},
            "webhook_attempts": self.webhook_attempts,
            "webhook_failures": self.webhook_failures,
            "webhook_answer_times": list(self.webhook_answer_times),
        }
