"""Pure in-memory model of the fake Telegram: people, chats, messages, updates, files, stats."""

from __future__ import annotations

import bisect
import mimetypes
import secrets
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from sandbox.telegram.models import (
    BOT_FIRST_NAME,
    JSON,
    CallbackRecord,
    ChatRecord,
    Fault,
    FileRecord,
    PendingUpdate,
    Pulse,
    Stats,
    StoredMessage,
    UpdateQueue,
    UserRecord,
    WebhookConfig,
)

# Update types Telegram leaves out unless explicitly listed in allowed_updates.
NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
FIRST_USER_ID = 10001
FIRST_SUPERGROUP_ID = -1001000000001
FIRST_GROUP_ID = -4000000001
_DEFAULT_EXT = {
    "photo": ".jpg",
    "video": ".mp4",
    "voice": ".ogg",
    "audio": ".mp3",
    "animation": ".mp4",
    "sticker": ".webp",
    "video_note": ".mp4",
    "document": ".bin",
}


class SandboxState:
    """Everything the fake server knows; no I/O except asyncio wake-ups (Pulse)."""

    def __init__(self, bot_username: str = "antq_sandbox_bot", group_privacy: bool = True) -> None:
        self.bot_username = bot_username
        self.group_privacy = group_privacy
        self.bot_id = 0
        self.users: dict[int, UserRecord] = {}
        self.chats: dict[int, ChatRecord] = {}
        self.files: dict[str, FileRecord] = {}
        self.file_paths: dict[str, str] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.updates: UpdateQueue = deque()
        self.in_flight: dict[int, PendingUpdate] = {}
        self.updates_pulse = Pulse()
        self.allowed_updates: frozenset[str] | None = None
        self.webhook: WebhookConfig | None = None
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.texts: dict[tuple[str, str], str] = {}
        self.faults: list[Fault] = []
        self.stats = Stats()
        self.poll_generation = 0
        self.closing = False
        self._update_id = 0
        self._seq = 0
        self._counter = 0
        self._next_user_id = FIRST_USER_ID
        self._next_group = {"supergroup": FIRST_SUPERGROUP_ID, "group": FIRST_GROUP_ID}

    # --- identities ---------------------------------------------------------------------

    @staticmethod
    def now() -> int:
        return int(time.time())

    def next_counter(self) -> int:
        self._counter += 1
        return self._counter

    def bot_user(self, bot_id: int | None = None) -> JSON:
        return {
            "id": bot_id if bot_id is not None else self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": self.bot_username,
        }

    def add_user(
        self,
        first_name: str,
        user_id: int | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
    ) -> UserRecord:
        """Create (or update) a person and their private chat with the bot."""
        if user_id is None:
            while self._next_user_id in self.users:
                self._next_user_id += 1
            user_id = self._next_user_id
            self._next_user_id += 1
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = UserRecord(user_id, first_name)
        user.first_name, user.last_name = first_name, last_name
        user.username, user.language_code = username, language_code
        if user_id not in self.chats:
            self.chats[user_id] = ChatRecord(user_id, "private", user_id=user_id, members={user_id})
        return user

    def add_group(
        self,
        title: str,
        chat_id: int | None = None,
        members: Iterable[int] = (),
        chat_type: str = "supergroup",
    ) -> ChatRecord:
        if chat_type not in self._next_group:
            raise ValueError("type must be 'group' or 'supergroup'")
        if chat_id is None:
            while self._next_group[chat_type] in self.chats:
                self._next_group[chat_type] -= 1
            chat_id = self._next_group[chat_type]
        if chat_id >= 0:
            raise ValueError("group ids must be negative")
        for uid in members:
            if uid not in self.users:
                raise ValueError(f"unknown user {uid}")
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = ChatRecord(chat_id, chat_type)
        chat.title = title
        chat.members.update(members)
        return chat

    def chat_api(self, chat: ChatRecord) -> JSON:
        if chat.type != "private":
            return {"id": chat.id, "type": chat.type, "title": chat.title or ""}
        user = self.users.get(chat.user_id or chat.id)
        data: JSON = {"id": chat.id, "type": "private"}
        if user is not None:
            data["first_name"] = user.first_name
            if user.last_name:
                data["last_name"] = user.last_name
            if user.username:
                data["username"] = user.username
        return data

    # --- messages -----------------------------------------------------------------------

    def new_message(self, chat: ChatRecord, **fields: Any) -> StoredMessage:
        msg = StoredMessage(chat.next_message_id, chat.id, self.now(), **fields)
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        return msg

    def message_api(self, msg: StoredMessage, with_reply: bool = True) -> JSON:
        """The Bot API `Message` object for a stored message."""
        chat = self.chats[msg.chat_id]
        if msg.from_bot:
            sender = self.bot_user(msg.from_user_id)
        else:
            user = self.users.get(msg.from_user_id)
            sender = user.to_api() if user else {"id": msg.from_user_id, "is_bot": False}
            sender.setdefault("first_name", "Deleted Account")
        data: JSON = {
            "message_id": msg.message_id,
            "from": sender,
            "chat": self.chat_api(chat),
            "date": msg.date,
        }
        if msg.text is not None:
            data["text"] = msg.text
            if msg.entities:
                data["entities"] = msg.entities
        if msg.caption is not None:
            data["caption"] = msg.caption
            if msg.caption_entities:
                data["caption_entities"] = msg.caption_entities
        if msg.media:
            data.update(msg.media)
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup
        if msg.edit_date is not None:
            data["edit_date"] = msg.edit_date
        if msg.forward_origin is not None:
            data["forward_origin"] = msg.forward_origin
        if with_reply and msg.reply_to is not None:
            target = chat.messages.get(msg.reply_to)
            if target is not None and not target.deleted:
                data["reply_to_message"] = self.message_api(target, with_reply=False)
        return data

    def record_send(self, chat: ChatRecord, msg: StoredMessage) -> None:
        """Count a successful bot send, and a duplicate when chat+kind+text was sent before."""
        self.stats.delivered += 1
        chat.delivered += 1
        key = (msg.kind, msg.body)
        if key in chat.sent_keys:
            self.stats.duplicates += 1
        else:
            chat.sent_keys.add(key)

    # --- updates ------------------------------------------------------------------------

    def update_allowed(self, update_type: str) -> bool:
        if self.allowed_updates is None:
            return update_type not in NOT_DEFAULT_UPDATES
        return update_type in self.allowed_updates

    def set_allowed_updates(self, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            raise ValueError("allowed_updates must be a list")
        self.allowed_updates = frozenset(str(v) for v in value) if value else None

    def enqueue(self, update_type: str, payload: JSON, chat_id: int | None) -> int | None:
        """Queue an update for getUpdates/webhook; None when filtered by allowed_updates."""
        if not self.update_allowed(update_type):
            return None
        self._update_id += 1
        self.stats.updates_total += 1
        self.updates.append(PendingUpdate(self._update_id, update_type, payload, chat_id))
        self.updates_pulse.fire()
        return self._update_id

    @property
    def pending_count(self) -> int:
        return len(self.updates) + len(self.in_flight)

    def confirm_updates(self, offset: int) -> None:
        """Drop updates with id < offset (a negative offset keeps the last -offset ones)."""
        queue = self.updates
        if offset < 0:
            while len(queue) > -offset:
                queue.popleft()
            return
        while queue and queue[0].update_id < offset:
            queue.popleft()

    def peek_updates(self, limit: int) -> list[JSON]:
        result: list[JSON] = []
        for item in self.updates:
            if len(result) >= limit:
                break
            result.append({"update_id": item.update_id, item.type: item.payload})
        return result

    def drop_pending_updates(self) -> None:
        self.updates.clear()
        self.in_flight.clear()

    # --- events (bot actions as seen by the sandbox) ---------------------------------------

    def add_event(self, chat: ChatRecord, event_type: str, **data: Any) -> JSON:
        self._seq += 1
        event = {"seq": self._seq, "type": event_type, "chat_id": chat.id, **data}
        chat.events.append(event)
        chat.event_seqs.append(self._seq)
        chat.pulse.fire()
        return event

    @staticmethod
    def events_after(chat: ChatRecord, after: int, limit: int = 1000) -> list[JSON]:
        start = bisect.bisect_right(chat.event_seqs, after)
        return chat.events[start : start + limit]

    # --- files ---------------------------------------------------------------------------

    def add_file(
        self,
        kind: str,
        data: bytes,
        meta: JSON | None = None,
        file_name: str | None = None,
    ) -> FileRecord:
        n = self.next_counter()
        ext = ""
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        elif meta and meta.get("mime_type"):
            ext = mimetypes.guess_extension(meta["mime_type"]) or ""
        ext = ext or _DEFAULT_EXT.get(kind, ".bin")
        folder = "photos" if kind == "photo" else f"{kind}s"
        record = FileRecord(
            file_id=f"SBX{kind[:3].upper()}{n:06d}{secrets.token_hex(6)}",
            file_unique_id=f"U{n:08d}",
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{n}{ext}",
            meta=dict(meta or {}),
        )
        self.files[record.file_id] = record
        self.file_paths[record.file_path] = record.file_id
        return record

    # --- callbacks and faults --------------------------------------------------------------

    def new_callback(self, user_id: int, msg: StoredMessage, data: str) -> CallbackRecord:
        cq_id = f"{self.next_counter()}{secrets.token_hex(4)}"
        record = CallbackRecord(cq_id, user_id, msg.chat_id, msg.message_id, data)
        self.callbacks[cq_id] = record
        return record

    def take_fault(self, method: str) -> Fault | None:
        """Consume one use of the first fault matching `method` (canonical name)."""
        if not self.faults:
            return None
        name = method.lower()
        for fault in self.faults:
            if fault.method == name or (fault.method == "*" and name != "getupdates"):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def count_method(self, method: str) -> None:
        methods = self.stats.methods
        methods[method] = methods.get(method, 0) + 1

    def reset(self) -> None:
        """Forget people, chats, updates, files, callbacks, stats and faults."""
        for chat in self.chats.values():
            chat.pulse.fire()
        for callback in self.callbacks.values():
            callback.pulse.fire()
        self.users.clear()
        self.chats.clear()
        self.files.clear()
        self.file_paths.clear()
        self.callbacks.clear()
        self.drop_pending_updates()
        self.faults.clear()
        self.stats = Stats()
        self._next_user_id = FIRST_USER_ID
        self._next_group = {"supergroup": FIRST_SUPERGROUP_ID, "group": FIRST_GROUP_ID}
        self.updates_pulse.fire()
