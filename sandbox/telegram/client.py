"""Async client for the sandbox control API: SandboxClient and simulated people (SimUser)."""

from __future__ import annotations

import asyncio
import base64
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from sandbox.telegram.transport import AiohttpTransport

JSON = dict[str, Any]
REPLY_EVENTS = ("send", "edit")


class SandboxError(RuntimeError):
    """The control API answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"sandbox error {status}: {message}")
        self.status = status
        self.message = message


class NoReplyError(AssertionError, TimeoutError):
    """No bot reply arrived in time; the message carries the chat transcript."""


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str | None = None
    url: str | None = None


@dataclass(slots=True)
class BotMessage:
    """A bot message as a user sees it at one event (send or edit)."""

    message_id: int
    text: str | None
    html: str | None
    buttons: list[list[Button]]
    kind: str
    edited: int
    chat_id: int = 0
    event: str = "send"
    seq: int = 0
    caption: str | None = None
    file_id: str | None = None
    file_name: str | None = None
    keyboard: list[list[str]] = field(default_factory=list)
    raw: JSON = field(default_factory=dict)

    @classmethod
    def from_view(cls, view: JSON, event: str = "send", seq: int = 0) -> BotMessage:
        markup = view.get("reply_markup") or {}
        buttons = [
            [Button(str(b.get("text", "")), b.get("callback_data"), b.get("url")) for b in row]
            for row in markup.get("inline_keyboard", [])
        ]
        keyboard = [
            [b if isinstance(b, str) else str(b.get("text", "")) for b in row]
            for row in markup.get("keyboard", [])
        ]
        text = view.get("text")
        return cls(
            message_id=view["message_id"],
            text=text if text is not None else view.get("caption"),
            html=view.get("html"),
            buttons=buttons,
            kind=view.get("kind", "text"),
            edited=view.get("edited", 0),
            chat_id=view.get("chat_id", 0),
            event=event,
            seq=seq,
            caption=view.get("caption"),
            file_id=view.get("file_id"),
            file_name=view.get("file_name"),
            keyboard=keyboard,
            raw=view,
        )

    @property
    def labels(self) -> list[str]:
        return [b.label for row in self.buttons for b in row]

    def button(self, label: str) -> Button:
        """The inline button `label` (exact, then case-insensitive prefix)."""
        flat = [b for row in self.buttons for b in row]
        for candidate in flat:
            if candidate.label == label:
                return candidate
        wanted = label.casefold()
        for candidate in flat:
            if candidate.label.casefold().startswith(wanted):
                return candidate
        raise AssertionError(f"no button {label!r} on message {self.message_id}: {self.labels}")


def format_transcript(messages: list[JSON]) -> str:
    lines = []
    for msg in messages:
        who = "bot" if msg.get("from_bot") else f"user {msg.get('from_user_id')}"
        body = msg.get("text") if msg.get("text") is not None else msg.get("caption")
        flags = (" (deleted)" if msg.get("deleted") else "") + (
            f" (edited x{msg['edited']})" if msg.get("edited") else ""
        )
        line = f"  #{msg.get('message_id')} [{who}] {msg.get('kind')}: {body!r}{flags}"
        rows = (msg.get("reply_markup") or {}).get("inline_keyboard") or []
        if rows:
            line += f" buttons={[b.get('text') for row in rows for b in row]}"
        lines.append(line)
    return "\n".join(lines) or "  (no messages)"


class SandboxClient:
    """Owns an httpx.AsyncClient talking to a sandbox server's control API."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        max_connections: int = 1000,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, pool=None),
            transport=transport or AiohttpTransport(max_connections),
            trust_env=False,
        )

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        wait: float = 0.0,
    ) -> Any:
        """Call the control API; `wait` extends the timeout for long polls."""
        response = await self._http.request(
            method,
            path,
            json=json,
            params=params,
            timeout=httpx.Timeout(self.timeout + wait, pool=None),
        )
        if response.status_code >= 400:
            try:
                message = response.json().get("error") or response.text
            except ValueError:
                message = response.text
            raise SandboxError(response.status_code, message)
        return response.json()

    async def health(self) -> bool:
        return bool((await self.request("GET", "/sandbox/health")).get("ok"))

    # --- people ---------------------------------------------------------------------------

    async def create_user(
        self,
        first_name: str = "Test",
        *,
        user_id: int | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
    ) -> SimUser:
        body: JSON = {"first_name": first_name, "language_code": language_code}
        for key, value in (("user_id", user_id), ("last_name", last_name), ("username", username)):
            if value is not None:
                body[key] = value
        return SimUser(self, await self.request("POST", "/sandbox/users", json=body))

    def user(self, user_id: int, first_name: str = "") -> SimUser:
        """A handle on an existing simulated user (no request made)."""
        return SimUser(self, {"id": user_id, "first_name": first_name})

    async def users(self) -> list[JSON]:
        return _list(await self.request("GET", "/sandbox/users"))

    async def create_group(
        self,
        title: str,
        members: list[int | SimUser] | None = None,
        *,
        chat_id: int | None = None,
        chat_type: str = "supergroup",
    ) -> int:
        ids = [m.id if isinstance(m, SimUser) else int(m) for m in members or []]
        body: JSON = {"title": title, "members": ids, "type": chat_type}
        if chat_id is not None:
            body["chat_id"] = chat_id
        return int((await self.request("POST", "/sandbox/groups", json=body))["id"])

    async def add_member(self, chat_id: int, user: int | SimUser) -> None:
        uid = user.id if isinstance(user, SimUser) else int(user)
        await self.request("POST", f"/sandbox/groups/{chat_id}/members", json={"user_id": uid})

    # --- observation ----------------------------------------------------------------------

    async def chats(self) -> list[JSON]:
        return _list(await self.request("GET", "/sandbox/chats"))

    async def messages(self, chat_id: int) -> list[JSON]:
        return _list(await self.request("GET", f"/sandbox/chats/{chat_id}/messages"))

    async def events(
        self, chat_id: int, after: int = 0, timeout: float = 0.0, limit: int = 1000
    ) -> JSON:
        params = {"after": after, "timeout": timeout, "limit": limit}
        path = f"/sandbox/chats/{chat_id}/events"
        return _dict(await self.request("GET", path, params=params, wait=timeout))

    async def callback(self, callback_query_id: str, timeout: float = 0.0) -> JSON:
        path = f"/sandbox/callbacks/{callback_query_id}"
        return _dict(await self.request("GET", path, params={"timeout": timeout}, wait=timeout))

    async def commands(self) -> list[JSON]:
        return _list(await self.request("GET", "/sandbox/commands"))

    async def stats(self) -> JSON:
        return _dict(await self.request("GET", "/sandbox/stats"))

    async def clear_stats(self) -> JSON:
        return _dict(await self.request("DELETE", "/sandbox/stats"))

    async def deliveries(self) -> JSON:
        return _dict(await self.request("GET", "/sandbox/stats/deliveries"))

    # --- knobs ----------------------------------------------------------------------------

    async def set_fault(
        self,
        method: str,
        kind: str,
        count: int = 1,
        *,
        retry_after: int | None = None,
        delay: float | None = None,
    ) -> list[JSON]:
        body: JSON = {"method": method, "kind": kind, "count": count}
        if retry_after is not None:
            body["retry_after"] = retry_after
        if delay is not None:
            body["delay"] = delay
        return _list((await self.request("POST", "/sandbox/faults", json=body))["faults"])

    async def faults(self) -> list[JSON]:
        return _list((await self.request("GET", "/sandbox/faults"))["faults"])

    async def clear_faults(self) -> None:
        await self.request("DELETE", "/sandbox/faults")

    async def limits(self) -> JSON:
        return _dict(await self.request("GET", "/sandbox/limits"))

    async def set_limits(self, **changes: Any) -> JSON:
        return _dict(await self.request("POST", "/sandbox/limits", json=changes))

    async def sends(self) -> JSON:
        """Accepted flood-limited calls: {"times": [clock seconds], "chats": [chat id]}."""
        return _dict(await self.request("GET", "/sandbox/sends"))

    async def reset(self, limits: JSON | None = None) -> None:
        await self.request("POST", "/sandbox/reset", json={"limits": limits} if limits else {})


