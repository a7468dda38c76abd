"""What simulated people do: post messages, press buttons, block the bot."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sandbox.telegram.formatting import command_entities
from sandbox.telegram.models import JSON, CallbackRecord, ChatRecord, StoredMessage, UserRecord
from sandbox.telegram.state import SandboxState

_COMMAND_TARGET_RE = re.compile(r"/[A-Za-z0-9_]+@([A-Za-z0-9_]+)")


class ActionError(ValueError):
    """A simulated action that cannot happen (answered 400 by the control API)."""


def _bot_sees(state: SandboxState, chat: ChatRecord, msg: StoredMessage) -> bool:
    """Group privacy mode: only commands, replies to the bot and @mentions reach the bot."""
    if not chat.is_group or not state.group_privacy:
        return True
    body = msg.body
    if body.startswith("/"):
        target = _COMMAND_TARGET_RE.match(body)
        return target is None or target.group(1).lower() == state.bot_username.lower()
    if msg.reply_to is not None:
        replied = chat.messages.get(msg.reply_to)
        if replied is not None and replied.from_bot:
            return True
    return f"@{state.bot_username.lower()}" in body.lower()


def _membership_update(state: SandboxState, user: UserRecord, old: str, new: str) -> int | None:
    bot = state.bot_user()
    new_member: JSON = {"status": new, "user": bot}
    if new == "kicked":
        new_member["until_date"] = 0
    payload = {
        "chat": state.chat_api(state.chats[user.id]),
        "from": user.to_api(),
        "date": state.now(),
        "old_chat_member": {"status": old, "user": bot},
        "new_chat_member": new_member,
    }
    return state.enqueue("my_chat_member", payload, user.id)


def set_blocked(state: SandboxState, user: UserRecord, blocked: bool) -> int | None:
    """Block/unblock the bot; Telegram tells the bot with a my_chat_member update."""
    if user.blocked == blocked:
        return None
    user.blocked = blocked
    if blocked:
        return _membership_update(state, user, "member", "kicked")
    return _membership_update(state, user, "kicked", "member")


def user_post(
    state: SandboxState,
    user: UserRecord,
    chat: ChatRecord,
    *,
    kind: str = "text",
    text: str | None = None,
    caption: str | None = None,
    media: JSON | None = None,
    file_id: str | None = None,
    reply_to: int | None = None,
) -> tuple[StoredMessage, int | None]:
    """Store a message from `user` and queue the update (None when privacy mode hides it)."""
    if chat.type == "private" and chat.id != user.id:
        raise ActionError("a user can only write in their own private chat")
    if reply_to is not None:
        target = chat.messages.get(reply_to)
        if target is None or target.deleted:
            raise ActionError(f"message {reply_to} not found in chat {chat.id}")
    if chat.is_group:
        chat.members.add(user.id)
    elif user.blocked:
        set_blocked(state, user, False)
    msg = state.new_message(
        chat,
        from_bot=False,
        from_user_id=user.id,
        kind=kind,
        text=text,
        entities=command_entities(text) or None if text else None,
        caption=caption,
        caption_entities=command_entities(caption) or None if caption else None,
        media=media or {},
        file_id=file_id,
        reply_to=reply_to,
    )
    if not _bot_sees(state, chat, msg):
        return msg, None
    return msg, state.enqueue("message", state.message_api(msg), chat.id)


def find_button(
    chat: ChatRecord, label: str, message_id: int | None = None
) -> tuple[StoredMessage, str]:
    """Newest bot message with an inline button `label` (exact, then case-insensitive prefix)."""
    seen: list[str] = []
    wanted = label.casefold()
    candidates: Iterable[StoredMessage] = reversed(chat.messages.values())
    if message_id is not None:
        one = chat.messages.get(message_id)
        candidates = [one] if one is not None else []
    for msg in candidates:
        if not msg.from_bot or msg.deleted or not msg.reply_markup:
            continue
        buttons = [b for row in msg.reply_markup.get("inline_keyboard", []) for b in row]
        labels = [str(b.get("text", "")) for b in buttons]
        seen.extend(labels)
        match = next((b for b in buttons if b.get("text") == label), None)
        if match is None:
            match = next(
                (b for b in buttons if str(b.get("text", "")).casefold().startswith(wanted)), None
            )
        if match is None:
            continue
        if "callback_data" not in match:
            raise ActionError(f"button {match.get('text')!r} has no callback_data: {match}")
        return msg, str(match["callback_data"])
    raise ActionError(f"no inline button {label!r} in chat {chat.id}; buttons seen: {seen}")


def user_press(
    state: SandboxState, user: UserRecord, chat: ChatRecord, msg: StoredMessage, data: str
) -> tuple[CallbackRecord, int | None]:
    """A callback_query from `user` on bot message `msg` (any data, even forged)."""
    if not msg.from_bot or msg.deleted:
        raise ActionError(f"message {msg.message_id} is not a live bot message")
    if chat.is_group:
        chat.members.add(user.id)
    record = state.new_callback(user.id, msg, data)
    payload = {
        "id": record.id,
        "from": user.to_api(),
        "message": state.message_api(msg),
        "chat_instance": str(abs(chat.id) * 7 + 1_000_003),
        "data": data,
    }
    return record, state.enqueue("callback_query", payload, chat.id)
