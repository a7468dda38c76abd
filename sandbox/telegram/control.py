"""The `/sandbox/...` control API: simulated people, transcripts, events, faults, limits, stats."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.control_api import ControlError, Route, guarded, json_body, json_response
from sandbox.telegram.media import new_media, png_bytes
from sandbox.telegram.models import FAULT_KINDS, JSON, ChatRecord, Fault, UserRecord
from sandbox.telegram.people import ActionError, find_button, set_blocked, user_post, user_press

if TYPE_CHECKING:
    from sandbox.telegram.server import SandboxServer

MAX_WAIT = 60.0


_guard = guarded(ActionError)
_json = json_response
_body = json_body


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ControlError(400, f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(400, f"{name} must be an integer") from None


def _content(body: JSON, default: bytes) -> bytes:
    encoded = body.get("content_b64")
    if encoded is None:
        return default
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise ControlError(400, "content_b64 is not valid base64") from None


class ControlApi:
    """Handlers bound to one SandboxServer."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.state = server.state

    # --- lookups --------------------------------------------------------------------------

    def _user(self, request: web.Request) -> UserRecord:
        user = self.state.users.get(_int(request.match_info["uid"], "user id"))
        if user is None:
            raise ControlError(404, f"unknown user {request.match_info['uid']}")
        return user

    def _chat(self, chat_id: Any) -> ChatRecord:
        chat = self.state.chats.get(_int(chat_id, "chat_id"))
        if chat is None:
            raise ControlError(404, f"chat {chat_id} not found")
        return chat

    def _user_chat(self, request: web.Request, body: JSON) -> tuple[UserRecord, ChatRecord]:
        user = self._user(request)
        return user, self._chat(body.get("chat_id", user.id))

    # --- people -----------------------------------------------------------------------------

    async def create_user(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user_id = body.get("user_id")
        user = self.state.add_user(
            str(body.get("first_name") or "User"),
            _int(user_id, "user_id") if user_id is not None else None,
            body.get("last_name"),
            body.get("username"),
            body.get("language_code", "vi"),
        )
        return _json(user.to_view())

    async def list_users(self, request: web.Request) -> web.Response:
        return _json([u.to_view() for u in self.state.users.values()])

    async def create_group(self, request: web.Request) -> web.Response:
        body = await _body(request)
        chat_id = body.get("chat_id")
        members = [_int(m, "member") for m in body.get("members") or []]
        chat = self.state.add_group(
            str(body.get("title") or "Group"),
            _int(chat_id, "chat_id") if chat_id is not None else None,
            members,
            str(body.get("type") or "supergroup"),
        )
        return _json(self._group_view(chat))

    async def add_member(self, request: web.Request) -> web.Response:
        body = await _body(request)
        chat = self._chat(request.match_info["chat_id"])
        if not chat.is_group:
            raise ControlError(400, "not a group")
        user_id = _int(body.get("user_id"), "user_id")
        if user_id not in self.state.users:
            raise ControlError(404, f"unknown user {user_id}")
        chat.members.add(user_id)
        return _json(self._group_view(chat))

    @staticmethod
    def _group_view(chat: ChatRecord) -> JSON:
        return {
            "id": chat.id,
            "chat_id": chat.id,
            "type": chat.type,
            "title": chat.title,
            "members": sorted(chat.members),
        }

    async def send(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user, chat = self._user_chat(request, body)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ControlError(400, "text must be a non-empty string")
        reply_to = body.get("reply_to_message_id")
        msg, update_id = user_post(
            self.state,
            user,
            chat,
            text=text,
            reply_to=_int(reply_to, "reply_to_message_id") if reply_to is not None else None,
        )
        return _json({"message_id": msg.message_id, "update_id": update_id, "chat_id": chat.id})

    async def press(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user, chat = self._user_chat(request, body)
        message_id = body.get("message_id")
        mid = _int(message_id, "message_id") if message_id is not None else None
        data = body.get("data")
        if data is None:
            label = body.get("label")
            if not isinstance(label, str):
                raise ControlError(400, "give data (with message_id) or label")
            msg, data = find_button(chat, label, mid)
        else:
            if mid is None or mid not in chat.messages:
                raise ControlError(404, f"message {message_id} not found in chat {chat.id}")
            msg = chat.messages[mid]
        record, update_id = user_press(self.state, user, chat, msg, str(data))
        return _json(
            {
                "callback_query_id": record.id,
                "update_id": update_id,
                "message_id": msg.message_id,
                "data": record.data,
            }
        )

    def media_route(self, kind: str) -> Route:
        async def handler(request: web.Request) -> web.Response:
            body = await _body(request)
            user, chat = self._user_chat(request, body)
            caption = body.get("caption") or None
            media, file_id = self._user_media(kind, body, user)
            reply_to = body.get("reply_to_message_id")
            msg, update_id = user_post(
                self.state,
                user,
                chat,
                kind=kind,
                caption=caption if kind not in ("sticker", "location", "contact") else None,
                media=media,
                file_id=file_id,
                reply_to=_int(reply_to, "reply_to_message_id") if reply_to is not None else None,
            )
            return _json(
                {
                    "message_id": msg.message_id,
                    "update_id": update_id,
                    "chat_id": chat.id,
                    "file_id": file_id,
                }
            )

        return handler

    def _user_media(self, kind: str, body: JSON, user: UserRecord) -> tuple[JSON, str | None]:
        state = self.state
        if kind == "location":
            lat, lon = float(body["latitude"]), float(body["longitude"])
            return {"location": {"latitude": lat, "longitude": lon}}, None
        if kind == "contact":
            contact = {
                "phone_number": str(body["phone_number"]),
                "first_name": str(body.get("first_name") or user.first_name),
                "user_id": user.id,
            }
            return {"contact": contact}, None
        extra = {k: body[k] for k in ("width", "height", "duration", "emoji") if k in body}
        if kind == "photo":
            return new_media(state, kind, _content(body, png_bytes()), **extra)
        if kind == "document" and "file_name" not in body:
            raise ControlError(400, "file_name is required")
        default = b"OggS\x00sandbox-voice" if kind == "voice" else b"sandbox " + kind.encode()
        return new_media(
            state,
            kind,
            _content(body, default),
            body.get("file_name"),
            body.get("mime_type"),
            **extra,
        )

    async def block(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user = self._user(request)
        update_id = set_blocked(self.state, user, bool(body.get("blocked", True)))
        return _json({"user_id": user.id, "blocked": user.blocked, "update_id": update_id})

    # --- observation ------------------------------------------------------------------------

    async def list_chats(self, request: web.Request) -> web.Response:
        chats = [
            {
                "id": chat.id,
                "type": chat.type,
                "title": chat.title,
                "messages": len(chat.messages),
                "last_seq": chat.event_seqs[-1] if chat.event_seqs else 0,
            }
            for chat in self.state.chats.values()
        ]
        return _json(chats)

    async def messages(self, request: web.Request) -> web.Response:
        chat = self._chat(request.match_info["chat_id"])
        return _json([msg.to_view() for msg in chat.messages.values()])

    async def events(self, request: web.Request) -> web.Response:
        chat = self._chat(request.match_info["chat_id"])
        after = _int(request.query.get("after", 0), "after")
        timeout = min(MAX_WAIT, max(0.0, float(request.query.get("timeout", 0))))
        limit = max(1, _int(request.query.get("limit", 1000), "limit"))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            events = self.state.events_after(chat, after, limit)
            remaining = deadline - loop.time()
            gone = self.state.closing or self.state.chats.get(chat.id) is not chat
            if events or remaining <= 0 or gone:
                break
            await chat.pulse.wait(remaining)
        last_seq = events[-1]["seq"] if events else after
        return _json({"events": events, "last_seq": last_seq})

    async def callback(self, request: web.Request) -> web.Response:
        record = self.state.callbacks.get(request.match_info["cq_id"])
        if record is None:
            raise ControlError(404, "unknown callback_query_id")
        timeout = min(MAX_WAIT, max(0.0, float(request.query.get("timeout", 0))))
        if not record.answered and timeout > 0 and not self.state.closing:
            await record.pulse.wait(timeout)
        return _json(record.to_view())

    async def commands(self, request: web.Request) -> web.Response:
        result = [
            {"scope": json.loads(scope), "language_code": lang, "commands": cmds}
            for (scope, lang), cmds in self.state.commands.items()
        ]
        return _json(result)

    # --- knobs ------------------------------------------------------------------------------

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await _body(request)
        kind = str(body.get("kind"))
        method = str(body.get("method") or "")
        if kind not in FAULT_KINDS or not method:
            raise ControlError(400, f"method is required and kind must be one of {FAULT_KINDS}")
        fault = Fault(
            method=method.lower(),
            kind=kind,
            count=max(1, _int(body.get("count", 1), "count")),
            retry_after=max(1, _int(body.get("retry_after", 1), "retry_after")),
            delay=max(0.0, float(body.get("delay", 1.0))),
        )
        self.state.faults.append(fault)
        return await self.list_faults(request)

    async def list_faults(self, request: web.Request) -> web.Response:
        return _json({"faults": [f.to_view() for f in self.state.faults]})

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.state.faults.clear()
        return _json({"faults": []})

    async def get_limits(self, request: web.Request) -> web.Response:
        return _json(self.server.limits.to_dict())

    async def set_limits(self, request: web.Request) -> web.Response:
        body = await _body(request)
        self.server.set_limits(self.server.limits.updated(body))
        return _json(self.server.limits.to_dict())

    async def sends(self, request: web.Request) -> web.Response:
        """The flood-limited calls the server accepted: clock time and chat id of each."""
        log = list(self.server.limiter.sent)
        return _json({"times": [t for t, _ in log], "chats": [c for _, c in log]})

    async def stats(self, request: web.Request) -> web.Response:
        state = self.state
        stats = state.stats
        hook = state.webhook
        return _json(
            {
                "methods": dict(stats.methods),
                "rate_limited": stats.rate_limited,
                "faults_injected": stats.faults_injected,
                "delivered": stats.delivered,
                "duplicates": stats.duplicates,
                "updates_pending": state.pending_count,
                "updates_total": stats.updates_total,
                "users": len(state.users),
                "chats": len(state.chats),
                "webhook": {
                    "url": hook.url if hook else None,
                    "delivered": stats.webhook_delivered,
                    "failures": stats.webhook_failures,
                    "last_error_message": hook.last_error_message if hook else None,
                },
            }
        )

    async def clear_stats(self, request: web.Request) -> web.Response:
        self.state.stats = type(self.state.stats)()
        for chat in self.state.chats.values():
            chat.delivered = 0
            chat.sent_keys.clear()
        return await self.stats(request)

    async def deliveries(self, request: web.Request) -> web.Response:
        counts = {str(chat.id): chat.delivered for chat in self.state.chats.values()}
        zero = sum(1 for n in counts.values() if n == 0)
        return _json({"deliveries": counts, "chats": len(counts), "chats_with_zero": zero})

    async def reset(self, request: web.Request) -> web.Response:
        body = await _body(request)
        limits = self.server.limits
        if isinstance(body.get("limits"), dict):
            limits = limits.updated(body["limits"])
        self.state.reset()
        self.server.set_limits(limits)
        return _json({"ok": True, "limits": limits.to_dict()})

    async def health(self, request: web.Request) -> web.Response:
        return _json({"ok": True})


MEDIA_ROUTES = ("photo", "document", "video", "audio", "voice", "sticker", "location", "contact")


def add_control_routes(app: web.Application, server: SandboxServer) -> None:
    api = ControlApi(server)
    routes: list[tuple[str, str, Route]] = [
        ("GET", "/sandbox/health", api.health),
        ("POST", "/sandbox/users", api.create_user),
        ("GET", "/sandbox/users", api.list_users),
        ("POST", "/sandbox/groups", api.create_group),
        ("POST", "/sandbox/groups/{chat_id}/members", api.add_member),
        ("POST", "/sandbox/users/{uid}/send", api.send),
        ("POST", "/sandbox/users/{uid}/press", api.press),
        ("POST", "/sandbox/users/{uid}/block", api.block),
        ("GET", "/sandbox/chats", api.list_chats),
        ("GET", "/sandbox/chats/{chat_id}/messages", api.messages),
        ("GET", "/sandbox/chats/{chat_id}/events", api.events),
        ("GET", "/sandbox/callbacks/{cq_id}", api.callback),
        ("GET", "/sandbox/commands", api.commands),
        ("POST", "/sandbox/faults", api.add_fault),
        ("GET", "/sandbox/faults", api.list_faults),
        ("DELETE", "/sandbox/faults", api.clear_faults),
        ("GET", "/sandbox/limits", api.get_limits),
        ("POST", "/sandbox/limits", api.set_limits),
        ("GET", "/sandbox/sends", api.sends),
        ("GET", "/sandbox/stats", api.stats),
        ("DELETE", "/sandbox/stats", api.clear_stats),
        ("GET", "/sandbox/stats/deliveries", api.deliveries),
        ("POST", "/sandbox/reset", api.reset),
    ]
    routes += [
        ("POST", f"/sandbox/users/{{uid}}/{kind}", api.media_route(kind)) for kind in MEDIA_ROUTES
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guard(handler))
