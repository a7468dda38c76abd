"""The outbox: rows written in the caller's transaction, delivered once through the sandbox."""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.kernel.clock import ManualClock
from bot.kernel.config import Settings
from bot.kernel.outbox import (
    PRIORITY_INTERACTIVE,
    Outbox,
    OutboxSender,
    OutgoingButton,
    OutgoingMessage,
)
from handlers.telegram.outbox_transport import TelegramTransport, make_outbox_bot
from sandbox.telegram import SandboxClient, SandboxServer, SimUser
from storage.db import Database, Transaction
from storage.outbox import OutboxRepository, OutboxRow
from tests.conftest import BOT_TOKEN, TZ

START = datetime(2026, 11, 26, 9, 0, tzinfo=TZ)


@dataclass
class Rig:
    server: SandboxServer
    client: SandboxClient
    db: Database
    repo: OutboxRepository
    outbox: Outbox
    transport: TelegramTransport
    clock: ManualClock
    blocked: list[int] = field(default_factory=list)

    def sender(self, **options: Any) -> OutboxSender:
        async def on_blocked(channel: str, chat_id: str) -> None:
            self.blocked.append(int(chat_id))

        options.setdefault("on_blocked", on_blocked)
        options.setdefault("rng", random.Random(7))
        options.setdefault("channel", "telegram")
        options.setdefault("is_group", lambda chat: chat.startswith("-"))
        return OutboxSender(self.db, self.repo, self.transport, self.clock, **options)

    async def users(self, n: int) -> list[SimUser]:
        return [await self.client.create_user(f"Người {i}") for i in range(n)]

    async def send(
        self, chat_id: int, text: str, *, content: dict[str, Any] | None = None, **fields: Any
    ) -> int | None:
        """Enqueue one message (`content`: more OutgoingMessage fields) in its own transaction."""
        message = OutgoingMessage(text=text, **(content or {}))
        async with self.db.transaction() as tx:
            return await self.outbox.enqueue(
                tx, channel="telegram", chat_id=str(chat_id), kind="test", message=message, **fields
            )

    async def row(self, id_: int | None) -> OutboxRow:
        assert id_ is not None
        row = await self.repo.get(id_)
        assert row is not None
        return row


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    server = SandboxServer()  # Telegram's limits: 30/s overall, 1/s (burst 3) per chat
    await server.start()
    client = SandboxClient(server.url)
    db = await Database.open(tmp_path / "antq.db")
    clock = ManualClock(TZ, START)
    repo = OutboxRepository(db, clock.now)
    settings = Settings(
        _env_file=None,
        bot_token=BOT_TOKEN,
        api_base_url=server.url,
        database_path=tmp_path / "antq.db",
    )
    transport = TelegramTransport(make_outbox_bot(settings))
    await transport.start()
    try:
        yield Rig(server, client, db, repo, Outbox(repo), transport, clock)
    finally:
        await transport.stop()
        await db.close()
        await client.aclose()
        await server.stop()


@asynccontextmanager
async def running(sender: OutboxSender) -> AsyncIterator[OutboxSender]:
    task = sender.start()
    try:
        yield sender
    finally:
        await sender.stop()
        assert task.done()


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Poll (real time, for deliveries to arrive) until `check` holds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def state_is(rig: Rig, id_: int | None, state: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await rig.row(id_)).state == state

    return check


async def delivered(rig: Rig) -> dict[int, int]:
    counts = (await rig.client.deliveries())["deliveries"]
    return {int(chat): n for chat, n in counts.items() if n}


# ------------------------------------------------------------------------------ payloads


def test_outgoing_message_round_trips_through_json(tmp_path: Path):
    message = OutgoingMessage(
        text="<b>Báo cáo #42</b> đã được tiếp nhận",
        buttons=[[OutgoingButton(label="Xem", data="r:42"), OutgoingButton(label="Ẩn", data="h")]],
        document=tmp_path / "biên bản.pdf",
        caption="Biên bản",
        disable_notification=True,
    )
    again = OutgoingMessage.from_payload(message.to_payload())
    assert again == message
    assert again.document is not None and again.document.path == str(tmp_path / "biên bản.pdf")
    assert OutgoingMessage(text="", photo="AgACfile").photo.file_id == "AgACfile"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        OutgoingMessage(text="")


