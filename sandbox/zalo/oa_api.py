"""The OA API v3 (and the v2 upload/broadcast endpoints) and OAuth v4, as ZALO.md describes them.

Broadcast: `POST /v2.0/oa/message` with the v2 SDKs' shape,
`{"recipient": {"target": {...}}, "message": {"attachment": {"type": "template", "payload":
{"template_type": "media", "elements": [{"media_type": "article",
"attachment_id": "<article>"}]}}}}`.
The target filters (gender, ages, cities, platform) are accepted and ignored: every follower who has
not blocked the OA receives the article. A `recipient.user_id` on that path answers -240 (the v2
message API is shut down). Articles are created through the control API (`/sandbox/articles`).
Promotion-type sends (broadcasts, and templates listed in `promotion_templates`) answer -234 between
22:00 and 06:00 Asia/Ho_Chi_Minh; a broadcast past `broadcast_quota` answers -211.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from sandbox.zalo.errors import ZaloError
from sandbox.zalo.models import JSON, Person, new_id
from sandbox.zalo.state import utf16_units

if TYPE_CHECKING:
    from sandbox.zalo.server import ZaloSandboxServer

BUTTON_TYPES = {"oa.query.hide", "oa.query.show", "oa.open.url", "oa.open.phone", "oa.open.sms"}
Handler = Callable[[web.Request], Awaitable[JSON]]


def json_response(payload: Any, status: int = 200) -> web.Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return web.Response(body=body, status=status, content_type="application/json")


def _magic_kind(data: bytes, filename: str) -> str | None:
    name = filename.lower()
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:5] == b"%PDF-":
        return "application/pdf"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" and name.endswith(".doc"):
        return "application/msword"
    if data[:4] == b"PK\x03\x04" and name.endswith(".docx"):
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if name.endswith(".csv"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "text/csv"
    return None


class OaApi:
    def __init__(self, server: ZaloSandboxServer) -> None:
        self.server = server
        self.state = server.state

    def routes(self, app: web.Application) -> None:
        add = app.router.add_route
        add("POST", "/v4/oa/access_token", self._wrap("access_token", self.access_token, False))
        add("POST", "/v3.0/oa/message/cs", self._wrap("message_cs", self.message_cs))
        add("POST", "/v3.0/oa/message/template", self._wrap("message_template", self.template))
        add("POST", "/v2.0/oa/message", self._wrap("broadcast", self.broadcast))
        add("POST", "/v2.0/oa/upload/image", self._wrap("upload_image", self.upload_image))
        add("POST", "/v2.0/oa/upload/file", self._wrap("upload_file", self.upload_file))
        add("GET", "/v3.0/oa/user/detail", self._wrap("user_detail", self.user_detail))

    def _wrap(self, method: str, handler: Handler, needs_token: bool = True) -> Any:
        async def route(request: web.Request) -> web.Response:
            state = self.state
            state.stats.calls[method] += 1
            try:
                fault = state.take_fault(method)
                if fault is not None:
                    if fault.delay:
                        await self.server.sleep(fault.delay)
                    if fault.code is not None:
                        raise ZaloError(fault.code, "injected fault")
                state.count_call()
                if needs_token:
                    state.check_access(request.headers.get("access_token"))
                data = await handler(request)
            except ZaloError as exc:
                state.stats.errors[exc.code] += 1
                payload = exc.payload()
                if method == "access_token":
                    payload["error_name"] = exc.message
                    payload["error_description"] = exc.message
                return json_response(payload)
            if method == "access_token":
                return json_response(data)
            return json_response({"error": 0, "message": "Success", "data": data})

        return route

    # --- OAuth --------------------------------------------------------------------------

    async def access_token(self, request: web.Request) -> JSON:
        form = await request.post()
        if form.get("grant_type") != "refresh_token":
            raise ZaloError(-14001, "grant_type must be refresh_token")
        access, refresh = self.state.refresh(
            str(form.get("app_id", "")),
            request.headers.get("secret_key", ""),
            str(form.get("refresh_token", "")),
        )
        return {
            "access_token": access.value,
            "refresh_token": refresh.value,
            "expires_in": str(int(self.state.config.access_ttl)),
        }

    # --- messages -----------------------------------------------------------------------

    async def _json(self, request: web.Request) -> JSON:
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            raise ZaloError(-201, "body is not JSON") from None
        if not isinstance(body, dict):
            raise ZaloError(-201, "body must be an object")
        return body

    def _recipient(self, body: JSON) -> Person:
        recipient = body.get("recipient")
        user_id = recipient.get("user_id") if isinstance(recipient, dict) else None
        if not isinstance(user_id, str) or not user_id:
            raise ZaloError(-201, "recipient.user_id must be a non-empty string")
        person = self.state.person(user_id)
        if person is None:
            raise ZaloError(-201, "user_id is invalid")
        if person.blocked:
            raise ZaloError(-217)
        if not person.following:
            raise ZaloError(-213)
        return person

    def _buttons(self, payload: JSON) -> list[JSON]:
        config = self.state.config
        buttons = payload.get("buttons")
        if not isinstance(buttons, list) or not buttons:
            raise ZaloError(-201, "buttons must be a non-empty list")
        if len(buttons) > config.max_buttons:
            raise ZaloError(-201, f"at most {config.max_buttons} buttons")
        if config.require_template_type and not payload.get("template_type"):
            raise ZaloError(-201, "template_type is required")
        out = []
        for button in buttons:
            if not isinstance(button, dict):
                raise ZaloError(-201, "a button must be an object")
            title, kind, value = button.get("title"), button.get("type"), button.get("payload")
            if not isinstance(title, str) or not title.strip():
                raise ZaloError(-201, "a button needs a non-empty title")
            if utf16_units(title) > config.max_button_title:
                raise ZaloError(-210, "button title too long")
            if kind not in BUTTON_TYPES:
                raise ZaloError(-201, f"unknown button type {kind!r}")
            if kind in ("oa.query.hide", "oa.query.show"):
                ok = isinstance(value, str) and bool(value.strip())
            elif kind == "oa.open.url":
                url = value.get("url") if isinstance(value, dict) else None
                ok = isinstance(url, str) and url.startswith(("http://", "https://"))
            else:
                phone = value.get("phone_code") if isinstance(value, dict) else None
                ok = isinstance(phone, str) and bool(phone.strip())
            if not ok:
                raise ZaloError(-201, f"button {title!r} has an invalid payload")
            out.append({"title": title, "type": kind, "payload": value})
        return out

    def _content(self, message: Any) -> JSON:
        """The message as the person sees it; raises the code Zalo answers for a bad one."""
        if not isinstance(message, dict):
            raise ZaloError(-201, "message must be an object")
        text = message.get("text")
        if text is not None and not isinstance(text, str):
            raise ZaloError(-201, "message.text must be a string")
        if text is not None and utf16_units(text) > self.state.config.max_text:
            raise ZaloError(-210)
        seen: JSON = {"kind": "text", "text": text or "", "buttons": []}
        attachment = message.get("attachment")
        if attachment is None:
            if not text or not text.strip():
                raise ZaloError(-201, "message.text must not be empty")
            return seen
        if not isinstance(attachment, dict) or not isinstance(attachment.get("payload"), dict):
            raise ZaloError(-201, "attachment needs a type and a payload")
        payload = attachment["payload"]
        if attachment.get("type") == "file":
            upload = self.state.live_upload(payload.get("token"), "file")
            seen.update(kind="file", upload_id=upload.upload_id, filename=upload.filename)
            return seen
        if attachment.get("type") != "template":
            raise ZaloError(-201, "attachment.type must be template or file")
        if payload.get("template_type") == "media":
            elements = payload.get("elements")
            if not isinstance(elements, list) or len(elements) != 1:
                raise ZaloError(-201, "a media template has one element")
            element = elements[0] if isinstance(elements[0], dict) else {}
            if element.get("media_type") != "image":
                raise ZaloError(-201, "media_type must be image")
            upload = self.state.live_upload(element.get("attachment_id"), "image")
            seen.update(kind="image", upload_id=upload.upload_id, filename=upload.filename)
            return seen
        if "buttons" in payload:
            if not text or not text.strip():
                raise ZaloError(-201, "a message with buttons needs a text")
            seen["buttons"] = self._buttons(payload)
            return seen
        raise ZaloError(-201, "unsupported template")

    async def message_cs(self, request: web.Request) -> JSON:
        body = await self._json(request)
        person = self._recipient(body)
        seen = self._content(body.get("message"))
        config, stats = self.state.config, self.state.stats
        idle = self.state.clock.now() - person.last_interaction
        if idle > config.paid_window:
            raise ZaloError(-230)
        billed = idle > config.free_window
        if billed:
            stats.cs_billed += 1
        else:
            stats.cs_free += 1
        return self._deliver(person, seen, "cs", billed=billed)

    def _deliver(self, person: Person, seen: JSON, via: str, **extra: Any) -> JSON:
        message_id = new_id()
        seen.update(message_id=message_id, via=via, at=self.state.clock.now(), **extra)
        person.add_message(seen)
        if self.state.config.echo:
            self.server.webhook.emit_echo(person, seen)
        return {"message_id": message_id, "user_id": person.user_id}

    async def template(self, request: web.Request) -> JSON:
        body = await self._json(request)
        person = self._recipient(body)
        template_id = body.get("template_id")
        data = body.get("template_data", {})
        if not isinstance(template_id, str) or not template_id or not isinstance(data, dict):
            raise ZaloError(-201, "template_id and template_data are required")
        if template_id in self.state.config.promotion_templates and self.state.is_night():
            raise ZaloError(-234)
        self.state.stats.templates += 1
        seen = {
            "kind": "template",
            "template_id": template_id,
            "data": data,
            "text": "",
            "buttons": [],
        }
        return self._deliver(person, seen, "template")

    async def broadcast(self, request: web.Request) -> JSON:
        body = await self._json(request)
        recipient = body.get("recipient")
        if not isinstance(recipient, dict) or "target" not in recipient:
            raise ZaloError(-240)
        message = body.get("message")
        attachment = message.get("attachment") if isinstance(message, dict) else None
        payload = attachment.get("payload") if isinstance(attachment, dict) else None
        elements = payload.get("elements") if isinstance(payload, dict) else None
        element = elements[0] if isinstance(elements, list) and elements else None
        if not isinstance(element, dict) or element.get("media_type") != "article":
            raise ZaloError(-201, "a broadcast carries one article")
        article_id = str(element.get("attachment_id", ""))
        if article_id not in self.state.articles:
            raise ZaloError(-201, "unknown article")
        config, stats = self.state.config, self.state.stats
        if self.state.is_night():
            raise ZaloError(-234)
        if config.broadcast_quota is not None and stats.broadcasts >= config.broadcast_quota:
            raise ZaloError(-211)
        stats.broadcasts += 1
        message_id = new_id()
        for person in self.state.people.values():
            if person.following and not person.blocked:
                stats.broadcast_recipients += 1
                person.add_message(
                    {
                        "kind": "article",
                        "article_id": article_id,
                        "text": self.state.articles[article_id],
                        "buttons": [],
                        "message_id": message_id,
                        "via": "broadcast",
                        "at": self.state.clock.now(),
                    }
                )
        return {"message_id": message_id}

    # --- uploads and users --------------------------------------------------------------

    async def _upload(self, request: web.Request, kind: str, limit: int, allowed: set[str]) -> Any:
        if not request.content_type.startswith("multipart/"):
            raise ZaloError(-201, "multipart/form-data with a file part is required")
        form = await request.post()
        part = form.get("file")
        if not isinstance(part, web.FileField):
            raise ZaloError(-201, "the part `file` is missing")
        data = part.file.read()
        if len(data) > limit:
            raise ZaloError(-210, f"at most {limit} bytes")
        ctype = _magic_kind(data, part.filename or "")
        if ctype not in allowed:
            raise ZaloError(-201, "file type not accepted")
        return self.state.add_upload(kind, part.filename or kind, ctype, data)

    async def upload_image(self, request: web.Request) -> JSON:
        allowed = {"image/jpeg", "image/png"}
        upload = await self._upload(request, "image", self.state.config.image_max_bytes, allowed)
        return {"attachment_id": upload.upload_id}

    async def upload_file(self, request: web.Request) -> JSON:
        allowed = {
            "application/pdf",
            "application/msword",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "text/csv",
        }
        upload = await self._upload(request, "file", self.state.config.file_max_bytes, allowed)
        return {"token": upload.upload_id}

    async def user_detail(self, request: web.Request) -> JSON:
        self.state.stats.user_details += 1
        try:
            query = json.loads(request.query.get("data", ""))
        except ValueError:
            raise ZaloError(-201, "data must be JSON") from None
        user_id = query.get("user_id") if isinstance(query, dict) else None
        person = self.state.person(str(user_id)) if user_id else None
        if person is None:
            raise ZaloError(-201, "user_id is invalid")
        last = datetime.fromtimestamp(person.last_interaction, ZoneInfo(self.state.config.timezone))
        return {
            "user_id": person.user_id,
            "user_id_by_app": person.user_id_by_app,
            "display_name": person.display_name,
            "avatar": f"{self.server.url}/media/avatar-{person.user_id}.jpg",
            "user_is_follower": person.following,
            "user_last_interaction_date": last.strftime("%d/%m/%Y"),
            "shared_info": person.shared_info,
        }
