"""The outbox's Zalo side: window routing, rendering of outbox messages, and the Zalo sender.

Routing (ZALO.md "Send windows"), by the time since the person's last interaction as the
database knows it (channel_interactions): up to 48 h a CS message; 48 h to 7 days a CS message
(billed) only for the kinds the Department allows to cost money (ANTQ_ZALO_PAID_KINDS), else an
approved template where one is configured for the kind (ANTQ_ZALO_TEMPLATES), else the row waits
for the person's next interaction (OutsideWindow(None)); past 7 days a template or the wait.
Promotion kinds (weekly outreach, announcements) never go out 22:00-06:00: they wait until 06:05.
Zalo's own refusals (-230, -213, -211, -218, -32, -234, ...) map to outcomes in outcomes.py.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from bot.chat.buttons import ButtonSeal
from bot.chat.channel import Capabilities, shaped
from bot.chat.ref import ChatRef
from bot.chat.reply import Button, Reply
from bot.kernel.clock import Clock
from bot.kernel.files import FileStore, is_store_id
from bot.kernel.outbox import (
    FileRef,
    OutboxSender,
    Outcome,
    OutgoingMessage,
    OutsideWindow,
    PermanentFailure,
)
from content.texts import Texts
from handlers.zalo.client import ZaloClient
from handlers.zalo.outcomes import LOCAL, seconds_until_morning
from handlers.zalo.render import MAX_BUTTONS, MAX_UNITS, MORE_KEY, ZaloButton, ZaloMessage, to_plain
from handlers.zalo.settings import ZaloSettings
from handlers.zalo.uploads import file_fits, fitted_image
from storage.outbox import OutboxRow
from storage.zalo import InteractionRepository

log = logging.getLogger(__name__)

CHANNEL = "zalo"
# What the core may expect of Zalo (bot/chat/channel.py): plain text, 2,000 UTF-16 units and 5
# buttons a message, presses typed back as text (so payloads are sealed), no edits, no toasts.
CAPABILITIES = Capabilities(
    edits=False,
    toasts=False,
    max_buttons=MAX_BUTTONS,
    max_text=MAX_UNITS,
    markup="plain",
    buttons_as_text=True,
    file_kinds=frozenset({"photo", "document"}),
)
CURRENT_KIND: ContextVar[str | None] = ContextVar("zalo_outbox_kind", default=None)
CURRENT_PAYLOAD: ContextVar[str | None] = ContextVar("zalo_outbox_payload", default=None)
OUTREACH_REF = re.compile(r"^ref:outreach:(\d{4}-\d{2}-\d{2}):")
Broadcasts = Callable[[str, str], Awaitable[str]]  # (week, article id) -> message id, once a week
NIGHT_START = time(22, 0)
NIGHT_END = time(6, 0)
UPLOAD_CACHE_SECONDS = 6 * 86400.0  # Zalo keeps an upload 7 days; we trust it for 6
TEMPLATE_TEXT_LIMIT = 400  # ZBS parameters are short; the template carries the wording


@dataclass(frozen=True)
class Route:
    via: str  # "cs" | "template"
    template_id: str | None = None
    billed: bool = False


def is_night(now: datetime) -> bool:
    local = now.astimezone(LOCAL).time()
    return local >= NIGHT_START or local < NIGHT_END


class WindowPolicy:
    def __init__(
        self, settings: ZaloSettings, interactions: InteractionRepository, clock: Clock
    ) -> None:
        self.settings = settings
        self.interactions = interactions
        self.clock = clock

    async def route(self, user_id: str, kind: str | None) -> Route:
        """How a message of `kind` may reach the person now; OutsideWindow when it may not."""
        now = self.clock.now()
        if kind in self.settings.promotion_kinds and is_night(now):
            raise OutsideWindow(seconds_until_morning(now), "zalo_night")
        last = await self.interactions.last(CHANNEL, user_id)
        age = (now - last).total_seconds() if last is not None else math.inf
        if age <= self.settings.free_window_seconds:
            return Route("cs")
        if age <= self.settings.paid_window_seconds and kind in self.settings.paid_kinds:
            return Route("cs", billed=True)
        template = self.settings.templates.get(kind or "")
        if template:
            return Route("template", template)
        raise OutsideWindow(None, "zalo_window")


def outgoing_buttons(message: OutgoingMessage) -> list[Button]:
    return [Button(b.label, b.data, b.row, b.url) for b in message.buttons]


class ZaloTransport:
    """`deliver(chat_id, message)` for the outbox: the row's kind comes from CURRENT_KIND."""

    def __init__(
        self,
        client: ZaloClient,
        policy: WindowPolicy,
        seal: ButtonSeal,
        files: FileStore,
        texts: Texts,
        clock: Clock,
    ) -> None:
        self.client = client
        self.policy = policy
        self.seal = seal
        self.files = files
        self.texts = texts
        self.clock = clock
        self.stats = {"cs": 0, "billed": 0, "template": 0, "broadcast": 0}
        self.broadcasts: Broadcasts | None = None  # set by the channel (kept in the database)

    async def deliver(self, chat_id: str, message: OutgoingMessage) -> str:
        kind = CURRENT_KIND.get()
        if chat_id == self.policy.settings.oa_id:
            raise PermanentFailure("zalo_own_oa")  # nothing is ever sent to the OA itself
        try:
            route = await self.policy.route(chat_id, kind)
        except OutsideWindow as exc:
            if exc.seconds is not None:
                raise  # the night: a broadcast would be refused as well
            return await self._article_instead(exc)
        if route.via == "template":
            assert route.template_id is not None
            return await self._template(chat_id, route.template_id, message)
        try:
            message_id = await self.send_outgoing(chat_id, message)
        except PermanentFailure as exc:
            template = self.policy.settings.templates.get(kind or "")
            if exc.error_class == "zalo-213" and template:  # not a follower: no CS, template
                return await self._template(chat_id, template, message)
            raise
        self.stats["billed" if route.billed else "cs"] += 1
        return message_id

    async def _article_instead(self, waiting: OutsideWindow) -> str:
        """A weekly item for someone outside the free window: the week's OA Article broadcast
        to every follower (once a week), when the Department configured one; else it waits."""
        found = OUTREACH_REF.match(CURRENT_PAYLOAD.get() or "")
        article = self.policy.settings.articles.get(found.group(1)) if found else None
        if found is None or article is None or self.broadcasts is None:
            raise waiting
        self.stats["broadcast"] += 1
        return await self.broadcasts(found.group(1), article)

    async def _template(self, chat_id: str, template_id: str, message: OutgoingMessage) -> str:
        text = to_plain(message.caption or message.text)[:TEMPLATE_TEXT_LIMIT]
        self.stats["template"] += 1
        return await self.client.send_template(chat_id, template_id, {"noi_dung": text})

    def render(
        self, chat_id: str, replies: list[Reply], notice: str | None = None
    ) -> list[ZaloMessage]:
        """The core's replies as Zalo messages: plain text within 2,000 UTF-16 units, at most
        5 buttons each, every payload sealed for this person (bot/chat/buttons.py)."""
        chat = ChatRef(CHANNEL, chat_id)
        fitted = shaped(
            replies,
            CAPABILITIES,
            notice=notice,
            more_label=self.texts.get(MORE_KEY),
            seal=lambda data: self.seal.seal(chat, data),
        )
        messages = []
        for reply in fitted:
            buttons = [
                ZaloButton(b.label, b.url, "url") if b.url else ZaloButton(b.label, b.data)
                for b in reply.buttons
            ]
            if reply.text.strip() or buttons:
                messages.append(ZaloMessage(to_plain(reply.text) or "…", buttons))
        return messages

    async def send_messages(self, chat_id: str, messages: list[ZaloMessage]) -> str:
        """In order, promptly (not paced); the last message's id."""
        message_id = ""
        for message in messages:
            message_id = await self.client.send_text(
                chat_id, message.text, [b.as_tuple() for b in message.buttons]
            )
        return message_id

    async def send_outgoing(self, chat_id: str, message: OutgoingMessage) -> str:
        message_id = ""
        ref = message.photo or message.document or message.video
        text = message.caption if message.caption is not None and ref else message.text
        if ref is not None:
            message_id = await self._send_file(chat_id, ref, is_image=message.photo is not None)
        buttons = outgoing_buttons(message)
        messages = self.render(chat_id, [Reply(text, buttons)]) if text or buttons else []
        if messages:
            message_id = await self.send_messages(chat_id, messages)
        return message_id

    async def _bytes(self, ref: FileRef) -> tuple[bytes, str] | None:
        if ref.stored_id is not None and is_store_id(ref.stored_id):
            info = await self.files.info(ref.stored_id)
            name = ref.file_name or (info.file_name if info else None) or "tep"
            return await self.files.read(ref.stored_id), name
        if ref.path is not None:
            path = Path(ref.path)
            return await asyncio.to_thread(path.read_bytes), ref.file_name or path.name
        return None  # a Telegram file id from before the file store: it means nothing on Zalo

    async def _send_file(self, chat_id: str, ref: FileRef, *, is_image: bool) -> str:
        """Upload from the store (Zalo's attachment id or file token cached in the store for
        less than its 7-day life), then send it."""
        found = await self._bytes(ref)
        if found is None:
            log.warning("Zalo: a file of another channel cannot be sent; its text goes alone")
            return ""
        data, name = found
        cached = None
        if ref.stored_id is not None:
            cached = await self.files.channel_id(
                ref.stored_id, CHANNEL, timedelta(seconds=UPLOAD_CACHE_SECONDS)
            )
        if is_image:
            fitted = await asyncio.to_thread(fitted_image, data, name)
            if fitted is None:
                return await self._cannot_send(chat_id, name)
            data, filename = fitted
            message_id, upload_id = await self.client.send_image_bytes(
                chat_id, data, filename, attachment_id=cached
            )
        else:
            if not file_fits(data, name):
                return await self._cannot_send(chat_id, name)
            message_id, upload_id = await self.client.send_file_bytes(
                chat_id, data, name, token=cached
            )
        if ref.stored_id is not None and upload_id != cached:
            await self.files.remember_channel_id(ref.stored_id, CHANNEL, upload_id)
        return message_id

    async def _cannot_send(self, chat_id: str, name: str) -> str:
        """A file Zalo's uploads do not take (kind or size): said, instead of a failed row."""
        text = self.texts.get("zalo.file_not_sent", name=name)
        return await self.send_messages(chat_id, self.render(chat_id, [Reply(text)]))


class ZaloOutboxSender(OutboxSender):
    """The outbox sender of the Zalo channel: the transport learns each row's kind."""

    async def _attempt(self, row: OutboxRow) -> Outcome:
        token = CURRENT_KIND.set(row.kind)
        payload = CURRENT_PAYLOAD.set(row.payload)
        try:
            return await super()._attempt(row)
        finally:
            CURRENT_PAYLOAD.reset(payload)
            CURRENT_KIND.reset(token)