# -------------------------------------------------------------------- storage semantics


async def test_a_rolled_back_transaction_leaves_no_message(rig: Rig):
    (user,) = await rig.users(1)
    with pytest.raises(RuntimeError):
        async with rig.db.transaction() as tx:
            await rig.outbox.enqueue(
                tx,
                channel="telegram",
                chat_id=str(user.id),
                kind="office_report",
                message=OutgoingMessage(text="x"),
            )
            raise RuntimeError("the change that caused the message failed")
    assert await rig.repo.counts() == {}
    assert await rig.sender().drain_once() == 0
    assert await delivered(rig) == {}


async def test_a_dedupe_key_makes_the_second_enqueue_a_no_op(rig: Rig):
    a, b = await rig.users(2)
    first = await rig.send(a.id, "Tuần 12: an toàn giao thông", dedupe_key="week12:a")
    assert first is not None
    assert await rig.send(a.id, "Tuần 12: an toàn giao thông", dedupe_key="week12:a") is None
    async with rig.db.transaction() as tx:
        items = [
            rig.outbox.item(
                channel="telegram",
                chat_id=str(user.id),
                kind="weekly",
                message=OutgoingMessage(text="Tuần 12: an toàn giao thông"),
                dedupe_key=f"week12:{name}",
            )
            for user, name in ((a, "a"), (b, "b"), (b, "b"))
        ]
        assert await rig.outbox.enqueue_many(tx, items) == 1  # only b's first one is new
    assert await rig.repo.counts() == {"pending": 2}
    assert await rig.sender().drain_once() == 2
    assert await delivered(rig) == {a.id: 1, b.id: 1}


async def test_cancel_by_ref_stops_pending_messages(rig: Rig):
    (user,) = await rig.users(1)
    for text in ("Nhắc hạn nộp 1", "Nhắc hạn nộp 2"):
        await rig.send(user.id, text, ref="deadline:7")
    await rig.send(user.id, "Khác", ref="deadline:8")
    async with rig.db.transaction() as tx:
        assert await rig.repo.cancel(tx, ref="deadline:7") == 2
    assert await rig.repo.counts(ref="deadline:7") == {"cancelled": 2}
    assert await rig.sender().drain_once() == 1
    assert await delivered(rig) == {user.id: 1}


# ----------------------------------------------------------------------------- delivery


async def test_messages_enqueued_in_one_transaction_are_each_delivered_once(rig: Rig):
    users = await rig.users(8)
    async with rig.db.transaction() as tx:
        ids = [
            await rig.outbox.enqueue(
                tx,
                channel="telegram",
                chat_id=str(user.id),
                kind="office_report",
                message=OutgoingMessage(
                    text=f"<b>Phản ánh #{i}</b>", buttons=[[OutgoingButton(label="Mở", data="o")]]
                ),
                ref=f"report:{i}",
            )
            for i, user in enumerate(users)
        ]
    async with running(rig.sender()):
        await until(lambda: _all_sent(rig, len(users)))
    assert await delivered(rig) == {user.id: 1 for user in users}
    stats = await rig.client.stats()
    assert stats["duplicates"] == 0 and stats["rate_limited"] == 0
    reply = await users[3].next_reply(timeout=1)
    assert reply.html == "<b>Phản ánh #3</b>" and reply.labels == ["Mở"]
    assert (await rig.row(ids[3])).message_id == str(reply.message_id)


async def _all_sent(rig: Rig, n: int) -> bool:
    return await rig.repo.counts() == {"sent": n}


async def test_notify_sends_a_fresh_message_at_once_without_waiting_for_a_poll(rig: Rig):
    (user,) = await rig.users(1)
    async with running(rig.sender(poll_interval=30.0)) as sender:
        await until(lambda: _claimed_once(sender))
        id_ = await rig.send(user.id, "Phản ánh của bạn đã được chuyển", priority=20)
        sender.notify()
        await until(state_is(rig, id_, "sent"), timeout=1.0)


