"""The `/sandbox/...` control API: people and their actions, clock, tokens, faults, webhook."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import TYPE_CHECKING

from aiohttp import web

from sandbox.control_api import ControlError, Route, guarded, json_body, json_response
from sandbox.zalo.media import jpeg_with_gps, pdf_bytes
from sandbox.zalo.models import JSON, Fault, Person, new_id
from sandbox.zalo.webhook import attachment_message, text_message

if TYPE_CHECKING:
    from sandbox.zalo.server import ZaloSandboxServer

MAX_WAIT = 60.0


_guard = guarded()
_json = json_response
_body = json_body


def _bytes(body: JSON, default: bytes) -> bytes:
    encoded = body.get("content_b64")
    if encoded is None:
        return default
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ControlError(400, "content_b64 is not valid base64") from None


class ControlApi:
    def __init__(self, server: ZaloSandboxServer) -> None:
        self.server = server
        self.state = server.state
        self.webhook = server.webhook

    def routes(self, app: web.Application) -> None:
        add = app.router.add_route
        table: list[tuple[str, str, Route]] = [
            ("GET", "/sandbox/health", self.health),
            ("GET", "/sandbox/config", self.get_config),
            ("POST", "/sandbox/config", self.set_config),
            ("GET", "/sandbox/clock", self.get_clock),
            ("POST", "/sandbox/clock", self.move_clock),
            ("POST", "/sandbox/oauth/grant", self.grant),
            ("POST", "/sandbox/tokens/expire", self.expire_tokens),
            ("POST", "/sandbox/tokens/revoke", self.revoke_tokens),
            ("POST", "/sandbox/faults", self.add_fault),
            ("DELETE", "/sandbox/faults", self.clear_faults),
            ("POST", "/sandbox/webhook", self.set_webhook),
            ("POST", "/sandbox/webhook/flush", self.flush_webhook),
            ("GET", "/sandbox/webhook/attempts", self.webhook_attempts),
            ("GET", "/sandbox/webhook/events", self.webhook_events),
            ("POST", "/sandbox/articles", self.add_article),
            ("GET", "/sandbox/uploads/{upload_id}", self.get_upload),
            ("GET", "/sandbox/stats", self.stats),
            ("POST", "/sandbox/people", self.create_person),
            ("GET", "/sandbox/people/{uid}", self.get_person),
            ("GET", "/sandbox/people/{uid}/messages", self.messages),
            ("GET", "/sandbox/people/{uid}/wait", self.wait),
            ("POST", "/sandbox/people/{uid}/{action}", self.act),
        ]
        for method, path, handler in table:
            add(method, path, _guard(handler))

    # --- server-wide --------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return _json({"ok": True, "url": self.server.url})

    async def get_config(self, request: web.Request) -> web.Response:
        return _json(self.state.config.to_dict())

    async def set_config(self, request: web.Request) -> web.Response:
        self.state.config.update(await _body(request))
        return _json(self.state.config.to_dict())

    async def get_clock(self, request: web.Request) -> web.Response:
        return _json({"now": self.state.clock.now(), "now_ms": self.state.clock.now_ms()})

    async def move_clock(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if "set" in body:
            self.state.clock.set(float(body["set"]))
        if "advance" in body:
            self.state.clock.advance(float(body["advance"]))
        return await self.get_clock(request)

    async def grant(self, request: web.Request) -> web.Response:
        access, refresh = self.state.grant()
        return _json(
            {
                "access_token": access.value,
                "refresh_token": refresh.value,
                "expires_in": str(int(self.state.config.access_ttl)),
            }
        )

    async def expire_tokens(self, request: web.Request) -> web.Response:
        return _json({"expired": self.state.expire_access_tokens()})

    async def revoke_tokens(self, request: web.Request) -> web.Response:
        return _json({"revoked": self.state.revoke_refresh_tokens()})

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await _body(request)
        code = body.get("code")
        fault = Fault(
            str(body.get("method", "*")),
            int(body.get("count", 1)),
            int(code) if code is not None else None,
            float(body.get("delay", 0.0)),
        )
        if fault.count < 1 or (fault.code is None and fault.delay <= 0):
            raise ControlError(400, "a fault needs count >= 1 and a code or a delay")
        self.state.faults.append(fault)
        return _json([f.view() for f in self.state.faults])

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.state.faults.clear()
        return _json([])

    async def set_webhook(self, request: web.Request) -> web.Response:
        body = await _body(request)
        values = {"webhook_url": body.get("url")}
        if "secret" in body:
            values["signature_secret"] = body["secret"]
        self.state.config.update(values)
        return _json({"url": self.state.config.webhook_url})

    async def flush_webhook(self, request: web.Request) -> web.Response:
        self.webhook.flush()
        await asyncio.sleep(0)
        return _json({"pending": self.webhook.pending})

    async def webhook_attempts(self, request: web.Request) -> web.Response:
        return _json([a.view() for a in self.webhook.attempts])

    async def webhook_events(self, request: web.Request) -> web.Response:
        return _json(self.webhook.events)

    async def add_article(self, request: web.Request) -> web.Response:
        body = await _body(request)
        article_id = new_id()
        self.state.articles[article_id] = str(body.get("title") or "Bài viết")
        return _json({"article_id": article_id})

    async def get_upload(self, request: web.Request) -> web.Response:
        upload = self.state.uploads.get(request.match_info["upload_id"])
        if upload is None:
            raise ControlError(404, "no such upload")
        view = upload.view()
        view["content_b64"] = base64.b64encode(upload.data).decode()
        return _json(view)

    async def stats(self, request: web.Request) -> web.Response:
        view = self.state.stats.view()
        view["webhook_pending"] = self.webhook.pending
        return _json(view)

    # --- people -------------------------------------------------------------------------

    def _person(self, request: web.Request) -> Person:
        person = self.state.person(request.match_info["uid"])
        if person is None:
            raise ControlError(404, f"unknown person {request.match_info['uid']}")
        return person

    async def create_person(self, request: web.Request) -> web.Response:
        body = await _body(request)
        follow = bool(body.get("follow", True))
        person = self.state.add_person(
            str(body.get("display_name") or "Người dùng"),
            following=False,
            user_id=body.get("user_id"),
        )
        status = None
        if follow:
            person.following = True
            self.state.interact(person)
            status = await self.webhook.emit(self.webhook.follow_event(person, "follow"))
        view = person.view()
        view["status"] = status
        return _json(view)

    async def get_person(self, request: web.Request) -> web.Response:
        return _json(self._person(request).view())

    async def messages(self, request: web.Request) -> web.Response:
        person = self._person(request)
        after = int(request.query.get("after", 0))
        return _json(person.messages[after:])

    async def wait(self, request: web.Request) -> web.Response:
        """The messages from index `after` on, waiting up to `timeout` s for the first of them."""
        person = self._person(request)
        after = int(request.query.get("after", 0))
        timeout = min(float(request.query.get("timeout", 5.0)), MAX_WAIT)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(person.messages) <= after:
            left = deadline - loop.time()
            if left <= 0:
                return _json([])
            try:
                await asyncio.wait_for(person.pulse.wait(), left)
            except TimeoutError:
                return _json([])
        return _json(person.messages[after:])

    async def act(self, request: web.Request) -> web.Response:
        person = self._person(request)
        action = request.match_info["action"]
        handler = getattr(self, f"_do_{action}", None)
        if handler is None:
            raise ControlError(404, f"unknown action {action}")
        body = await _body(request)
        result: JSON = await handler(person, body)
        return _json(result)

    async def _user_event(self, person: Person, name: str, message: JSON) -> JSON:
        self.state.interact(person)
        event = self.webhook.user_event(person, name, message)
        return {"status": await self.webhook.emit(event), "event": event}

    async def _do_follow(self, person: Person, body: JSON) -> JSON:
        person.following = True
        self.state.interact(person)
        event = self.webhook.follow_event(person, "follow")
        return {"status": await self.webhook.emit(event), "event": event}

    async def _do_unfollow(self, person: Person, body: JSON) -> JSON:
        person.following = False
        event = self.webhook.follow_event(person, "unfollow")
        return {"status": await self.webhook.emit(event), "event": event}

    async def _do_block(self, person: Person, body: JSON) -> JSON:
        person.blocked = bool(body.get("blocked", True))
        return person.view()

    async def _do_idle(self, person: Person, body: JSON) -> JSON:
        """Pretend the last interaction was `seconds` ago."""
        person.last_interaction = self.state.clock.now() - float(body["seconds"])
        return person.view()

    async def _do_text(self, person: Person, body: JSON) -> JSON:
        return await self._user_event(person, "user_send_text", text_message(str(body["text"])))

    async def _do_press(self, person: Person, body: JSON) -> JSON:
        """Press the newest button with this title: its payload comes back as user_send_text."""
        title = str(body["title"])
        for message in reversed(person.messages):
            for button in message.get("buttons", []):
                if button["title"] != title:
                    continue
                kind, payload = button["type"], button["payload"]
                if kind in ("oa.query.hide", "oa.query.show"):
                    result = await self._user_event(
                        person, "user_send_text", text_message(str(payload))
                    )
                    result["payload"] = payload
                    return result
                return {"status": None, "type": kind, "payload": payload}
        raise ControlError(404, f"no button titled {title!r}")

    async def _do_image(self, person: Person, body: JSON) -> JSON:
        lat, lon = float(body.get("latitude", 11.5353)), float(body.get("longitude", 106.8832))
        data = _bytes(body, b"") or jpeg_with_gps(lat, lon)
        media = self.state.add_media("image/jpeg", "photo.jpg", data)
        url = f"{self.server.url}/media/{media.media_id}"
        payload = {"url": url, "thumbnail": url}
        message = attachment_message("image", payload, str(body.get("text", "")))
        return await self._user_event(person, "user_send_image", message)

    async def _do_file(self, person: Person, body: JSON) -> JSON:
        data = _bytes(body, pdf_bytes())
        name = str(body.get("filename", "tai-lieu.pdf"))
        ctype = str(body.get("content_type", "application/pdf"))
        media = self.state.add_media(ctype, name, data)
        payload = {
            "url": f"{self.server.url}/media/{media.media_id}",
            "name": name,
            "size": str(len(data)),
            "type": name.rsplit(".", 1)[-1],
        }
        return await self._user_event(person, "user_send_file", attachment_message("file", payload))

    async def _do_location(self, person: Person, body: JSON) -> JSON:
        payload = {
            "coordinates": {
                "latitude": str(body["latitude"]),
                "longitude": str(body["longitude"]),
            }
        }
        message = attachment_message("location", payload)
        return await self._user_event(person, "user_send_location", message)

    async def _do_sticker(self, person: Person, body: JSON) -> JSON:
        payload = {"id": str(body.get("sticker_id", "bfe4fe6b6d2e8470dd3f")), "url": ""}
        message = attachment_message("sticker", payload)
        return await self._user_event(person, "user_send_sticker", message)

    async def _do_submit_info(self, person: Person, body: JSON) -> JSON:
        info = {k: str(v) for k, v in body.items() if k in ("name", "phone", "address", "city")}
        person.shared_info = info
        self.state.interact(person)
        event = self.webhook.user_event(person, "user_submit_info", {"msg_id": new_id()})
        event.pop("message")
        event["info"] = info
        return {"status": await self.webhook.emit(event), "event": event}

    async def _receipt(self, person: Person, name: str, body: JSON) -> JSON:
        ids = body.get("msg_ids") or [m["message_id"] for m in person.messages[-1:]]
        event = self.webhook.oa_event(person, name, {"msg_ids": [str(i) for i in ids]})
        return {"status": await self.webhook.emit(event), "event": event}

    async def _do_received(self, person: Person, body: JSON) -> JSON:
        return await self._receipt(person, "user_received_message", body)

    async def _do_seen(self, person: Person, body: JSON) -> JSON:
        return await self._receipt(person, "user_seen_message", body)