class SimUser:
    """A simulated person; keeps its own event cursor per chat."""

    def __init__(self, client: SandboxClient, info: JSON) -> None:
        self.client = client
        self.info = info
        self.id: int = int(info["id"])
        self.first_name: str = str(info.get("first_name") or "")
        self.username: str | None = info.get("username")
        self.chat_id: int = self.id
        self._cursors: dict[int, int] = {}
        self._buffers: dict[int, deque[JSON]] = {}

    def __repr__(self) -> str:
        return f"SimUser(id={self.id}, first_name={self.first_name!r})"

    async def _post(self, action: str, body: JSON, chat_id: int | None) -> JSON:
        if chat_id is not None:
            body["chat_id"] = chat_id
        path = f"/sandbox/users/{self.id}/{action}"
        return _dict(await self.client.request("POST", path, json=body))

    # --- acting ---------------------------------------------------------------------------

    async def send(
        self, text: str, *, chat_id: int | None = None, reply_to: int | None = None
    ) -> JSON:
        """Send text (or a /command); returns {message_id, update_id, chat_id}."""
        body: JSON = {"text": text}
        if reply_to is not None:
            body["reply_to_message_id"] = reply_to
        return await self._post("send", body, chat_id)

    async def press(
        self, label: str, *, chat_id: int | None = None, message_id: int | None = None
    ) -> str:
        """Press an inline button by label on the newest bot message having it."""
        body: JSON = {"label": label}
        if message_id is not None:
            body["message_id"] = message_id
        try:
            result = await self._post("press", body, chat_id)
        except SandboxError as exc:
            if exc.status >= 500:
                raise
            raise AssertionError(exc.message) from None
        return str(result["callback_query_id"])

    async def press_data(self, message_id: int, data: str, *, chat_id: int | None = None) -> str:
        """Send a callback query with arbitrary (even forged) data."""
        result = await self._post("press", {"message_id": message_id, "data": data}, chat_id)
        return str(result["callback_query_id"])

    async def send_photo(
        self,
        content: bytes | None = None,
        *,
        caption: str | None = None,
        width: int | None = None,
        height: int | None = None,
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> JSON:
        body: JSON = {"caption": caption, "width": width, "height": height}
        if reply_to is not None:
            body["reply_to_message_id"] = reply_to
        return await self._post("photo", _with_content(body, content), chat_id)

    async def send_document(
        self,
        file_name: str,
        mime_type: str,
        content: bytes,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> JSON:
        body: JSON = {"file_name": file_name, "mime_type": mime_type, "caption": caption}
        return await self._post("document", _with_content(body, content), chat_id)

    async def send_video(
        self,
        content: bytes | None = None,
        *,
        file_name: str = "video.mp4",
        mime_type: str = "video/mp4",
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> JSON:
        body: JSON = {"file_name": file_name, "mime_type": mime_type, "caption": caption}
        return await self._post("video", _with_content(body, content), chat_id)

    async def send_voice(
        self, content: bytes | None = None, *, duration: int = 1, chat_id: int | None = None
    ) -> JSON:
        return await self._post("voice", _with_content({"duration": duration}, content), chat_id)

    async def send_sticker(self, emoji: str = "😀", *, chat_id: int | None = None) -> JSON:
        return await self._post("sticker", {"emoji": emoji}, chat_id)

    async def send_location(
        self, latitude: float, longitude: float, *, chat_id: int | None = None
    ) -> JSON:
        return await self._post("location", {"latitude": latitude, "longitude": longitude}, chat_id)

    async def send_contact(
        self, phone_number: str, *, first_name: str | None = None, chat_id: int | None = None
    ) -> JSON:
        body: JSON = {"phone_number": phone_number, "first_name": first_name}
        return await self._post("contact", body, chat_id)

    async def block(self, blocked: bool = True) -> None:
        await self._post("block", {"blocked": blocked}, None)

    async def unblock(self) -> None:
        await self.block(False)

    # --- observing ------------------------------------------------------------------------

    async def _fetch(self, chat: int, timeout: float) -> int:
        data = await self.client.events(chat, after=self._cursors.get(chat, 0), timeout=timeout)
        self._buffers.setdefault(chat, deque()).extend(data["events"])
        self._cursors[chat] = max(self._cursors.get(chat, 0), int(data["last_seq"]))
        return len(data["events"])

    async def next_reply(self, timeout: float = 5.0, *, chat_id: int | None = None) -> BotMessage:
        """The next bot send/edit in the chat after this user's cursor."""
        chat = self.chat_id if chat_id is None else chat_id
        buffer = self._buffers.setdefault(chat, deque())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            while buffer:
                event = buffer.popleft()
                if event["type"] in REPLY_EVENTS:
                    return BotMessage.from_view(event["message"], event["type"], event["seq"])
            remaining = deadline - loop.time()
            got = await self._fetch(chat, max(0.0, remaining))
            if not got and loop.time() >= deadline:
                transcript = format_transcript(await self.client.messages(chat))
                raise NoReplyError(
                    f"no bot reply in chat {chat} within {timeout:g}s; transcript:\n{transcript}"
                )

    async def replies(
        self, n: int, timeout: float = 5.0, *, chat_id: int | None = None
    ) -> list[BotMessage]:
        """The next `n` bot sends/edits, all within `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        result = []
        for _ in range(n):
            remaining = max(0.0, deadline - loop.time())
            result.append(await self.next_reply(remaining, chat_id=chat_id))
        return result

    async def drain(self, *, chat_id: int | None = None) -> None:
        """Skip everything the bot did in the chat so far."""
        chat = self.chat_id if chat_id is None else chat_id
        while await self._fetch(chat, 0.0) >= 1000:
            pass
        self._buffers[chat].clear()

    async def transcript(self, *, chat_id: int | None = None) -> list[JSON]:
        """Every message in the chat (both directions), edits applied."""
        return await self.client.messages(self.chat_id if chat_id is None else chat_id)

    async def callback_answer(self, callback_query_id: str, timeout: float = 5.0) -> JSON:
        """Wait until the bot answers the callback query; returns {answered, text, show_alert}."""
        return await self.client.callback(callback_query_id, timeout=timeout)


def _dict(value: Any) -> JSON:
    if not isinstance(value, dict):
        raise SandboxError(200, f"expected a JSON object, got {value!r}")
    return value


def _list(value: Any) -> list[JSON]:
    if not isinstance(value, list):
        raise SandboxError(200, f"expected a JSON array, got {value!r}")
    return value


def _with_content(body: JSON, content: bytes | None) -> JSON:
    clean = {k: v for k, v in body.items() if v is not None}
    if content is not None:
        clean["content_b64"] = base64.b64encode(content).decode()
    return clean
