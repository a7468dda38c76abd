"""ZaloClient: the OA API calls the bot makes, each answer parsed and errors turned into outcomes.

Every call sends `access_token` from the TokenKeeper; on an invalid-token code (-216, -220, 216,
-401, 401) it refreshes once and retries once. Failures are raised as the outbox's DeliveryError
subclasses (handlers/zalo/outcomes.py); an expired upload (-100) is re-uploaded by the
`send_*_bytes` helpers, which know the bytes.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.kernel.clock import Clock
from bot.kernel.outbox import DeliveryError, NeedsAdministrator, PermanentFailure, TemporaryFailure
from handlers.zalo.outcomes import TOKEN_INVALID, UPLOAD_EXPIRED, outcome_for
from handlers.zalo.render import MAX_BUTTONS, MAX_UNITS, utf16_len
from handlers.zalo.settings import ZaloSettings
from handlers.zalo.tokens import TokenDead, TokenKeeper, TokenRefreshFailed

log = logging.getLogger(__name__)

JSON = dict[str, Any]
Button = tuple[str, str, str]  # (title, kind, payload or url or phone)
KINDS = {
    "query": "oa.query.hide",
    "show": "oa.query.show",
    "url": "oa.open.url",
    "phone": "oa.open.phone",
}


class ZaloApiError(Exception):
    """An answer with error != 0 (before it is turned into an outcome)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"zalo error {code}: {message}")
        self.code = code


class UploadExpired(PermanentFailure):
    """-100: the attachment id or file token is older than Zalo keeps it; upload again."""


@dataclass(frozen=True)
class UserDetail:
    user_id: str
    display_name: str
    is_follower: bool
    last_interaction: str | None  # as Zalo gives it (dd/mm/yyyy)


def button_json(button: Button) -> JSON:
    title, kind, value = button
    zalo_kind = KINDS.get(kind, kind)
    if not title.strip() or not value.strip():
        raise PermanentFailure("zalo_empty_button")
    payload: Any
    if zalo_kind in ("oa.query.hide", "oa.query.show"):
        payload = value
    elif zalo_kind == "oa.open.url":
        payload = {"url": value}
    elif zalo_kind == "oa.open.phone":
        payload = {"phone_code": value}
    else:
        raise PermanentFailure("zalo_button_kind")
    return {"title": title, "type": zalo_kind, "payload": payload}