async def _claimed_once(sender: OutboxSender) -> bool:
    return sender._next_claim_at > 0  # the first (empty) claim has happened


async def test_a_scheduled_message_waits_for_the_clock_not_for_real_time(rig: Rig):
    (user,) = await rig.users(1)
    id_ = await rig.send(user.id, "Nhắc: hạn nộp báo cáo", not_before=START + timedelta(hours=1))
    async with running(rig.sender(poll_interval=0.05)):
        await asyncio.sleep(0.3)
        assert (await rig.row(id_)).state == "pending"
        rig.clock.advance(timedelta(hours=1))
        await until(state_is(rig, id_, "sent"), timeout=2.0)
    assert await delivered(rig) == {user.id: 1}


async def test_a_custom_encoding_is_stored_and_decoded(rig: Rig):
    (user,) = await rig.users(1)

    def encode(message: OutgoingMessage) -> str:
        return "v1:" + base64.b64encode(message.to_payload().encode()).decode()

    def decode(payload: str) -> OutgoingMessage:
        assert payload.startswith("v1:")
        return OutgoingMessage.from_payload(base64.b64decode(payload[3:]).decode())

    async with rig.db.transaction() as tx:
        id_ = await Outbox(rig.repo, encode).enqueue(
            tx,
            channel="telegram",
            chat_id=str(user.id),
            kind="reply",
            message=OutgoingMessage(text="Mã tra cứu: K7Q2"),
        )
    assert "K7Q2" not in (await rig.row(id_)).payload
    await rig.sender(decode=decode).drain_once()
    assert (await user.next_reply(timeout=1)).text == "Mã tra cứu: K7Q2"


async def test_a_photo_from_a_local_path_is_uploaded(rig: Rig, tmp_path: Path):
    (user,) = await rig.users(1)
    picture = tmp_path / "poster.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\nsandbox")
    await rig.send(user.id, "Áp phích tuần này", content={"photo": picture})
    await rig.sender().drain_once()
    reply = await user.next_reply(timeout=1)
    assert reply.kind == "photo" and reply.caption == "Áp phích tuần này"


async def test_the_on_sent_hook_gets_the_message_id_inside_the_same_transaction(
    rig: Rig, tmp_path: Path
):
    (user,) = await rig.users(1)
    seen: list[tuple[int, str, int | None, str]] = []

    async def on_sent(tx: Transaction, row: OutboxRow, message_id: int) -> None:
        inside = await tx.fetch_one("SELECT state, message_id FROM outbox WHERE id = ?", [row.id])
        assert inside is not None
        async with (
            aiosqlite.connect(tmp_path / "antq.db") as other,
            other.execute("SELECT state FROM outbox WHERE id = ?", [row.id]) as cursor,
        ):
            outside = await cursor.fetchone()
        assert outside is not None
        seen.append((message_id, inside[0], inside[1], outside[0]))

    async def broken(tx: Transaction, row: OutboxRow, message_id: int) -> None:
        raise LookupError("a hook that fails")

    id_ = await rig.send(user.id, "Phản ánh #42 đã được tiếp nhận", ref="report:42")
    async with rig.db.transaction() as tx:
        other = await rig.outbox.enqueue(
            tx,
            channel="telegram",
            chat_id=str(user.id),
            kind="broken",
            message=OutgoingMessage(text="khác"),
        )
    await rig.sender(on_sent={"test": on_sent, "broken": broken}).drain_once()
    reply = await user.next_reply(timeout=1)
    # the hook sees the row already 'sent' with the id; a second connection still sees 'sending'
    mid = str(reply.message_id)
    assert seen == [(mid, "sent", mid, "sending")]
    assert (await rig.row(id_)).state == "sent"
    assert (await rig.row(other)).state == "sent"  # a failing hook does not undo the delivery


# --------------------------------------------------------------------------- failures


