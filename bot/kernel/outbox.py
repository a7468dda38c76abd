"""The one outbox sender: proactive messages paced under Telegram's limits, retried and recorded."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from os import PathLike
from typing import Any, Protocol

from pydantic import BaseModel, Field, field_validator, model_validator

from bot.chat.reply import Reply
from bot.kernel.clock import Clock
from bot.kernel.files import is_store_id
from bot.kernel.pacing import Pacer
from storage.db import Database, Transaction
from storage.outbox import OutboxItem, OutboxRepository, OutboxRow

log = logging.getLogger(__name__)

PRIORITY_INTERACTIVE = 20  # replies to a person who is waiting, office notifications
PRIORITY_REMINDER = 10
PRIORITY_BULK = 0  # weekly outreach, re-announcements

# ------------------------------------------------------------------------ what is delivered


class OutgoingButton(BaseModel):
    label: str
    data: str
    row: int | None = None
    url: str | None = None  # a button that opens a page (bot/chat/reply.py)


class FileRef(BaseModel):
    """A file to send: a file of the bot's store, a local path to upload, or a channel file id.

    `stored_id` is the rule; each channel uploads the stored file and may cache its own id for
    it. `file_id` (a Telegram file id) remains for messages and references written before the
    store existed.
    """

    stored_id: str | None = None
    file_id: str | None = None
    path: str | None = None
    file_name: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> FileRef:
        given = [v for v in (self.stored_id, self.file_id, self.path) if v is not None]
        if len(given) != 1:
            raise ValueError("a file reference needs exactly one of stored_id, file_id and path")
        return self

    @classmethod
    def of(cls, ref: str) -> FileRef:
        """A stored file by its id; a reference from before the store as a Telegram file id."""
        return cls(stored_id=ref) if is_store_id(ref) else cls(file_id=ref)


class OutgoingMessage(BaseModel):
    """One message as the sender delivers it; round-trips through JSON (the outbox payload)."""

    text: str = ""  # Telegram-HTML; the caption of a photo/document unless `caption` is set
    buttons: list[OutgoingButton] = Field(default_factory=list)
    photo: FileRef | None = None
    document: FileRef | None = None
    video: FileRef | None = None
    caption: str | None = None
    disable_notification: bool = False

    @field_validator("buttons", mode="before")
    @classmethod
    def _flat_buttons(cls, value: Any) -> Any:
        """Payloads queued before the chat port held rows of buttons: flatten them."""
        if isinstance(value, list) and any(isinstance(item, list) for item in value):
            return [
                {**button, "row": number} if isinstance(button, dict) else button
                for number, row in enumerate(value)
                for button in (row if isinstance(row, list) else [row])
            ]
        return value

    @field_validator("photo", "document", "video", mode="before")
    @classmethod
    def _file_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"stored_id": value} if is_store_id(value) else {"file_id": value}
        if isinstance(value, PathLike):
            return {"path": str(value)}
        return value

    @model_validator(mode="after")
    def _has_content(self) -> OutgoingMessage:
        files = [f for f in (self.photo, self.document, self.video) if f is not None]
        if len(files) > 1:
            raise ValueError("a message carries one photo, document or video at most")
        if not self.text and not files:
            raise ValueError("a message needs a text, a photo, a document or a video")
        return self

    @classmethod
    def from_reply(cls, reply: Reply, **extra: Any) -> OutgoingMessage:
        buttons = [
            OutgoingButton(label=b.label, data=b.data, row=b.row, url=b.url) for b in reply.buttons
        ]
        return cls(text=reply.text, buttons=buttons, **extra)

    def to_payload(self) -> str:
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def from_payload(cls, payload: str) -> OutgoingMessage:
        return cls.model_validate_json(payload)


Encode = Callable[[OutgoingMessage], str]
Decode = Callable[[str], OutgoingMessage]


def plain_encode(message: OutgoingMessage) -> str:
    return message.to_payload()


def plain_decode(payload: str) -> OutgoingMessage:
    return OutgoingMessage.from_payload(payload)


# ------------------------------------------------------------------ delivery outcomes


class DeliveryError(Exception):
    """An outcome the transport reports; `error_class` is a class name, safe to log and store."""

    def __init__(self, error_class: str | None = None) -> None:
        self.error_class = error_class or type(self).__name__
        super().__init__(self.error_class)


class RetryLater(DeliveryError):
    """Flood control (Telegram 429): try again after `seconds`; the limit is bot-wide."""

    def __init__(self, seconds: float, error_class: str | None = None) -> None:
        super().__init__(error_class)
        self.seconds = float(seconds)


class Blocked(DeliveryError):
    """The person blocked the bot, or the chat is gone (403)."""


class TemporaryFailure(DeliveryError):
    """Network error, timeout, 5xx: worth trying again later."""


class PermanentFailure(DeliveryError):
    """The request itself is wrong (400): trying again would fail the same way."""


class OutsideWindow(DeliveryError):
    """The channel will not deliver now (Zalo: past the person's window, out of quota, at night).

    Never an unsubscribe: the row waits until `seconds` have passed or, with `seconds=None`,
    until the person's next interaction with the bot on that channel.
    """

    def __init__(self, seconds: float | None = None, error_class: str | None = None) -> None:
        super().__init__(error_class)
        self.seconds = seconds


class NeedsAdministrator(DeliveryError):
    """The channel's credentials are dead (e.g. Zalo's refresh token): keep the rows, alert."""


class Transport(Protocol):
    async def deliver(self, chat_id: str, message: OutgoingMessage) -> str:
        """Send (or edit) the message; returns its message id or raises a DeliveryError."""
        ...


# ------------------------------------------------------------------------- enqueueing


class Outbox:
    """What services use: write a message in their own transaction (then `sender.notify()`)."""

    def __init__(self, repo: OutboxRepository, encode: Encode = plain_encode) -> None:
        self.repo = repo
        self.encode = encode

    def item(
        self,
        *,
        chat_id: str,
        kind: str,
        message: OutgoingMessage,
        ref: str | None = None,
        priority: int = PRIORITY_BULK,
        not_before: datetime | None = None,
        dedupe_key: str | None = None,
        channel: str,
    ) -> OutboxItem:
        """One row to write: the message encoded (and encrypted, if `encode` does) as payload."""
        payload = self.encode(message)
        return OutboxItem(channel, chat_id, kind, payload, ref, priority, not_before, dedupe_key)

    async def enqueue(
        self,
        tx: Transaction,
        *,
        chat_id: str,
        kind: str,
        message: OutgoingMessage,
        ref: str | None = None,
        priority: int = PRIORITY_BULK,
        not_before: datetime | None = None,
        dedupe_key: str | None = None,
        channel: str,
    ) -> int | None:
        """Write one message in `tx`; None when its dedupe_key was enqueued before."""
        item = self.item(
            chat_id=chat_id,
            kind=kind,
            message=message,
            ref=ref,
            priority=priority,
            not_before=not_before,
            dedupe_key=dedupe_key,
            channel=channel,
        )
        return await self.repo.add(tx, item)

    async def enqueue_many(self, tx: Transaction, items: Iterable[OutboxItem]) -> int:
        """Bulk path (build the items with `item(...)`); returns how many were new."""
        return await self.repo.enqueue_many(tx, items)


# ---------------------------------------------------------------------------- pacing


MAX_BACKOFF = 300.0

OnSent = Callable[[Transaction, OutboxRow, str], Awaitable[None]]
OnBlocked = Callable[[str, str], Awaitable[None]]  # (channel, chat id)
OnNeedsAdministrator = Callable[[str, str], Awaitable[None]]  # (channel, error class)
Outcome = str | DeliveryError
ADMIN_RETRY_SECONDS = 600.0


def _ceil_second(moment: datetime) -> datetime:
    """Times are stored to the second; round up so a retry never happens early."""
    if moment.microsecond:
        moment += timedelta(microseconds=1_000_000 - moment.microsecond)
    return moment


class OutboxSender:
    """Drains the outbox: claims due rows, paces them, delivers, records each outcome."""

    def __init__(
        self,
        db: Database,
        repo: OutboxRepository,
        transport: Transport,
        clock: Clock,
        *,
        decode: Decode = plain_decode,
        global_rate: float = 30.0,  # Telegram's 30 a second, evenly spaced
        global_limit: int | None = None,  # at most this many in any second (the rate, rounded up)
        per_chat_rate: float = 1.0,
        per_chat_burst: int = 1,  # one a second in any window of a second, from the last answer
        group_per_minute: float = 17,  # with a burst of 3: at most 20 in any minute, Telegram's
        group_burst: int = 3,  # limit, and a report with two files reaches the office at once
        concurrency: int = 16,
        max_attempts: int = 8,
        batch_size: int = 200,
        poll_interval: float = 0.5,
        channel: str,
        on_sent: Mapping[str, OnSent] | None = None,
        on_blocked: OnBlocked | None = None,
        on_needs_administrator: OnNeedsAdministrator | None = None,
        is_group: Callable[[str], bool] = lambda chat: False,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.db, self.repo, self.transport, self.clock = db, repo, transport, clock
        self.decode = decode
        self.global_rate = global_rate
        self.pacer = Pacer(
            global_rate=global_rate,
            per_chat_rate=per_chat_rate,
            per_chat_burst=per_chat_burst,
            group_per_minute=group_per_minute,
            group_burst=group_burst,
            global_limit=global_limit,
            is_group=is_group,
        )
        self.concurrency = max(1, concurrency)
        self.max_attempts = max(1, max_attempts)
        self.poll_interval = poll_interval
        self.channel = channel
        self.on_sent = dict(on_sent or {})
        self.on_blocked = on_blocked
        self.on_needs_administrator = on_needs_administrator
        self.is_group = is_group
        self._mono = monotonic
        self._rng = rng or random.Random()
        # Claim about two seconds of work at a time: rows waiting in memory are 'sending'.
        paced = int(global_rate * 2) if global_rate > 0 else batch_size
        self.batch_size = max(1, min(batch_size, max(paced, 2 * self.concurrency)))

        self._ready: list[tuple[int, int, OutboxRow]] = []  # (-priority, id, row)
        self._deferred: list[tuple[float, int, int, OutboxRow]] = []  # (when, -priority, id, row)
        self._parked: dict[str, list[OutboxRow]] = {}  # rows whose chat has one in flight
        self._busy: set[str] = set()
        self._buffered = 0
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._sent: list[tuple[OutboxRow, str]] = []
        self._flushing = False
        self._paused_until = 0.0
        self._wake = asyncio.Event()
        self._notified = False
        self._more_due = True
        self._next_claim_at = 0.0
        self._stopping = False
        self._running = False
        self._runner: asyncio.Task[None] | None = None
        self.stats = {
            "sent": 0,
            "retried": 0,
            "failed": 0,
            "blocked": 0,
            "rate_limited": 0,
            "slowed_down": 0,
            "waiting": 0,
            "needs_administrator": 0,
        }
        # the error class of dead credentials until a message goes through again (for health)
        self.needs_administrator: str | None = None
        self.last_sent_at: datetime | None = None

    # ---------------------------------------------------------------- running and stopping

    def start(self) -> asyncio.Task[None]:
        """Run in a background task (see `stop`)."""
        self._runner = asyncio.create_task(self.run_until_stopped(), name="outbox-sender")
        return self._runner

    async def stop(self) -> None:
        """Finish what is in flight, record it, and put claimed-but-unsent rows back."""
        self._stopping = True
        self._wake.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner

    def notify(self) -> None:
        """Something was enqueued: look at the outbox now instead of at the next poll."""
        self._notified = True
        self._wake.set()

    @property
    def paused_for(self) -> float:
        """Seconds left of a flood-control pause (0.0 when not paused)."""
        return max(0.0, self._paused_until - self._mono())

    async def run_until_stopped(self) -> None:
        if self._running:
            raise RuntimeError("the outbox sender is already running")
        self._running, self._stopping = True, False
        try:
            recovered = await self.repo.recover_in_flight(channel=self.channel)
            log.info("outbox sender started; %d message(s) recovered from in flight", recovered)
            await self._pump(once=False)
        finally:
            await self._finish()
            self._running = False
            log.info("outbox sender stopped")

    async def drain_once(self, now: datetime | None = None) -> int:
        """Deliver every row due at `now` (the clock's now by default) and record the outcomes;
        for tests and one-shot tools. Returns how many rows were tried."""
        if self._running:
            raise RuntimeError("drain_once while the sender is running")
        self._running, self._stopping = True, False
        try:
            moment, total = now or self.clock.now(), 0
            while True:
                claimed = await self._claim(moment, self.batch_size)
                total += claimed
                if claimed < self.batch_size:
                    break
            await self._pump(once=True)
        finally:
            await self._finish()
            self._running = False
        return total

    async def _finish(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._sent:
            await self._flush()
        leftover = [row.id for _, _, row in self._ready]
        leftover += [row.id for *_, row in self._deferred]
        leftover += [row.id for rows in self._parked.values() for row in rows]
        self._ready, self._deferred, self._parked, self._buffered = [], [], {}, 0
        if leftover:
            await self.repo.release(leftover)

    # --------------------------------------------------------------------- the main loop

    async def _pump(self, *, once: bool) -> None:
        while not self._stopping:
            self._wake.clear()
            now = self._mono()
            self._release_deferred(now)
            if not once and self._should_claim(now):
                await self._claim_next(now)
                continue
            if not self._ready:
                if once and not self._buffered and not self._in_flight:
                    return
                await self._wait(self._idle_timeout(now, once))
                continue
            if self._in_flight >= self.concurrency:
                await self._wait(self.poll_interval)
                continue
            hold = max(self._paused_until - now, self.pacer.global_wait(now))
            if hold > 0:
                await self._wait(hold)
                continue
            self._dispatch(heapq.heappop(self._ready)[2], now)

    def _dispatch(self, row: OutboxRow, now: float) -> None:
        chat = row.chat_id
        if chat in self._busy:  # one message per chat at a time keeps a chat's order
            self._parked.setdefault(chat, []).append(row)
            return
        wait = self.pacer.chat_wait(chat, now)
        if wait > 0:
            heapq.heappush(self._deferred, (now + wait, -row.priority, row.id, row))
            return
        self.pacer.take(chat, now)
        self._busy.add(chat)
        self._buffered -= 1
        self._in_flight += 1
        task = asyncio.create_task(self._run_one(row))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wait(self, timeout: float) -> None:
        if self._deferred:
            timeout = min(timeout, self._deferred[0][0] - self._mono())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), max(timeout, 0.001))

    def _idle_timeout(self, now: float, once: bool) -> float:
        if once:
            return self.poll_interval
        return max(0.0, min(self.poll_interval, self._next_claim_at - now))

    # ------------------------------------------------------------------------- claiming

    def _should_claim(self, now: float) -> bool:
        if self._notified:
            return True
        if self._buffered >= max(1, self.batch_size // 2):
            return False
        return self._more_due or now >= self._next_claim_at

    async def _claim_next(self, now: float) -> None:
        limit = max(self.batch_size - self._buffered, self.concurrency)
        self._notified = False
        claimed = await self._claim(self.clock.now(), limit)
        self._more_due = claimed >= limit
        self._next_claim_at = now + self.poll_interval
        if not self._more_due:
            scheduled = await self.repo.next_scheduled(channel=self.channel)
            if scheduled is not None:
                due_in = max(0.0, (scheduled - self.clock.now()).total_seconds())
                self._next_claim_at = min(self._next_claim_at, now + due_in)

    async def _claim(self, moment: datetime, limit: int) -> int:
        rows = await self.repo.claim_due(moment, limit, channel=self.channel)
        for row in rows:
            heapq.heappush(self._ready, (-row.priority, row.id, row))
        self._buffered += len(rows)
        return len(rows)

    # --------------------------------------------------------------------------- pacing

    def _release_deferred(self, now: float) -> None:
        while self._deferred and self._deferred[0][0] <= now:
            _, priority, id_, row = heapq.heappop(self._deferred)
            heapq.heappush(self._ready, (priority, id_, row))

    def _unpark(self, chat: str) -> None:
        rows = self._parked.pop(chat, None)
        for row in rows or ():
            heapq.heappush(self._ready, (-row.priority, row.id, row))

    def _pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._mono() + seconds)

    # -------------------------------------------------------------------------- one row

    async def _run_one(self, row: OutboxRow) -> None:
        try:
            outcome = await self._attempt(row)
        finally:
            self._in_flight -= 1
            self._busy.discard(row.chat_id)
            self.pacer.answered(row.chat_id, self._mono())
            self._unpark(row.chat_id)
            self._wake.set()
        try:
            await self._settle(row, outcome)
        except Exception as exc:  # the row stays 'sending' and is recovered at the next start
            log.error(
                "outbox %d (%s): recording the outcome failed: %s",
                row.id,
                row.kind,
                type(exc).__name__,
            )

    async def _attempt(self, row: OutboxRow) -> Outcome:
        try:
            message = self.decode(row.payload)
        except Exception as exc:
            return PermanentFailure(type(exc).__name__)
        try:
            return await self.transport.deliver(row.chat_id, message)
        except RetryLater as exc:
            # Telegram's 429 is bot-wide: wait as told, then go on slower (never a burst)
            self._pause(exc.seconds)
            if self.pacer.slow_down(self._mono()):
                self.stats["slowed_down"] += 1
                log.warning("outbox: 429 despite pacing; rate now %.1f/s", self.pacer.rate)
            return exc
        except DeliveryError as exc:
            return exc
        except Exception as exc:
            return TemporaryFailure(type(exc).__name__)

    async def _settle(self, row: OutboxRow, outcome: Outcome) -> None:
        if isinstance(outcome, str):
            self._sent.append((row, outcome))
            if not self._flushing:
                await self._flush()
            return
        error = outcome.error_class
        if isinstance(outcome, RetryLater):
            self.stats["rate_limited"] += 1
            when = _ceil_second(self.clock.now() + timedelta(seconds=outcome.seconds))
            await self.repo.reschedule(row.id, when, error)
            log.warning(
                "outbox %d (%s): %s, retry in %gs; sender paused",
                row.id,
                row.kind,
                error,
                outcome.seconds,
            )
        elif isinstance(outcome, OutsideWindow):
            self.stats["waiting"] += 1
            if outcome.seconds is None:
                await self.repo.wait_for_interaction(row.id, error)
                log.info("outbox %d (%s): %s, waits for the person", row.id, row.kind, error)
            else:
                when = _ceil_second(self.clock.now() + timedelta(seconds=outcome.seconds))
                await self.repo.reschedule(row.id, when, error)
                log.info(
                    "outbox %d (%s): %s, again in %gs", row.id, row.kind, error, outcome.seconds
                )
        elif isinstance(outcome, NeedsAdministrator):
            self.stats["needs_administrator"] += 1
            self.needs_administrator = error or "needs_administrator"
            self._pause(ADMIN_RETRY_SECONDS)
            when = _ceil_second(self.clock.now() + timedelta(seconds=ADMIN_RETRY_SECONDS))
            await self.repo.reschedule(row.id, when, error)
            log.error("outbox: %s needs its administrator (%s); messages kept", self.channel, error)
            if self.on_needs_administrator is not None:
                try:
                    await self.on_needs_administrator(self.channel, error)
                except Exception as exc:
                    log.error("outbox: on_needs_administrator failed: %s", type(exc).__name__)
        elif isinstance(outcome, Blocked):
            self.stats["blocked"] += 1
            await self.repo.mark_blocked(row.id)
            log.info("outbox %d (%s): recipient unreachable (%s)", row.id, row.kind, error)
            if self.on_blocked is not None:
                try:
                    await self.on_blocked(self.channel, row.chat_id)
                except Exception as exc:
                    log.error("outbox %d: on_blocked failed: %s", row.id, type(exc).__name__)
        elif isinstance(outcome, TemporaryFailure) and row.attempts + 1 < self.max_attempts:
            self.stats["retried"] += 1
            delay = min(
                MAX_BACKOFF, backoff_seconds(row.attempts) * (1 + 0.25 * self._rng.random())
            )
            when = _ceil_second(self.clock.now() + timedelta(seconds=delay))
            await self.repo.reschedule(row.id, when, error)
            log.warning(
                "outbox %d (%s): %s, attempt %d, retry in %.1fs",
                row.id,
                row.kind,
                error,
                row.attempts + 1,
                delay,
            )
        else:
            self.stats["failed"] += 1
            await self.repo.mark_failed(row.id, error)
            log.warning("outbox %d (%s): failed for good: %s", row.id, row.kind, error)

    async def _flush(self) -> None:
        """Record deliveries in batches, each with its on_sent hooks, in one transaction."""
        self._flushing = True
        try:
            while self._sent:
                batch, self._sent = self._sent, []
                await self._record_sent(batch)
                self.stats["sent"] += len(batch)
                self.needs_administrator = None
                self.last_sent_at = self.clock.now()
        finally:
            self._flushing = False

    async def _record_sent(self, batch: list[tuple[OutboxRow, str]]) -> None:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            await self.repo.mark_sent_many(tx, [(row.id, mid) for row, mid in batch], now)
            for row, message_id in batch:
                hook = self.on_sent.get(row.kind)
                if hook is None:
                    continue
                try:
                    async with tx.savepoint("outbox_on_sent"):
                        await hook(tx, row, message_id)
                except Exception as exc:  # the message went out; keep that on record
                    log.error(
                        "outbox %d (%s): on_sent hook failed: %s",
                        row.id,
                        row.kind,
                        type(exc).__name__,
                    )


def backoff_seconds(attempts: int) -> float:
    """The base delay before retry number `attempts + 1` (jitter is added on top)."""
    return min(MAX_BACKOFF, 2.0 ** min(attempts, 20))
