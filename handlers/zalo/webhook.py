"""Zalo webhook in: check the signature over the raw bytes, store, answer 200, work after.

Signature: hex SHA-256 of `app_id + raw body + timestamp + secret` (the body's own `timestamp`),
sent as `X-ZEvent-Signature`, with or without `mac=`; the secret is the OA secret key or the app
secret (setting). A missing or wrong signature is refused with 401, a wrong app or a timestamp
outside the replay window (older than about 2 h 15 min, Zalo's last retry comes about 2 h on, or
more than 5 min ahead) with 403; nothing is stored then.

Events are stored encrypted under a keyed hash of their content (msg_id, else event + timestamp +
subject), so a redelivery is recognised and no raw Zalo id lands in the key. The callback receives
the stored event's id after the answer and loads it with `EventInbox.load`; the event is marked
processed (its content erased) when the callback returns. Echoes (`oa_send_*`), receipts and
anything the OA itself sent are answered 200 and neither stored nor processed.

The callback may mark the event processed itself, in the transaction of its own effects
(`ZaloEventRepository.mark_processed_in`), for exactly-once; otherwise it is at-least-once. An
event kind the bot does not handle, from a person, is stored and handed over as `ZaloIgnored` with
its `user_id`, so the core can answer "not understood".

The webhook layer records no interaction: the callback decides (a tip must leave no Zalo id).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.kernel.clock import Clock
from bot.kernel.crypto import Cipher
from handlers.zalo.settings import ZaloSettings
from storage.zalo import ZaloEventRepository

log = logging.getLogger(__name__)

JSON = dict[str, Any]
Callback = Callable[[int], Awaitable[bool | None]]  # True: it marked the event processed itself

# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class ZaloText:
    user_id: str
    text: str
    msg_id: str
    at: datetime


@dataclass(frozen=True)
class ZaloImage:
    user_id: str
    urls: list[str]
    caption: str
    msg_id: str
    at: datetime


@dataclass(frozen=True)
class ZaloFile:
    user_id: str
    url: str
    name: str
    size: int | None
    msg_id: str
    at: datetime


@dataclass(frozen=True)
class ZaloLocation:
    user_id: str
    latitude: float
    longitude: float
    msg_id: str
    at: datetime


@dataclass(frozen=True)
class ZaloSticker:
    user_id: str
    msg_id: str
    at: datetime


@dataclass(frozen=True)
class ZaloFollow:
    user_id: str
    at: datetime


@dataclass(frozen=True)
class ZaloUnfollow:
    user_id: str
    at: datetime


@dataclass(frozen=True)
class ZaloSubmitInfo:
    user_id: str
    name: str
    phone: str
    at: datetime


@dataclass(frozen=True)
class ZaloIgnored:
    """Echoes, receipts, anything from the OA, and event kinds the bot does not handle."""

    event_name: str
    user_id: str | None = None  # who sent something the bot does not understand, if a person


ZaloEvent = (
    ZaloText
    | ZaloImage
    | ZaloFile
    | ZaloLocation
    | ZaloSticker
    | ZaloFollow
    | ZaloUnfollow
    | ZaloSubmitInfo
    | ZaloIgnored
)

OA_EVENTS = ("oa_send_", "user_received_message", "user_seen_message")


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def event_time(payload: JSON) -> datetime:
    try:
        return datetime.fromtimestamp(int(_str(payload.get("timestamp"))) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return datetime.fromtimestamp(0, UTC)


def subject(payload: JSON) -> str:
    """The person an event is about (sender, or follower for follow/unfollow)."""
    for key in ("follower", "sender", "user"):
        part = payload.get(key)
        if isinstance(part, dict) and part.get("id"):
            return _str(part["id"])
    return ""


def _attachments(message: JSON) -> list[JSON]:
    found = message.get("attachments")
    return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []


def parse_event(payload: JSON, oa_id: str | None = None) -> ZaloEvent:
    name = _str(payload.get("event_name"))
    user = subject(payload)
    at = event_time(payload)
    if name.startswith(OA_EVENTS) or not user or (oa_id is not None and user == oa_id):
        return ZaloIgnored(name)
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    assert isinstance(message, dict)
    msg_id = _str(message.get("msg_id"))
    if name == "follow":
        return ZaloFollow(user, at)
    if name == "unfollow":
        return ZaloUnfollow(user, at)
    if name == "user_send_text":
        return ZaloText(user, _str(message.get("text")), msg_id, at)
    payloads = [a.get("payload") or {} for a in _attachments(message)]
    first: JSON = payloads[0] if payloads and isinstance(payloads[0], dict) else {}
    if name == "user_send_image":
        urls = [_str(p.get("url")) for p in payloads if isinstance(p, dict) and p.get("url")]
        return ZaloImage(user, urls, _str(message.get("text")), msg_id, at)
    if name == "user_send_file" and first.get("url"):
        try:
            size: int | None = int(_str(first.get("size")))
        except ValueError:
            size = None
        return ZaloFile(user, _str(first["url"]), _str(first.get("name")), size, msg_id, at)
    if name == "user_send_location":
        coordinates = first.get("coordinates") or {}
        try:
            latitude = float(_str(coordinates.get("latitude")))
            longitude = float(_str(coordinates.get("longitude")))
        except (ValueError, AttributeError):
            return ZaloIgnored(name, user)
        return ZaloLocation(user, latitude, longitude, msg_id, at)
    if name == "user_send_sticker":
        return ZaloSticker(user, msg_id, at)
    if name == "user_submit_info":
        info = payload.get("info") if isinstance(payload.get("info"), dict) else {}
        assert isinstance(info, dict)
        return ZaloSubmitInfo(user, _str(info.get("name")), _str(info.get("phone")), at)
    return ZaloIgnored(name, user)


# ----------------------------------------------------------------------- signature


def expected_signature(app_id: str, raw: bytes, timestamp: str, secret: str) -> str:
    digest = hashlib.sha256(app_id.encode() + raw + timestamp.encode() + secret.encode())
    return digest.hexdigest()


def verify_signature(
    raw: bytes, header: str | None, app_id: str, timestamp: str, secret: str
) -> bool:
    """Compare in constant time; `mac=` in front is optional, hex case does not matter."""
    if not header:
        return False
    given = header.strip()
    if given.lower().startswith("mac="):
        given = given[4:]
    expected = expected_signature(app_id, raw, timestamp, secret)
    return hmac.compare_digest(given.lower().encode(), expected.encode())


def fresh_enough(at: datetime, now: datetime, settings: ZaloSettings) -> bool:
    if at > now + timedelta(seconds=settings.webhook_max_future_seconds):
        return False
    return at >= now - timedelta(seconds=settings.webhook_max_age_seconds)


def dedupe_key(payload: JSON, cipher: Cipher) -> str:
    """A keyed hash of the event's identity: msg_id, else event + timestamp + subject (+ ids)."""
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    assert isinstance(message, dict)
    msg_id = _str(message.get("msg_id"))
    if msg_id:
        return cipher.pseudonym("zalo-event\x00msg\x00" + msg_id)
    ids = message.get("msg_ids") if isinstance(message.get("msg_ids"), list) else []
    assert isinstance(ids, list)
    parts = [_str(payload.get("event_name")), _str(payload.get("timestamp")), subject(payload)]
    parts += sorted(_str(i) for i in ids)
    return cipher.pseudonym("zalo-event\x00" + "\x00".join(parts))


