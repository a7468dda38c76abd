"""Bot API method table plus the non-message methods (getMe, getUpdates, webhook, commands)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sandbox.telegram import messaging as m
from sandbox.telegram.errors import ApiError, bad_request
from sandbox.telegram.limits import LimitsConfig, RateLimiter
from sandbox.telegram.models import JSON, WebhookConfig
from sandbox.telegram.params import Params
from sandbox.telegram.state import SandboxState
from sandbox.telegram.webhook import WebhookDelivery

WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class BotApi:
    """Executes Bot API methods against the state; HTTP concerns live in the server."""

    def __init__(self, state: SandboxState, limiter: RateLimiter, webhook: WebhookDelivery):
        self.state = state
        self.limiter = limiter
        self.webhook = webhook

    @property
    def limits(self) -> LimitsConfig:
        return self.limiter.config


Handler = Callable[[BotApi, Params], Awaitable[Any]]


async def get_me(api: BotApi, p: Params) -> JSON:
    return {
        **api.state.bot_user(p.bot_id),
        "can_join_groups": True,
        "can_read_all_group_messages": not api.state.group_privacy,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def ok_true(api: BotApi, p: Params) -> bool:
    return True


async def get_updates(api: BotApi, p: Params) -> list[JSON]:
    state = api.state
    if state.webhook is not None:
        raise ApiError(409, WEBHOOK_CONFLICT)
    offset = p.get_int("offset")
    limit = min(100, max(1, p.get_int("limit", 100) or 100))
    timeout = min(60.0, max(0.0, p.get_float("timeout", 0.0) or 0.0))
    try:
        state.set_allowed_updates(p.get_json("allowed_updates"))
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    state.poll_generation += 1
    generation = state.poll_generation
    state.updates_pulse.fire()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if offset is not None:
            state.confirm_updates(offset)
        updates = state.peek_updates(limit)
        if updates:
            return updates
        remaining = deadline - loop.time()
        if remaining <= 0 or state.closing:
            return []
        await state.updates_pulse.wait(remaining)
        if state.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        if state.poll_generation != generation:
            raise ApiError(409, POLL_CONFLICT)


async def set_webhook(api: BotApi, p: Params) -> bool:
    state = api.state
    url = p.get_str("url") or ""
    if not url:
        return await delete_webhook(api, p)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK_HOSTS:
        raise bad_request("bad webhook: the sandbox only delivers to http(s)://127.0.0.1")
    secret = p.get_str("secret_token")
    if secret is not None and not _SECRET_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")
    allowed = p.get_json("allowed_updates")
    try:
        state.set_allowed_updates(allowed)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    max_connections = min(100, max(1, p.get_int("max_connections", 40) or 40))
    await api.webhook.stop()
    if p.get_bool("drop_pending_updates"):
        state.drop_pending_updates()
    state.webhook = WebhookConfig(url, secret, max_connections, allowed or None)
    state.updates_pulse.fire()
    api.webhook.start()
    return True


async def delete_webhook(api: BotApi, p: Params) -> bool:
    await api.webhook.stop()
    api.state.webhook = None
    if p.get_bool("drop_pending_updates"):
        api.state.drop_pending_updates()
    return True


async def get_webhook_info(api: BotApi, p: Params) -> JSON:
    state = api.state
    hook = state.webhook
    info: JSON = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": state.pending_count,
    }
    if hook is not None:
        info.update(max_connections=hook.max_connections, ip_address="127.0.0.1")
        if hook.allowed_updates:
            info["allowed_updates"] = hook.allowed_updates
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
    return info


async def get_file(api: BotApi, p: Params) -> JSON:
    record = api.state.files.get(p.get_str("file_id") or "")
    if record is None:
        raise bad_request("invalid file_id")
    return {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_size": len(record.data),
        "file_path": record.file_path,
    }


def _scope_key(p: Params) -> tuple[str, str]:
    scope = p.get_json("scope") or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope JSON object")
    return json.dumps(scope, sort_keys=True), p.get_str("language_code") or ""


async def set_my_commands(api: BotApi, p: Params) -> bool:
    commands = p.get_json("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("commands must be an array of at most 100 BotCommand")
    clean: list[JSON] = []
    for item in commands:
        if not isinstance(item, dict) or not _COMMAND_RE.match(str(item.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        description = str(item.get("description", ""))
        if not 1 <= len(description) <= 256:
            raise bad_request("command description must be non-empty")
        clean.append({"command": item["command"], "description": description})
    api.state.commands[_scope_key(p)] = clean
    return True


async def get_my_commands(api: BotApi, p: Params) -> list[JSON]:
    return api.state.commands.get(_scope_key(p), [])


async def delete_my_commands(api: BotApi, p: Params) -> bool:
    api.state.commands.pop(_scope_key(p), None)
    return True


def _text_setter(field: str, limit: int) -> Handler:
    async def handler(api: BotApi, p: Params) -> bool:
        value = p.get_str(field) or ""
        if len(value) > limit:
            raise bad_request(f"{field} is too long")
        api.state.texts[(field, p.get_str("language_code") or "")] = value
        return True

    return handler


def _text_getter(field: str) -> Handler:
    async def handler(api: BotApi, p: Params) -> JSON:
        return {field: api.state.texts.get((field, p.get_str("language_code") or ""), "")}

    return handler


async def send_chat_action(api: BotApi, p: Params) -> bool:
    m.target_chat(api, p)
    if not p.get_str("action"):
        raise bad_request("action is empty")
    return True


async def get_chat(api: BotApi, p: Params) -> JSON:
    chat = api.state.chats.get(p.chat_id())
    if chat is None:
        raise bad_request("chat not found")
    gifts = dict.fromkeys(
        ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription"), False
    )
    gifts["gifts_from_channels"] = False
    return {
        **api.state.chat_api(chat),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": gifts,
    }


async def get_chat_member(api: BotApi, p: Params) -> JSON:
    state = api.state
    chat = state.chats.get(p.chat_id())
    if chat is None:
        raise bad_request("chat not found")
    user_id = p.require_int("user_id")
    if user_id == p.bot_id:
        return {"status": "member", "user": state.bot_user(p.bot_id)}
    user = state.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    status = "member" if user_id in chat.members else "left"
    return {"status": status, "user": user.to_api()}


async def get_chat_member_count(api: BotApi, p: Params) -> int:
    chat = api.state.chats.get(p.chat_id())
    if chat is None:
        raise bad_request("chat not found")
    return len(chat.members) + 1


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    handler: Handler
    limited: bool = False


_SENDERS: dict[str, Handler] = {
    "sendMessage": m.send_message,
    "sendPhoto": m.media_sender("photo"),
    "sendDocument": m.media_sender("document"),
    "sendVideo": m.media_sender("video"),
    "sendAudio": m.media_sender("audio"),
    "sendVoice": m.media_sender("voice"),
    "sendAnimation": m.media_sender("animation"),
    "sendSticker": m.media_sender("sticker"),
    "sendVideoNote": m.media_sender("video_note"),
    "sendLocation": m.send_location,
    "sendContact": m.send_contact,
    "copyMessage": m.copy_message,
    "forwardMessage": m.forward_message,
    "editMessageText": m.edit_message_text,
    "editMessageCaption": m.edit_message_caption,
    "editMessageReplyMarkup": m.edit_message_reply_markup,
}
_OTHERS: dict[str, Handler] = {
    "getMe": get_me,
    "logOut": ok_true,
    "close": ok_true,
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "getFile": get_file,
    "deleteMessage": m.delete_message,
    "deleteMessages": m.delete_messages,
    "answerCallbackQuery": m.answer_callback_query,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "setMyDescription": _text_setter("description", 512),
    "getMyDescription": _text_getter("description"),
    "setMyShortDescription": _text_setter("short_description", 120),
    "getMyShortDescription": _text_getter("short_description"),
    "setMyName": _text_setter("name", 64),
    "getMyName": _text_getter("name"),
    "sendChatAction": send_chat_action,
    "getChat": get_chat,
    "getChatMember": get_chat_member,
    "getChatMemberCount": get_chat_member_count,
    "leaveChat": ok_true,
}
METHODS: dict[str, Method] = {
    **{name.lower(): Method(name, fn, limited=True) for name, fn in _SENDERS.items()},
    **{name.lower(): Method(name, fn) for name, fn in _OTHERS.items()},
}
