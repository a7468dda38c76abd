"""Webhook delivery: POST queued updates to the bot, in order per chat, retrying on failure."""

from __future__ import annotations

import asyncio
import contextlib
import json
from functools import partial

import httpx

from sandbox.telegram.models import PendingUpdate, WebhookConfig
from sandbox.telegram.state import SandboxState

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookDelivery:
    """One dispatcher task plus up to `max_connections` concurrent deliveries."""

    def __init__(
        self,
        state: SandboxState,
        timeout: float = 10.0,
        first_backoff: float = 0.05,
        max_backoff: float = 2.0,
    ) -> None:
        self.state = state
        self.timeout = timeout
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None and self.state.webhook is not None:
            self._task = asyncio.create_task(self._run(self.state.webhook))

    async def stop(self) -> None:
        """Stop delivering; unconfirmed in-flight updates go back to the queue front."""
        tasks = [t for t in (self._task, *self._deliveries) if t is not None]
        self._task = None
        self._deliveries.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        state = self.state
        for item in sorted(state.in_flight.values(), key=lambda u: u.update_id, reverse=True):
            state.updates.appendleft(item)
        state.in_flight.clear()
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _run(self, config: WebhookConfig) -> None:
        state = self.state
        limits = httpx.Limits(max_connections=config.max_connections, max_keepalive_connections=10)
        self._client = httpx.AsyncClient(timeout=self.timeout, limits=limits, trust_env=False)
        slots = asyncio.Semaphore(config.max_connections)
        chains: dict[int, asyncio.Task[None]] = {}
        while True:
            if not state.updates:
                await state.updates_pulse.wait(30.0)
                continue
            await slots.acquire()
            if not state.updates:
                slots.release()
                continue
            item = state.updates.popleft()
            state.in_flight[item.update_id] = item
            previous = chains.get(item.chat_id) if item.chat_id is not None else None
            task = asyncio.create_task(self._deliver(config, item, previous))
            self._deliveries.add(task)
            if item.chat_id is not None:
                chains[item.chat_id] = task
            task.add_done_callback(partial(self._finished, slots, chains, item.chat_id))

    def _finished(
        self,
        slots: asyncio.Semaphore,
        chains: dict[int, asyncio.Task[None]],
        chat_id: int | None,
        task: asyncio.Task[None],
    ) -> None:
        slots.release()
        self._deliveries.discard(task)
        if chat_id is not None and chains.get(chat_id) is task:
            del chains[chat_id]

    async def _deliver(
        self, config: WebhookConfig, item: PendingUpdate, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        state = self.state
        body = json.dumps({"update_id": item.update_id, item.type: item.payload}).encode()
        headers = {"Content-Type": "application/json"}
        if config.secret_token:
            headers[SECRET_HEADER] = config.secret_token
        delay = self.first_backoff
        while True:
            client = self._client
            if client is None:
                return
            try:
                response = await client.post(config.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                error = f"Connection failed: {exc.__class__.__name__}"
            else:
                if 200 <= response.status_code < 300:
                    state.in_flight.pop(item.update_id, None)
                    state.stats.webhook_delivered += 1
                    return
                error = f"Wrong response from the webhook: {response.status_code}"
                error += f" {response.reason_phrase}"
            state.stats.webhook_failures += 1
            config.last_error_date = state.now()
            config.last_error_message = error
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_backoff)