# --------------------------------------------------------------------------- inbox


class EventInbox:
    """Stored events waiting for the callback; at-least-once, in the order they arrived.

    With `lanes` (the channel's default), events of different people are handled concurrently
    (at most `concurrency` at once) and the events of one person one at a time, in order.
    """

    def __init__(
        self,
        repo: ZaloEventRepository,
        cipher: Cipher,
        clock: Clock,
        callback: Callback,
        oa_id: str | None = None,
        *,
        lanes: bool = False,
        concurrency: int = 64,
    ) -> None:
        self.repo = repo
        self.cipher = cipher
        self.clock = clock
        self.callback = callback
        self.oa_id = oa_id
        self.lanes = lanes
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._waiting: dict[str, deque[int]] = {}
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._loaded: dict[int, ZaloEvent | None] = {}
        self._to_store: list[tuple[str, datetime, str, asyncio.Future[int | None]]] = []
        self._storing = False
        self._stored = asyncio.Event()  # set while no webhook is waiting for its event's commit
        self._stored.set()

    async def store(self, dedupe_key: str, received_at: datetime, payload: str) -> int | None:
        """Store one event for the webhook, committed before this returns (group commit: the
        events of webhooks that arrive together share one transaction, and the workers wait
        while a webhook waits, so that Zalo is answered fast even while the queue drains)."""
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._to_store.append((dedupe_key, received_at, payload, future))
        self._stored.clear()
        if not self._storing:
            self._storing = True
            asyncio.get_running_loop().create_task(self._store_all())
        return await future

    async def _store_all(self) -> None:
        try:
            while self._to_store:
                batch, self._to_store = self._to_store, []
                try:
                    ids = await self.repo.add_many([(k, at, p) for k, at, p, _ in batch])
                except Exception as exc:
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (*_, future), event_id in zip(batch, ids, strict=True):
                    if not future.done():
                        future.set_result(event_id)
                self._stored.set()  # the waiting workers get their turn between batches
                if self._to_store:
                    self._stored.clear()
        finally:
            self._storing = False
            self._stored.set()

    def submit(self, event_id: int, event: ZaloEvent | None = None) -> None:
        """Queue a stored event; the webhook hands over the parsed event with it, so it is not
        read back (the reading connection may still be on a snapshot from before the insert)."""
        if event is not None:
            self._loaded[event_id] = event
        self._queue.put_nowait(event_id)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def recover(self) -> int:
        """Queue again every event stored but not processed (at start-up)."""
        pending = await self.repo.pending()
        for event_id in pending:
            self.submit(event_id)
        return len(pending)

    async def load(self, event_id: int) -> ZaloEvent | None:
        if event_id in self._loaded:
            return self._loaded.pop(event_id)
        stored = await self.repo.get_current(event_id)
        if stored is None or stored.processed_at is not None:
            return None
        return parse_event(json.loads(self.cipher.decrypt(stored.payload)), self.oa_id)

    async def _work(self) -> None:
        while not self._queue.empty():
            event_id = self._queue.get_nowait()
            if not self.lanes:
                await self._run(event_id)
                continue
            try:
                event = await self.load(event_id)
            except Exception:
                log.exception("Zalo event %d could not be read; it stays stored", event_id)
                self._queue.task_done()
                continue
            self._loaded[event_id] = event
            lane = getattr(event, "user_id", None) or ""
            self._waiting.setdefault(lane, deque()).append(event_id)
            if lane not in self._lane_tasks:
                task = asyncio.get_running_loop().create_task(self._lane(lane))
                self._lane_tasks[lane] = task

    async def _lane(self, lane: str) -> None:
        try:
            waiting = self._waiting[lane]
            while waiting:
                event_id = waiting.popleft()
                async with self._slots:
                    await self._stored.wait()  # a webhook waiting to store goes first
                    await self._run(event_id)
        finally:
            self._waiting.pop(lane, None)
            self._lane_tasks.pop(lane, None)

    async def _run(self, event_id: int) -> None:
        try:
            if not await self.callback(event_id):
                await self.repo.mark_processed(event_id, self.clock.now())
        except asyncio.CancelledError:
            raise
        except Exception:  # kept for recover(); the log names no person
            log.exception("Zalo event %d failed; it stays stored for a retry", event_id)
        finally:
            self._loaded.pop(event_id, None)
            self._queue.task_done()

    async def join(self) -> None:
        """Wait until every queued event was handed to the callback."""
        await self._queue.join()

    async def stop(self, grace: float = 0.0) -> None:
        """Stop working, after up to `grace` seconds for what is queued; what was not handled
        stays in the database for `recover()`."""
        if grace > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), grace)
        worker, self._worker = self._worker, None
        tasks = [t for t in (worker, *self._lane_tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._queue = asyncio.Queue()
        self._waiting.clear()
        self._lane_tasks.clear()
        self._loaded.clear()


async def _read_bounded(request: web.Request, limit: int) -> bytes | None:
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def make_webhook_route(
    settings: ZaloSettings,
    repo: ZaloEventRepository,
    inbox: EventInbox,
    cipher: Cipher,
    clock: Clock,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler of `POST /zalo/webhook`."""

    async def handle(request: web.Request) -> web.Response:
        raw = await _read_bounded(request, settings.webhook_max_body)
        if raw is None:
            return web.Response(status=413)
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return web.Response(status=400)
        timestamp = _str(payload.get("timestamp"))
        signature = request.headers.get("X-ZEvent-Signature")
        secret = settings.signing_secret()
        if not verify_signature(raw, signature, settings.app_id, timestamp, secret):
            log.warning("Zalo webhook: signature refused")
            return web.Response(status=401)
        if _str(payload.get("app_id")) not in ("", settings.app_id):
            return web.Response(status=403)
        if not fresh_enough(event_time(payload), clock.now(), settings):
            log.warning("Zalo webhook: timestamp outside the replay window")
            return web.Response(status=403)
        event = parse_event(payload, settings.oa_id)
        if isinstance(event, ZaloIgnored) and event.user_id is None:
            return web.Response(status=200)  # echoes, receipts, the OA itself: nothing to do
        key = dedupe_key(payload, cipher)
        event_id = await inbox.store(key, clock.now(), cipher.encrypt(raw.decode("utf-8")))
        if event_id is not None:
            inbox.submit(event_id, event)
        return web.Response(status=200)

    return handle


def make_verifier_route(content: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Serves Zalo's domain check file (`/zalo_verifier<code>.html`) from a setting."""

    async def handle(request: web.Request) -> web.Response:
        return web.Response(text=content, content_type="text/html")

    return handle