async def test_a_429_reschedules_by_retry_after_and_pauses_the_whole_sender(rig: Rig):
    a, b = await rig.users(2)
    await rig.client.set_fault("sendMessage", "429", count=1, retry_after=1)
    first = await rig.send(a.id, "Thông báo từ văn phòng")
    async with running(rig.sender(poll_interval=0.05)) as sender:
        await until(lambda: _attempted(rig, first))
        row = await rig.row(first)
        assert (row.state, row.last_error) == ("pending", "RetryAfter")
        assert row.not_before == START + timedelta(seconds=1)
        assert sender.paused_for > 0.5
        second = await rig.send(b.id, "Tin khác trong lúc tạm dừng", priority=PRIORITY_INTERACTIVE)
        sender.notify()
        await asyncio.sleep(0.2)
        assert (await rig.row(second)).state != "sent"  # paused: Telegram's 429 is bot-wide
        rig.clock.advance(timedelta(seconds=1))
        await until(lambda: _all_sent(rig, 2), timeout=3.0)
    assert await delivered(rig) == {a.id: 1, b.id: 1}
    stats = await rig.client.stats()
    assert stats["methods"]["sendMessage"] == 3 and stats["duplicates"] == 0


async def _attempted(rig: Rig, id_: int | None) -> bool:
    return (await rig.row(id_)).attempts > 0


async def test_a_server_error_backs_off_exponentially_then_delivers(rig: Rig):
    (user,) = await rig.users(1)
    await rig.client.set_fault("sendMessage", "500", count=2)
    id_ = await rig.send(user.id, "Kết quả xử lý phản ánh")
    sender = rig.sender()
    waits = []
    for _ in range(2):
        assert await sender.drain_once() == 1
        row = await rig.row(id_)
        assert (row.state, row.last_error) == ("pending", "NetworkError")
        assert row.not_before is not None
        waits.append(row.not_before - rig.clock.now())
        assert await sender.drain_once() == 0  # not due before the backoff is over
        rig.clock.set(row.not_before)
    assert timedelta(seconds=1) <= waits[0] <= timedelta(seconds=2)
    assert timedelta(seconds=2) <= waits[1] <= timedelta(seconds=3)
    assert await sender.drain_once() == 1
    row = await rig.row(id_)
    assert (row.state, row.attempts) == ("sent", 2)
    assert await delivered(rig) == {user.id: 1}


async def test_temporary_failures_give_up_after_max_attempts(rig: Rig):
    (user,) = await rig.users(1)
    await rig.client.set_fault("sendMessage", "502", count=10)
    id_ = await rig.send(user.id, "Không tới được")
    sender = rig.sender(max_attempts=3)
    for _ in range(5):
        await sender.drain_once()
        rig.clock.advance(timedelta(minutes=5))
    row = await rig.row(id_)
    assert (row.state, row.attempts, row.last_error) == ("failed", 3, "NetworkError")
    assert (await rig.client.stats())["methods"]["sendMessage"] == 3


async def test_a_blocked_person_is_reported_and_the_others_still_get_theirs(rig: Rig):
    a, b, c = await rig.users(3)
    await b.block()
    ids = [await rig.send(user.id, "Nội dung tuần 12") for user in (a, b, c)]
    gone = await rig.send(777_000_111, "Chat không tồn tại")  # BadRequest: chat not found
    await rig.sender().drain_once()
    states = [(await rig.row(id_)).state for id_ in [*ids, gone]]
    assert states == ["sent", "blocked", "sent", "blocked"]
    assert sorted(rig.blocked) == sorted([b.id, 777_000_111])
    assert await delivered(rig) == {a.id: 1, c.id: 1}


async def test_a_bad_request_fails_at_once_without_retrying(rig: Rig):
    (user,) = await rig.users(1)
    id_ = await rig.send(user.id, "<b>a tag never closed")  # refused by the server
    sender = rig.sender()
    await sender.drain_once()
    row = await rig.row(id_)
    assert (row.state, row.attempts, row.last_error) == ("failed", 1, "BadRequest")
    rig.clock.advance(timedelta(hours=1))
    assert await sender.drain_once() == 0
    assert (await rig.client.stats())["methods"]["sendMessage"] == 1


# ------------------------------------------------------------------------ crash, restart


