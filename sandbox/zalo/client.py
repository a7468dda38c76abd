"""Async client of the control API: ZaloSandboxClient and simulated people (ZaloSimUser)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp

JSON = dict[str, Any]


class ZaloSandboxError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"zalo sandbox error {status}: {message}")
        self.status = status
        self.message = message


class NoMessageError(AssertionError, TimeoutError):
    """No OA message arrived in time."""


@dataclass(frozen=True, slots=True)
class OaButton:
    title: str
    type: str
    payload: Any


@dataclass(slots=True)
class OaMessage:
    """A message the OA sent to a person, as that person sees it."""

    seq: int
    kind: str  # text | image | file | template | article
    text: str
    buttons: list[OaButton]
    message_id: str
    via: str  # cs | template | broadcast
    billed: bool = False
    upload_id: str | None = None
    filename: str | None = None
    template_id: str | None = None
    raw: JSON = field(default_factory=dict)

    @classmethod
    def from_view(cls, view: JSON) -> OaMessage:
        return cls(
            seq=int(view["seq"]),
            kind=str(view.get("kind", "text")),
            text=str(view.get("text") or ""),
            buttons=[
                OaButton(b["title"], b["type"], b["payload"]) for b in view.get("buttons", [])
            ],
            message_id=str(view["message_id"]),
            via=str(view.get("via", "cs")),
            billed=bool(view.get("billed", False)),
            upload_id=view.get("upload_id"),
            filename=view.get("filename"),
            template_id=view.get("template_id"),
            raw=view,
        )

    @property
    def titles(self) -> list[str]:
        return [b.title for b in self.buttons]


class ZaloSandboxClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ZaloSandboxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, body: JSON | None = None, **query: Any) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        params = {k: str(v) for k, v in query.items()}
        async with self._session.request(
            method, self.base_url + path, json=body, params=params or None
        ) as response:
            payload = await response.json(content_type=None)
            if response.status >= 400:
                message = payload.get("error") if isinstance(payload, dict) else str(payload)
                raise ZaloSandboxError(response.status, str(message))
            return payload

    # --- server-wide --------------------------------------------------------------------

    async def configure(self, **values: Any) -> JSON:
        result: JSON = await self.request("POST", "/sandbox/config", values)
        return result

    async def advance(self, seconds: float) -> float:
        return float((await self.request("POST", "/sandbox/clock", {"advance": seconds}))["now"])

    async def set_clock(self, epoch_seconds: float) -> float:
        return float((await self.request("POST", "/sandbox/clock", {"set": epoch_seconds}))["now"])

    async def now(self) -> float:
        return float((await self.request("GET", "/sandbox/clock"))["now"])

    async def grant(self) -> JSON:
        """A fresh token pair, as after an administrator grants the OA to the app."""
        result: JSON = await self.request("POST", "/sandbox/oauth/grant")
        return result

    async def expire_tokens(self) -> None:
        await self.request("POST", "/sandbox/tokens/expire")

    async def revoke_refresh_tokens(self) -> None:
        await self.request("POST", "/sandbox/tokens/revoke")

    async def fail_next(
        self, method: str, code: int | None = None, count: int = 1, delay: float = 0.0
    ) -> None:
        """The next `count` calls of `method` (message_cs, access_token, upload_image, ...)."""
        body = {"method": method, "code": code, "count": count, "delay": delay}
        await self.request("POST", "/sandbox/faults", body)

    async def clear_faults(self) -> None:
        await self.request("DELETE", "/sandbox/faults")

    async def set_webhook(self, url: str | None, secret: str | None = None) -> None:
        body: JSON = {"url": url}
        if secret is not None:
            body["secret"] = secret
        await self.request("POST", "/sandbox/webhook", body)

    async def flush_webhook(self) -> int:
        return int((await self.request("POST", "/sandbox/webhook/flush"))["pending"])

    async def webhook_attempts(self) -> list[JSON]:
        result: list[JSON] = await self.request("GET", "/sandbox/webhook/attempts")
        return result

    async def webhook_events(self) -> list[JSON]:
        result: list[JSON] = await self.request("GET", "/sandbox/webhook/events")
        return result

    async def add_article(self, title: str) -> str:
        return str(
            (await self.request("POST", "/sandbox/articles", {"title": title}))["article_id"]
        )

    async def upload(self, upload_id: str) -> tuple[JSON, bytes]:
        view: JSON = await self.request("GET", f"/sandbox/uploads/{upload_id}")
        return view, base64.b64decode(view.pop("content_b64"))

    async def stats(self) -> JSON:
        result: JSON = await self.request("GET", "/sandbox/stats")
        return result

    async def create_person(
        self, display_name: str = "Nguyễn Văn An", *, follow: bool = True
    ) -> ZaloSimUser:
        view = await self.request(
            "POST", "/sandbox/people", {"display_name": display_name, "follow": follow}
        )
        return ZaloSimUser(self, view["user_id"], view["user_id_by_app"], display_name)


class ZaloSimUser:
    """A simulated person: acts through the control API, reads what the OA sent them."""

    def __init__(
        self, client: ZaloSandboxClient, user_id: str, user_id_by_app: str, display_name: str
    ) -> None:
        self.client = client
        self.user_id = user_id
        self.user_id_by_app = user_id_by_app
        self.display_name = display_name
        self.cursor = 0  # messages before this index have been read by next_message()

    async def _act(self, action: str, body: JSON | None = None) -> JSON:
        result: JSON = await self.client.request(
            "POST", f"/sandbox/people/{self.user_id}/{action}", body or {}
        )
        return result

    async def follow(self) -> JSON:
        return await self._act("follow")

    async def unfollow(self) -> JSON:
        return await self._act("unfollow")

    async def block(self, blocked: bool = True) -> JSON:
        return await self._act("block", {"blocked": blocked})

    async def idle(self, seconds: float) -> JSON:
        """Pretend the last interaction with the OA was `seconds` ago."""
        return await self._act("idle", {"seconds": seconds})

    async def send_text(self, text: str) -> JSON:
        return await self._act("text", {"text": text})

    async def press(self, title: str) -> JSON:
        return await self._act("press", {"title": title})

    async def send_image(
        self,
        content: bytes | None = None,
        *,
        latitude: float = 11.5353,
        longitude: float = 106.8832,
        text: str = "",
    ) -> JSON:
        body: JSON = {"latitude": latitude, "longitude": longitude, "text": text}
        if content is not None:
            body["content_b64"] = base64.b64encode(content).decode()
        return await self._act("image", body)

    async def send_file(self, content: bytes | None = None, filename: str = "tai-lieu.pdf") -> JSON:
        body: JSON = {"filename": filename}
        if content is not None:
            body["content_b64"] = base64.b64encode(content).decode()
        return await self._act("file", body)

    async def send_location(self, latitude: float, longitude: float) -> JSON:
        return await self._act("location", {"latitude": latitude, "longitude": longitude})

    async def send_sticker(self, sticker_id: str = "bfe4fe6b6d2e8470dd3f") -> JSON:
        return await self._act("sticker", {"sticker_id": sticker_id})

    async def submit_info(self, name: str, phone: str) -> JSON:
        return await self._act("submit_info", {"name": name, "phone": phone})

    async def seen(self) -> JSON:
        return await self._act("seen")

    async def received(self) -> JSON:
        return await self._act("received")

    async def messages(self, after: int = 0) -> list[OaMessage]:
        views = await self.client.request(
            "GET", f"/sandbox/people/{self.user_id}/messages", after=after
        )
        return [OaMessage.from_view(v) for v in views]

    async def next_message(self, timeout: float = 5.0) -> OaMessage:
        """The first message not yet read, waiting up to `timeout` s for it."""
        views = await self.client.request(
            "GET", f"/sandbox/people/{self.user_id}/wait", after=self.cursor, timeout=timeout
        )
        if not views:
            raise NoMessageError(f"no OA message to {self.display_name} in {timeout} s")
        self.cursor += 1
        return OaMessage.from_view(views[0])
