"""Webhook emitter: signs events as Zalo does and POSTs them, redelivering on timeout or non-200.

Signature: `X-ZEvent-Signature: mac=<hex sha256(app_id + raw body + timestamp + secret)>`, the
timestamp being the body's own `timestamp` (ms, a string), the secret the OA secret key or the app
secret (`signature_secret`). Retries follow `retry_schedule` (Zalo: 30 s, 5 min, 15 min, 30 min,
1 h) times `retry_scale`, or at once on `flush()`; a redelivery sends the same bytes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from sandbox.zalo.models import JSON, Person, new_id

if TYPE_CHECKING:
    from sandbox.zalo.state import ZaloState


def sign(app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret.encode())
    return "mac=" + digest.hexdigest()


@dataclass
class Attempt:
    event_name: str
    attempt: int
    status: int | None  # None: timed out or connection failed
    seconds: float

    def view(self) -> JSON:
        return {
            "event_name": self.event_name,
            "attempt": self.attempt,
            "status": self.status,
            "seconds": self.seconds,
        }


class WebhookEmitter:
    def __init__(self, state: ZaloState) -> None:
        self.state = state
        self.attempts: list[Attempt] = []
        self.events: list[JSON] = []  # every event emitted, in order
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._flush = asyncio.Event()
        self.pending = 0

    # --- events -------------------------------------------------------------------------

    def _base(self, event_name: str) -> JSON:
        config = self.state.config
        return {
            "app_id": config.app_id,
            "event_name": event_name,
            "timestamp": str(self.state.clock.now_ms()),
        }

    def user_event(self, person: Person, event_name: str, message: JSON) -> JSON:
        event = self._base(event_name)
        event.update(
            sender={"id": person.user_id},
            recipient={"id": self.state.config.oa_id},
            message=message,
            user_id_by_app=person.user_id_by_app,
        )
        return event

    def follow_event(self, person: Person, event_name: str) -> JSON:
        event = self._base(event_name)
        event.update(
            oa_id=self.state.config.oa_id,
            follower={"id": person.user_id},
            source="oa_profile",
            user_id_by_app=person.user_id_by_app,
        )
        return event

    def oa_event(self, person: Person, event_name: str, message: JSON) -> JSON:
        """An event whose sender is the OA (echoes, receipts)."""
        event = self._base(event_name)
        event.update(
            sender={"id": self.state.config.oa_id},
            recipient={"id": person.user_id},
            message=message,
            user_id_by_app=person.user_id_by_app,
        )
        return event

    def emit_echo(self, person: Person, seen: JSON) -> None:
        kind = seen.get("kind", "text")
        name = {"text": "oa_send_text", "image": "oa_send_image", "file": "oa_send_file"}.get(
            kind, "oa_send_template"
        )
        message = {"msg_id": seen["message_id"], "text": seen.get("text", "")}
        self.emit_later(self.oa_event(person, name, message))

    # --- delivery -----------------------------------------------------------------------

    def emit_later(self, event: JSON) -> None:
        """Send in the background (echoes, receipts): never blocks the API answer."""
        if not self.state.config.webhook_url:
            self.events.append(event)
            return
        task = asyncio.get_running_loop().create_task(self._deliver_all(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def emit(self, event: JSON) -> int | None:
        """Send now; returns the first attempt's status; retries continue in the background."""
        if not self.state.config.webhook_url:
            self.events.append(event)
            return None
        self.events.append(event)
        body = json.dumps(event, ensure_ascii=False).encode()
        status = await self._attempt(event, body, 1)
        if status != 200:
            self._spawn_retries(event, body)
        return status

    async def _deliver_all(self, event: JSON) -> None:
        self.events.append(event)
        body = json.dumps(event, ensure_ascii=False).encode()
        if await self._attempt(event, body, 1) != 200:
            await self._retry(event, body)

    def _spawn_retries(self, event: JSON, body: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._retry(event, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _retry(self, event: JSON, body: bytes) -> None:
        config = self.state.config
        self.pending += 1
        try:
            for number, delay in enumerate(config.retry_schedule, start=2):
                flush = self._flush
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(flush.wait(), delay * config.retry_scale)
                if await self._attempt(event, body, number) == 200:
                    return
        finally:
            self.pending -= 1

    def flush(self) -> None:
        """Redeliver every pending event now instead of at its scheduled time."""
        self._flush.set()
        self._flush = asyncio.Event()

    async def _attempt(self, event: JSON, body: bytes, number: int) -> int | None:
        config = self.state.config
        url = config.webhook_url
        if not url:
            return None
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {
            "Content-Type": "application/json",
            "X-ZEvent-Signature": sign(
                config.app_id, body, str(event["timestamp"]), config.signing_secret()
            ),
        }
        stats = self.state.stats
        stats.webhook_attempts += 1
        started = time.perf_counter()
        status: int | None
        try:
            timeout = aiohttp.ClientTimeout(total=config.webhook_timeout)
            async with self._session.post(url, data=body, headers=headers, timeout=timeout) as r:
                await r.read()
                status = r.status
        except (TimeoutError, aiohttp.ClientError):
            status = None
        seconds = time.perf_counter() - started
        stats.webhook_answer_times.append(seconds)
        if status != 200:
            stats.webhook_failures += 1
        self.attempts.append(Attempt(str(event.get("event_name")), number, status, seconds))
        return status

    async def drain(self) -> None:
        """Wait until background deliveries (echoes, retries) have finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None


def text_message(text: str) -> JSON:
    return {"msg_id": new_id(), "text": text}


def attachment_message(kind: str, payload: Any, text: str = "") -> JSON:
    return {"msg_id": new_id(), "text": text, "attachments": [{"type": kind, "payload": payload}]}
