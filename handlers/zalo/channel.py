"""The Zalo channel in the bot's process: webhook in, the core's answers out, the outbox's sender.

Start/stop around the process; `mount(app)` puts `POST /zalo/webhook` (and Zalo's domain check
file, if configured) on the process's one HTTP server (the web application). Each stored event
is answered by the core's ChatRouter: text (a typed-back button payload is opened by the core's
seal), images and files (announced as Uploads, fetched bounded into the file store, cleaned),
locations; stickers and the rest are "not understood". Every input is an interaction (Zalo's
windows) and wakes what waited for the person, except while a tip is open: a tip leaves no Zalo
id anywhere, so nothing is recorded then. Answers go out at once, in order, via the OA's CS API;
what could not be sent then is kept in the outbox (never for a tip). Nothing is ever sent to the
OA itself; echoes and receipts are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.chat.ref import ChatRef
from bot.chat.reply import Reply
from bot.dialogs.conversation import Answer
from bot.dialogs.engine import Incoming, Upload
from bot.kernel.outbox import PRIORITY_INTERACTIVE, DeliveryError, OutgoingMessage
from bot.kernel.services import Services
from handlers.zalo.client import ZaloClient
from handlers.zalo.media import ZaloFetcher
from handlers.zalo.render import ZaloButton, ZaloMessage, layout
from handlers.zalo.settings import ZaloSettings
from handlers.zalo.tokens import OAuthClient, TokenKeeper
from handlers.zalo.transport import CHANNEL, WindowPolicy, ZaloOutboxSender, ZaloTransport
from handlers.zalo.webhook import (
    EventInbox,
    ZaloEvent,
    ZaloFile,
    ZaloFollow,
    ZaloIgnored,
    ZaloImage,
    ZaloLocation,
    ZaloSticker,
    ZaloSubmitInfo,
    ZaloText,
    ZaloUnfollow,
    make_verifier_route,
    make_webhook_route,
)
from storage.db import Transaction
from storage.meta import MetaRepository
from storage.zalo import InteractionRepository, ZaloEventRepository, ZaloTokenRepository

log = logging.getLogger(__name__)

# Dialogs during which the person's Zalo id must not be kept anywhere.
ANONYMOUS_DIALOGS = frozenset({"tip", "followup_tip", "lookup_passphrase", "receipt"})
TOKEN_CHECK_EVERY = 3600.0
EVENT_PURGE_EVERY = 86400.0
EVENTS_KEPT = timedelta(days=2)  # past Zalo's last redelivery (about 2 h): dedupe keys may go
ALERT_EVERY = timedelta(hours=6)
DIGEST_KIND = "zalo_digest"

Answerer = Callable[[ChatRef, Incoming], Awaitable[Answer]]


class ZaloChannel:
    def __init__(
        self,
        services: Services,
        settings: ZaloSettings,
        *,
        concurrency: int = 16,
    ) -> None:
        self.services = services
        self.settings = settings
        self.texts = services.content.texts
        self.cipher = services.cipher
        self.clock = services.clock
        self.interactions = InteractionRepository(services.db)
        self.events = ZaloEventRepository(services.db)
        self.router = services.router
        self.answerer: Answerer = self.router.handle
        self.inbox = EventInbox(
            self.events,
            self.cipher,
            self.clock,
            self.process,
            settings.oa_id,
            lanes=True,
            concurrency=concurrency,
        )
        self.session: aiohttp.ClientSession | None = None
        self.keeper: TokenKeeper | None = None
        self.client: ZaloClient | None = None
        self.transport: ZaloTransport | None = None
        self.sender: ZaloOutboxSender | None = None
        self._jobs: list[asyncio.Task[None]] = []
        self._last_alert: datetime | None = None
        self.answered = 0
        self.meta = MetaRepository(services.db)
        self._broadcast_lock = asyncio.Lock()
        self.stop_grace = 5.0  # seconds the queued events get to finish at a stop

    # ---------------------------------------------------------------- start and stop

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=128)
        self.session = aiohttp.ClientSession(connector=connector)
        oauth = OAuthClient(self.settings, self.session)
        repo = ZaloTokenRepository(self.services.db)
        self.keeper = TokenKeeper(self.settings, repo, self.cipher, self.clock, oauth)
        await self.keeper.start()
        self.client = ZaloClient(self.settings, self.keeper, self.session, self.clock)
        policy = WindowPolicy(self.settings, self.interactions, self.clock)
        self.transport = ZaloTransport(
            self.client, policy, self.router.seal, self.services.files, self.texts, self.clock
        )
        self.transport.broadcasts = self._broadcast
        self.sender = ZaloOutboxSender(
            self.services.db,
            self.services.outbox.repo,
            self.transport,
            self.clock,
            decode=self.services.decode_outgoing,
            global_rate=50.0,  # Zalo: 4,000 requests a minute per app, no per-second limit
            per_chat_rate=0.0,  # CS has no per-person pace; one at a time per person keeps order
            on_blocked=self._person_blocked,
            on_needs_administrator=self._needs_administrator,
            channel=CHANNEL,
        )
        self.services.senders[CHANNEL] = self.sender
        limit = min(self.settings.media_max_bytes, self.services.files.max_file_bytes)
        fetcher = ZaloFetcher(self.session, limit, self.settings.media_timeout_seconds)
        self.services.conversations.fetchers[CHANNEL] = fetcher.fetch
        self.sender.start()
        recovered = await self.inbox.recover()
        if recovered:
            log.info("Zalo: %d stored event(s) taken up again", recovered)
        loop = asyncio.get_running_loop()
        self._jobs = [
            loop.create_task(self._every(TOKEN_CHECK_EVERY, self._check_token)),
            loop.create_task(self._every(EVENT_PURGE_EVERY, self._purge_events)),
        ]

    async def stop(self) -> None:
        for job in self._jobs:
            job.cancel()
        for job in self._jobs:
            with contextlib.suppress(asyncio.CancelledError):
                await job
        self._jobs = []
        await self.inbox.stop(grace=self.stop_grace)
        if self.sender is not None:
            await self.sender.stop()
            self.services.senders.pop(CHANNEL, None)
        if self.session is not None:
            await self.session.close()
            self.session = None

    def mount(self, app: web.Application) -> None:
        route = make_webhook_route(self.settings, self.events, self.inbox, self.cipher, self.clock)
        app.router.add_post("/zalo/webhook", route)
        if self.settings.verifier_file:
            path = Path(self.settings.verifier_file)
            content = path.read_text(encoding="utf-8")
            app.router.add_get(f"/{path.name}", make_verifier_route(content))

    async def _every(self, seconds: float, job: Callable[[], Awaitable[object]]) -> None:
        while True:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("Zalo job %s failed: %s", job.__name__, type(exc).__name__)
            await asyncio.sleep(seconds)

    async def _check_token(self) -> None:
        if self.keeper is not None and not self.keeper.dead:
            with contextlib.suppress(Exception):
                await self.keeper.refresh_if_due()
            if self.keeper.dead:
                await self._needs_administrator(CHANNEL, f"zalo{self.keeper.dead_code}")

    async def _purge_events(self) -> None:
        await self.events.purge_processed(self.clock.now() - EVENTS_KEPT)

    async def _broadcast(self, week: str, article_id: str) -> str:
        """The week's Article to every follower, once (remembered in the database)."""
        assert self.client is not None
        key = f"zalo_broadcast:{week}"
        async with self._broadcast_lock:
            done = await self.meta.get(key)
            if done is not None:
                return done
            message_id = await self.client.broadcast_article(article_id)
            await self.meta.set(key, f"broadcast:{message_id}")
            log.info("Zalo: the Article of the week %s broadcast to the OA's followers", week)
            return f"broadcast:{message_id}"

    # ------------------------------------------------------------------- outcomes

    async def _person_blocked(self, channel: str, chat_id: str) -> None:
        async with self.services.db.transaction() as tx:
            await self.services.people.people.unreachable(tx, channel, chat_id)

    async def _needs_administrator(self, channel: str, error: str) -> None:
        """A dead refresh token: a loud log line, and the office group if there is one."""
        log.critical(
            "Zalo sending stopped (%s): grant the OA to the app again, set "
            "ANTQ_ZALO_REFRESH_TOKEN to the new refresh token and restart; messages are kept",
            error,
        )
        now = self.clock.now()
        office = self.services.settings.office_chat
        if office is None or office.channel == CHANNEL:
            return
        if self._last_alert is not None and now - self._last_alert < ALERT_EVERY:
            return
        self._last_alert = now
        text = self.texts.get("zalo.office_alert", error=error)
        async with self.services.db.transaction() as tx:
            await self.services.outbox.enqueue(
                tx,
                channel=office.channel,
                chat_id=office.chat_id,
                kind="zalo_admin_alert",
                message=OutgoingMessage(text=text),
                priority=PRIORITY_INTERACTIVE,
                dedupe_key=f"zalo-admin:{now:%Y-%m-%d}:{now.hour // 6}",
            )
        self.services.notify()

    # --------------------------------------------------------------------- events in

    async def process(self, event_id: int) -> bool:
        """The inbox's callback: one stored event, answered; True once marked processed."""
        event = await self.inbox.load(event_id)
        if event is None:
            return False
        user_id = _person(event)
        if user_id is None or user_id == self.settings.oa_id:
            return False  # unfollow, submitted info, echoes: nothing to answer
        # one event of a person at a time already (the inbox's lanes); the router takes the
        # chat's lock itself for each input
        await self._handle(ChatRef(CHANNEL, user_id), event, event_id)
        return True

    async def _handle(self, chat: ChatRef, event: ZaloEvent, event_id: int) -> None:
        conversations = self.services.conversations
        before = await conversations.current(chat)
        inputs = self._incoming(event)
        if isinstance(event, ZaloFollow) and before is None:  # greeted, onboarding offered
            inputs = [Incoming(kind="text", text="/start")]
        replies: list[Reply] = []
        for incoming in inputs:
            answer = await self.answerer(chat, incoming)
            notice = answer.notice  # no toasts on Zalo: a notice is a message of its own
            if notice and not any(notice in reply.text for reply in answer.replies):
                replies.append(Reply(notice))
            replies += answer.replies
        after = await conversations.current(chat)
        anonymous = _anonymous(before) or _anonymous(after)
        if before is not None and before.dialog == "delete_data" and after is None:
            # the person's data was just deleted (their last interaction with it): keep no row
            people = self.services.people.people
            anonymous = anonymous or await people.get(chat.channel, chat.chat_id) is None
        assert self.transport is not None
        messages: list[ZaloMessage] = []
        if after is not None and _anonymous(after) and not _anonymous(before):
            messages += self._tip_notice()
        messages += self.transport.render(chat.chat_id, replies)
        await self._send(chat, messages, keep=not anonymous)
        await self._done(chat, event, event_id, record=not anonymous)

    def _incoming(self, event: ZaloEvent) -> list[Incoming]:
        """The core's Incoming. A typed-back button payload stays text (the router opens its
        seal and refuses a forged one or another person's like a stale button); an image or a
        file is announced as an Upload the core fetches only where a step accepts it."""
        if isinstance(event, ZaloText):
            return [Incoming(kind="text", text=event.text)]
        if isinstance(event, ZaloLocation):
            return [Incoming(kind="location", latitude=event.latitude, longitude=event.longitude)]
        if isinstance(event, ZaloImage) and event.urls:  # several photos: one after the other
            return [
                Incoming(kind="attachment", upload=Upload(kind="photo", channel_file_id=url))
                for url in event.urls
            ]
        if isinstance(event, ZaloFile):
            upload = Upload(
                kind="document", channel_file_id=event.url, file_name=event.name, size=event.size
            )
            return [Incoming(kind="attachment", upload=upload)]
        if isinstance(event, ZaloSticker | ZaloImage | ZaloIgnored):
            return [Incoming(kind="unsupported")]
        return []

    async def _done(self, chat: ChatRef, event: ZaloEvent, event_id: int, *, record: bool) -> None:
        """One transaction after the answer: the event is processed and, unless a tip is open,
        Zalo's window opens again and what waited for the person is due now, oldest first."""
        now = self.clock.now()
        at = min(getattr(event, "at", None) or now, now)
        woken = 0
        async with self.services.db.transaction() as tx:
            if record:
                await self.interactions.record(tx, CHANNEL, chat.chat_id, at)
                woken = await self._wake(tx, chat)
            await self.events.mark_processed_in(tx, event_id, now)
        if woken and self.sender is not None:
            self.sender.notify()

    async def _wake(self, tx: Transaction, chat: ChatRef) -> int:
        """What waited for the person is due now, oldest first; plain texts (status updates,
        replies) become one digest message, so a returning person is not flooded."""
        repo = self.services.outbox.repo
        plain: list[tuple[int, str]] = []
        for row in await repo.waiting_rows(tx, CHANNEL, chat.chat_id):
            try:
                message = self.services.decode_outgoing(row.payload)
            except Exception:  # left to the sender, which records why it cannot send it
                continue
            if not (message.buttons or message.photo or message.document or message.video):
                plain.append((row.id, message.text))
        digest = None
        if len(plain) >= 2:
            header = self.texts.get("zalo.digest", count=len(plain))
            text = "\n\n".join([header, *(text for _, text in plain)])
            digest = await self.services.outbox.enqueue(
                tx,
                channel=CHANNEL,
                chat_id=chat.chat_id,
                kind=DIGEST_KIND,
                message=OutgoingMessage(text=text),
                priority=PRIORITY_INTERACTIVE,
            )
            # recorded as delivered within the digest (its row id), so they are not sent twice
            merged = [(row_id, f"digest:{digest}") for row_id, _ in plain]
            await repo.mark_sent_many(tx, merged, self.clock.now())
        return await repo.wake_chat(tx, CHANNEL, chat.chat_id) + (1 if digest else 0)

    # --------------------------------------------------------------------- answers out

    def _tip_notice(self) -> list[ZaloMessage]:
        url = self.settings.public_url
        if not url:
            return layout(self.texts.get("zalo.tip_notice_no_web"), [], self.texts)
        button = ZaloButton(self.texts.get("zalo.tip_web_button"), f"{url}/togiac", "url")
        return layout(self.texts.get("zalo.tip_notice"), [button], self.texts)

    async def _send(self, chat: ChatRef, messages: list[ZaloMessage], *, keep: bool) -> None:
        assert self.transport is not None
        for index, message in enumerate(messages):
            try:
                await self.transport.send_messages(chat.chat_id, [message])
            except DeliveryError as exc:
                if keep:
                    await self._keep(chat, messages[index:])
                    log.warning("Zalo answer not sent now (%s); kept in the outbox", exc)
                else:  # a tip: no id may be stored, so the answer cannot wait anywhere
                    log.warning("Zalo answer during a tip not sent (%s)", exc)
                return
        self.answered += 1

    async def _keep(self, chat: ChatRef, messages: list[ZaloMessage]) -> None:
        """Messages of an answer that could not go now: the outbox delivers them later."""
        async with self.services.db.transaction() as tx:
            for message in messages:
                buttons = [
                    {"label": b.title, "data": self.router.seal.open(chat, b.payload) or ""}
                    for b in message.buttons
                    if b.kind == "query"
                ]
                outgoing = OutgoingMessage.model_validate(
                    {"text": message.text, "buttons": buttons}
                )
                await self.services.outbox.enqueue(
                    tx,
                    channel=CHANNEL,
                    chat_id=chat.chat_id,
                    kind="zalo_answer",
                    message=outgoing,
                    priority=PRIORITY_INTERACTIVE,
                )
        if self.sender is not None:
            self.sender.notify()


def _person(event: ZaloEvent) -> str | None:
    if isinstance(event, ZaloUnfollow | ZaloSubmitInfo):
        return None
    return getattr(event, "user_id", None)


def _anonymous(state: object) -> bool:
    return state is not None and getattr(state, "dialog", None) in ANONYMOUS_DIALOGS