async def test_after_a_crash_only_the_in_flight_rows_are_sent_again(rig: Rig):
    a, b, c = await rig.users(3)
    done = await rig.send(a.id, "Đã gửi trước khi sập")
    await rig.sender().drain_once()
    assert (await rig.row(done)).state == "sent"
    in_flight = [await rig.send(user.id, "Đang gửi lúc sập") for user in (b, c)]
    claimed = await rig.repo.claim_due(
        rig.clock.now(), 10, channel="telegram"
    )  # then the process died
    assert [row.id for row in claimed] == in_flight
    assert await rig.sender().drain_once() == 0  # 'sending' rows are not due on their own

    async with running(rig.sender()):
        await until(lambda: _all_sent(rig, 3))
    assert await delivered(rig) == {a.id: 1, b.id: 1, c.id: 1}
    assert await rig.repo.recover_in_flight(channel="telegram") == 0


async def test_stopping_puts_claimed_but_unsent_rows_back(rig: Rig):
    (user,) = await rig.users(1)
    ids = [await rig.send(user.id, f"Tin {i}") for i in range(6)]  # 1/s per chat after 3
    async with running(rig.sender()):
        await until(lambda: _count(rig, "sent", 3), timeout=2.0)
    counts = await rig.repo.counts()
    assert counts.get("sending", 0) == 0 and counts["sent"] + counts["pending"] == 6
    assert (await rig.row(ids[0])).state == "sent"


async def _count(rig: Rig, state: str, n: int) -> bool:
    return (await rig.repo.counts()).get(state, 0) >= n


# --------------------------------------------------------------------------------- pace


async def test_pacing_under_telegram_limits_draws_no_429(rig: Rig):
    users = await rig.users(60)
    busy = users[0]
    texts = ["Tuần 12", "#0", "#1", "#2", "#3"]
    async with rig.db.transaction() as tx:
        items = [
            rig.outbox.item(
                channel="telegram",
                chat_id=str(busy.id),
                kind="weekly",
                message=OutgoingMessage(text=text),
            )
            for text in texts
        ]
        items += [
            rig.outbox.item(
                channel="telegram",
                chat_id=str(user.id),
                kind="weekly",
                message=OutgoingMessage(text="Tuần 12"),
            )
            for user in users[1:]
        ]
        assert await rig.outbox.enqueue_many(tx, items) == 64
    # the busy chat's first message is slow to answer: the next ones must neither overtake it
    # nor count on tokens Telegram only refills from the moment that request arrived
    await rig.client.set_fault("sendMessage", "slow", count=1, delay=0.3)
    started = time.monotonic()
    async with running(rig.sender()):
        await until(lambda: _all_sent(rig, 64), timeout=8.0)
    elapsed = time.monotonic() - started
    stats = await rig.client.stats()
    assert stats["rate_limited"] == 0 and stats["duplicates"] == 0
    assert stats["delivered"] == 64
    assert elapsed >= (64 - 9) / 29  # paced at 29/s after a small burst, not all at once
    shown = [m["text"] for m in await busy.transcript() if m.get("from_bot")]
    assert shown == texts  # one chat keeps its order


class FakeMonotonic:
    """The pacing clock, moved by hand (pacing normally runs on real monotonic time)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_group_gets_a_burst_then_one_message_per_few_seconds(rig: Rig):
    group = await rig.client.create_group("Văn phòng Sở", chat_id=-1001000000001)
    ids = [await rig.send(group, f"Phản ánh mới #{i}") for i in range(5)]
    pace = FakeMonotonic()
    async with running(rig.sender(monotonic=pace, poll_interval=0.05)) as sender:
        await until(lambda: _count(rig, "sent", 3))
        pace.now += 1.1  # enough for a private chat, not for a group
        sender.notify()
        await asyncio.sleep(0.2)
        assert (await rig.repo.counts())["sent"] == 3  # 17 a minute after a burst of 3
        pace.now += 60 / 17 - 1.0
        sender.notify()
        await until(lambda: _count(rig, "sent", 4))
        await asyncio.sleep(0.2)
        assert (await rig.repo.counts())["sent"] == 4
        pace.now += 60 / 17 + 0.1
        sender.notify()
        await until(lambda: _count(rig, "sent", 5))
    assert [(await rig.row(id_)).state for id_ in ids] == ["sent"] * 5
    assert (await rig.client.stats())["rate_limited"] == 0