class ZaloClient:
    def __init__(
        self,
        settings: ZaloSettings,
        tokens: TokenKeeper,
        session: aiohttp.ClientSession,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.session = session
        self.clock = clock
        self.api = settings.api_base_url.rstrip("/")

    # --- the one request path -----------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: JSON | None = None,
        upload: tuple[bytes, str] | None = None,
        **kwargs: Any,
    ) -> JSON:
        """`data` of a successful answer; DeliveryError subclasses otherwise."""
        try:
            token = await self.tokens.access_token()
        except TokenDead as exc:
            raise NeedsAdministrator(f"zalo{exc.code}") from None
        except TokenRefreshFailed:
            raise TemporaryFailure("zalo_refresh_failed") from None
        try:
            return await self._once(method, path, token, json_body, upload, **kwargs)
        except ZaloApiError as exc:
            if exc.code not in TOKEN_INVALID:
                raise self._outcome(exc.code) from None
        try:  # the token was refused: refresh once, retry once
            token = await self.tokens.refresh(stale=token)
        except TokenDead as exc:
            raise NeedsAdministrator(f"zalo{exc.code}") from None
        except TokenRefreshFailed:
            raise TemporaryFailure("zalo_refresh_failed") from None
        try:
            return await self._once(method, path, token, json_body, upload, **kwargs)
        except ZaloApiError as exc:
            if exc.code in TOKEN_INVALID:
                raise TemporaryFailure(f"zalo{exc.code}") from None
            raise self._outcome(exc.code) from None

    def _outcome(self, code: int) -> DeliveryError:
        log.warning("Zalo API answered error %d", code)
        if code == UPLOAD_EXPIRED:
            return UploadExpired(f"zalo{code}")
        return outcome_for(
            code,
            self.clock.now(),
            quota_seconds=self.settings.quota_retry_seconds,
            rate_seconds=self.settings.rate_retry_seconds,
        )

    async def _once(
        self,
        method: str,
        path: str,
        token: str,
        json_body: JSON | None,
        upload: tuple[bytes, str] | None,
        **kwargs: Any,
    ) -> JSON:
        timeout = aiohttp.ClientTimeout(total=self.settings.request_timeout_seconds)
        headers = {"access_token": token}
        if upload is not None:  # a FormData is spent once sent: one per attempt
            form = aiohttp.FormData()
            form.add_field("file", upload[0], filename=upload[1])
            kwargs["data"] = form
        try:
            async with self.session.request(
                method,
                self.api + path,
                json=json_body,
                headers=headers,
                timeout=timeout,
                **kwargs,
            ) as response:
                if response.status >= 500:
                    raise TemporaryFailure(f"zalo_http_{response.status}")
                if response.status >= 400:
                    raise PermanentFailure(f"zalo_http_{response.status}")
                answer: Any = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise TemporaryFailure(f"zalo_{type(exc).__name__}") from None
        if not isinstance(answer, dict):
            raise TemporaryFailure("zalo_bad_answer")
        try:
            code = int(answer.get("error", 0))
        except (TypeError, ValueError):
            raise TemporaryFailure("zalo_bad_answer") from None
        if code != 0:
            raise ZaloApiError(code, str(answer.get("message", "")))
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    # --- messages -----------------------------------------------------------------------

    async def _send_cs(self, user_id: str, message: JSON) -> str:
        body = {"recipient": {"user_id": user_id}, "message": message}
        data = await self._request("POST", "/v3.0/oa/message/cs", json_body=body)
        return str(data.get("message_id", ""))

    async def send_text(self, user_id: str, text: str, buttons: Sequence[Button] = ()) -> str:
        """One CS text (≤ 2,000 UTF-16 units after NFC) with at most 5 buttons; its message id."""
        text = unicodedata.normalize("NFC", text)
        if not text.strip() or utf16_len(text) > MAX_UNITS or len(buttons) > MAX_BUTTONS:
            raise PermanentFailure("zalo_message_shape")
        message: JSON = {"text": text}
        if buttons:
            payload: JSON = {"buttons": [button_json(b) for b in buttons]}
            if self.settings.buttons_template_type:
                payload["template_type"] = self.settings.buttons_template_type
            message["attachment"] = {"type": "template", "payload": payload}
        return await self._send_cs(user_id, message)

    async def send_image(self, user_id: str, attachment_id: str, text: str = "") -> str:
        element = {"media_type": "image", "attachment_id": attachment_id}
        message: JSON = {
            "attachment": {
                "type": "template",
                "payload": {"template_type": "media", "elements": [element]},
            }
        }
        if text:
            message["text"] = unicodedata.normalize("NFC", text)
        return await self._send_cs(user_id, message)

    async def send_file(self, user_id: str, token: str) -> str:
        message = {"attachment": {"type": "file", "payload": {"token": token}}}
        return await self._send_cs(user_id, message)

    async def send_image_bytes(
        self,
        user_id: str,
        data: bytes,
        filename: str,
        text: str = "",
        attachment_id: str | None = None,
    ) -> tuple[str, str]:
        """Send an image, uploading it when there is no (live) cached id: (message id, id)."""
        if attachment_id is not None:
            try:
                return await self.send_image(user_id, attachment_id, text), attachment_id
            except UploadExpired:
                pass
        attachment_id = await self.upload_image(data, filename)
        return await self.send_image(user_id, attachment_id, text), attachment_id

    async def send_file_bytes(
        self, user_id: str, data: bytes, filename: str, token: str | None = None
    ) -> tuple[str, str]:
        """Send a file, uploading it when there is no (live) cached token: (message id, token)."""
        if token is not None:
            try:
                return await self.send_file(user_id, token), token
            except UploadExpired:
                pass
        token = await self.upload_file(data, filename)
        return await self.send_file(user_id, token), token

    async def send_template(self, user_id: str, template_id: str, data: dict[str, str]) -> str:
        body = {
            "recipient": {"user_id": user_id},
            "template_id": template_id,
            "template_data": data,
        }
        answer = await self._request("POST", "/v3.0/oa/message/template", json_body=body)
        return str(answer.get("message_id", ""))

    async def broadcast_article(self, article_id: str) -> str:
        """An OA broadcast of one article to every follower (no target filter)."""
        element = {"media_type": "article", "attachment_id": article_id}
        body = {
            "recipient": {"target": {}},
            "message": {
                "attachment": {
                    "type": "template",
                    "payload": {"template_type": "media", "elements": [element]},
                }
            },
        }
        answer = await self._request("POST", "/v2.0/oa/message", json_body=body)
        return str(answer.get("message_id", ""))

    # --- uploads and users --------------------------------------------------------------

    async def _upload(self, path: str, data: bytes, filename: str, key: str) -> str:
        answer = await self._request("POST", path, upload=(data, filename))
        value = answer.get(key)
        if not isinstance(value, str) or not value:
            raise TemporaryFailure("zalo_bad_answer")
        return value

    async def upload_image(self, data: bytes, filename: str) -> str:
        """JPG/PNG ≤ 1 MB → attachment_id (lives 7 days at Zalo)."""
        return await self._upload("/v2.0/oa/upload/image", data, filename, "attachment_id")

    async def upload_file(self, data: bytes, filename: str) -> str:
        """PDF/DOC/DOCX/CSV ≤ 5 MB → token (lives 7 days at Zalo)."""
        return await self._upload("/v2.0/oa/upload/file", data, filename, "token")

    async def user_detail(self, user_id: str) -> UserDetail:
        """Never call this for a person writing a tip."""
        query = json.dumps({"user_id": user_id})
        data = await self._request("GET", "/v3.0/oa/user/detail", params={"data": query})
        return UserDetail(
            str(data.get("user_id", user_id)),
            str(data.get("display_name", "")),
            bool(data.get("user_is_follower", False)),
            data.get("user_last_interaction_date"),
        )
