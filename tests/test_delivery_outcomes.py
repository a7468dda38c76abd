"""Outcomes a channel can return besides sent: outside the person's window, and needs the admin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.kernel.clock import ManualClock
from bot.kernel.outbox import (
    NeedsAdministrator,
    Outbox,
    OutboxSender,
    OutgoingMessage,
    OutsideWindow,
)
from storage.db import Database
from storage.outbox import WAITING_FOR_INTERACTION, OutboxRepository
from tests.conftest import TZ

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)


class ScriptedChannel:
    """A transport whose answers a test chooses per chat: an outcome to raise, or delivery."""

    def __init__(self) -> None:
        self.refuse: dict[str, Exception] = {}
        self.delivered: list[tuple[str, str]] = []

    async def deliver(self, chat_id: str, message: OutgoingMessage) -> str:
        if chat_id in self.refuse:
            raise self.refuse[chat_id]
        self.delivered.append((chat_id, message.text))
        return str(len(self.delivered))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "antq.db")
    try:
        yield database
    finally:
        await database.close()


async def enqueue(db: Database, repo: OutboxRepository, chat_id: str, text: str) -> int:
    async with db.transaction() as tx:
        added = await Outbox(repo).enqueue(
            tx, channel="zalo", chat_id=chat_id, kind="reporter_update",
            message=OutgoingMessage(text=text),
        )  # fmt: skip
    assert added is not None
    return added


async def test_outside_the_window_waits_for_the_person_and_never_unsubscribes(db: Database):
    clock = ManualClock(TZ, NOW)
    repo = OutboxRepository(db, clock.now)
    channel = ScriptedChannel()
    blocked: list[str] = []

    async def on_blocked(channel_name: str, chat_id: str) -> None:
        blocked.append(chat_id)

    sender = OutboxSender(
        db, repo, channel, clock, global_rate=0, per_chat_rate=0, channel="zalo",
        on_blocked=on_blocked,
    )  # fmt: skip
    first = await enqueue(db, repo, "98765432109876543210", "Tin báo K7QX-92MD: đã tiếp nhận")
    channel.refuse["98765432109876543210"] = OutsideWindow(None, "zalo-230")
    await sender.drain_once()
    row = await repo.get(first)
    assert row is not None and row.state == "pending" and row.attempts == 0
    assert row.not_before is not None and row.not_before.year == 9999  # waits, not retried
    clock.advance(timedelta(days=30))
    assert await sender.drain_once() == 0  # a month later it still waits for the person
    del channel.refuse["98765432109876543210"]
    async with db.transaction() as tx:  # the person writes again
        assert await repo.wake_chat(tx, "zalo", "98765432109876543210") == 1
    await sender.drain_once()
    assert channel.delivered == [("98765432109876543210", "Tin báo K7QX-92MD: đã tiếp nhận")]
    assert blocked == []  # nobody was marked unreachable or unsubscribed
    assert WAITING_FOR_INTERACTION.startswith("9999")


async def test_quota_or_night_reschedules_after_the_given_time(db: Database):
    clock = ManualClock(TZ, NOW)
    repo = OutboxRepository(db, clock.now)
    channel = ScriptedChannel()
    sender = OutboxSender(db, repo, channel, clock, global_rate=0, per_chat_rate=0, channel="zalo")
    row_id = await enqueue(db, repo, "1", "Nhắc hạn")
    channel.refuse["1"] = OutsideWindow(3600, "zalo-211")
    await sender.drain_once()
    row = await repo.get(row_id)
    assert row is not None and row.state == "pending"
    assert row.not_before == NOW + timedelta(hours=1)


async def test_dead_credentials_keep_the_rows_and_alert_once_per_failure(db: Database):
    clock = ManualClock(TZ, NOW)
    repo = OutboxRepository(db, clock.now)
    channel = ScriptedChannel()
    alerts: list[tuple[str, str]] = []

    async def alert(channel_name: str, error: str) -> None:
        alerts.append((channel_name, error))

    sender = OutboxSender(
        db, repo, channel, clock, global_rate=0, per_chat_rate=0, channel="zalo",
        on_needs_administrator=alert,
    )  # fmt: skip
    ids = [await enqueue(db, repo, chat, "Thông báo") for chat in ("1", "2")]
    channel.refuse["1"] = NeedsAdministrator("zalo-118")
    await sender.drain_once()
    assert alerts and alerts[0] == ("zalo", "zalo-118")
    first = await repo.get(ids[0])
    assert first is not None and first.state == "pending"  # kept for when the admin is back
    assert first.not_before is not None and first.not_before > NOW
    assert sender.stats["needs_administrator"] >= 1
