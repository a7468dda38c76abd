"""Record types of the in-memory sandbox model (users, chats, messages, files, callbacks)."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

BOT_FIRST_NAME = "ANTQ Bot"
MEDIA_KINDS = ("photo", "document", "video", "audio", "voice", "animation", "sticker", "video_note")


class Pulse:
    """Wakes every current waiter when fired; waiters re-check their condition afterwards."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def fire(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, timeout: float) -> bool:
        """Wait for the next fire() up to `timeout` seconds; True when fired."""
        if timeout <= 0:
            return False
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
            return True
        except TimeoutError:
            return False


@dataclass(slots=True)
class UserRecord:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "vi"
    blocked: bool = False

    def to_api(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def to_view(self) -> JSON:
        return {**self.to_api(), "user_id": self.id, "chat_id": self.id, "blocked": self.blocked}


@dataclass(slots=True)
class StoredMessage:
    message_id: int
    chat_id: int
    date: int
    from_bot: bool
    from_user_id: int
    kind: str = "text"
    text: str | None = None
    entities: list[JSON] | None = None
    caption: str | None = None
    caption_entities: list[JSON] | None = None
    raw: str | None = None
    parse_mode: str | None = None
    media: JSON = field(default_factory=dict)
    file_id: str | None = None
    reply_markup: JSON | None = None
    reply_to: int | None = None
    forward_origin: JSON | None = None
    edited: int = 0
    edit_date: int | None = None
    deleted: bool = False

    @property
    def body(self) -> str:
        return (self.text if self.text is not None else self.caption) or ""

    def to_view(self) -> JSON:
        """The sandbox (non-Bot-API) view: current state with edits applied."""
        is_html = (self.parse_mode or "").lower() == "html"
        file_name = None
        if self.kind in self.media and isinstance(self.media[self.kind], dict):
            file_name = self.media[self.kind].get("file_name")
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "from_bot": self.from_bot,
            "from_user_id": self.from_user_id,
            "kind": self.kind,
            "text": self.text,
            "html": self.raw if is_html else None,
            "raw": self.raw,
            "parse_mode": self.parse_mode,
            "caption": self.caption,
            "entities": self.entities if self.text is not None else self.caption_entities,
            "reply_markup": self.reply_markup,
            "reply_to_message_id": self.reply_to,
            "file_id": self.file_id,
            "file_name": file_name,
            "media": self.media or None,
            "forwarded": self.forward_origin is not None,
            "edited": self.edited,
            "deleted": self.deleted,
            "date": self.date,
        }


@dataclass(slots=True)
class ChatRecord:
    id: int
    type: str
    title: str | None = None
    user_id: int | None = None
    members: set[int] = field(default_factory=set)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    events: list[JSON] = field(default_factory=list)
    event_seqs: list[int] = field(default_factory=list)
    pulse: Pulse = field(default_factory=Pulse)
    sent_keys: set[tuple[str, str]] = field(default_factory=set)
    delivered: int = 0

    @property
    def is_group(self) -> bool:
        return self.type != "private"


@dataclass(slots=True)
class FileRecord:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    meta: JSON = field(default_factory=dict)
    sizes: list[str] = field(default_factory=list)

    def to_api(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            **self.meta,
        }


@dataclass(slots=True)
class CallbackRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    pulse: Pulse = field(default_factory=Pulse)

    def to_view(self) -> JSON:
        return {
            "callback_query_id": self.id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answered,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
        }


FAULT_KINDS = ("429", "500", "502", "slow", "drop", "lost")


@dataclass(slots=True)
class Fault:
    """An injected failure for the next `count` calls of `method` ("*" = any but getUpdates)."""

    method: str
    kind: str
    count: int = 1
    retry_after: int = 1
    delay: float = 1.0

    def to_view(self) -> JSON:
        return {
            "method": self.method,
            "kind": self.kind,
            "count": self.count,
            "retry_after": self.retry_after,
            "delay": self.delay,
        }


@dataclass(slots=True)
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(slots=True)
class Stats:
    methods: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    faults_injected: int = 0
    delivered: int = 0
    duplicates: int = 0
    updates_total: int = 0
    webhook_delivered: int = 0
    webhook_failures: int = 0


@dataclass(slots=True)
class PendingUpdate:
    update_id: int
    type: str
    payload: JSON
    chat_id: int | None


UpdateQueue = deque[PendingUpdate]
