"""The outbox table: proactive messages written in the causing transaction, claimed by a sender."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from storage.db import Database, Transaction, from_db, to_db

# not_before of a row that waits for the person's next interaction (Zalo's window closed): a
# moment no clock reaches, so that `claim_due` leaves it alone until `wake_chat`.
WAITING_FOR_INTERACTION = "9999-12-31T00:00:00+00:00"

STATES = ("pending", "sending", "sent", "failed", "blocked", "cancelled")


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One message to enqueue (the bulk form of `OutboxRepository.enqueue`'s arguments)."""

    channel: str  # no default: a row without its channel would go to the wrong network
    chat_id: str
    kind: str
    payload: str
    ref: str | None = None
    priority: int = 0
    not_before: datetime | None = None
    dedupe_key: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    channel: str
    chat_id: str
    kind: str
    payload: str
    ref: str | None
    priority: int
    state: str
    attempts: int
    not_before: datetime | None
    created_at: datetime
    sent_at: datetime | None
    message_id: str | None
    last_error: str | None
    dedupe_key: str | None


_COLUMNS = (
    "id, channel, chat_id, kind, payload, ref, priority, state, attempts, not_before, "
    "created_at, sent_at, message_id, last_error, dedupe_key"
)
_INSERT = (
    "INSERT INTO outbox (channel, chat_id, kind, payload, ref, priority, not_before, created_at, "
    "dedupe_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING"
)


def _row(row: Sequence[object]) -> OutboxRow:
    values = list(row)
    for index in (9, 10, 11):
        values[index] = from_db(values[index]) if values[index] is not None else None  # type: ignore[arg-type]
    return OutboxRow(*values)  # type: ignore[arg-type]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _params(item: OutboxItem, created: str) -> tuple[object, ...]:
    not_before = to_db(item.not_before) if item.not_before is not None else None
    return (
        item.channel,
        item.chat_id,
        item.kind,
        item.payload,
        item.ref,
        item.priority,
        not_before,
        created,
        item.dedupe_key,
    )


class OutboxRepository:
    """Enqueue inside the caller's transaction; claim, mark and count for the sender."""

    def __init__(self, db: Database, now: Callable[[], datetime] = _utc_now) -> None:
        self.db = db
        self._now = now

    # ------------------------------------------------------------------ writing messages

    async def enqueue(
        self,
        tx: Transaction,
        *,
        chat_id: str,
        kind: str,
        payload: str,
        ref: str | None = None,
        priority: int = 0,
        not_before: datetime | None = None,
        dedupe_key: str | None = None,
        channel: str,
    ) -> int | None:
        """Add one message; None when a message with this dedupe_key already exists."""
        item = OutboxItem(channel, chat_id, kind, payload, ref, priority, not_before, dedupe_key)
        return await self.add(tx, item)

    async def add(self, tx: Transaction, item: OutboxItem) -> int | None:
        """`enqueue` for an item built beforehand."""
        row = await tx.fetch_one(f"{_INSERT} RETURNING id", _params(item, to_db(self._now())))
        return int(row[0]) if row else None

    async def enqueue_many(self, tx: Transaction, rows: Iterable[OutboxItem]) -> int:
        """Add many messages in one statement; duplicates by dedupe_key are skipped. Returns
        how many were added."""
        created = to_db(self._now())
        before = await tx.fetch_one("SELECT total_changes()")
        await tx.execute_many(_INSERT, (_params(item, created) for item in rows))
        after = await tx.fetch_one("SELECT total_changes()")
        return int(after[0]) - int(before[0]) if before and after else 0

    async def cancel(self, tx: Transaction, kind: str | None = None, ref: str | None = None) -> int:
        """Cancel pending messages of a kind and/or about a ref; returns how many."""
        if kind is None and ref is None:
            raise ValueError("cancel needs a kind or a ref")
        where, params = _filter(kind, ref)
        return await tx.execute(
            f"UPDATE outbox SET state = 'cancelled' WHERE state = 'pending'{where}", params
        )

    # ------------------------------------------------------------------ the sender's side

    async def claim_due(self, now: datetime, limit: int, *, channel: str) -> list[OutboxRow]:
        """Mark up to `limit` due messages 'sending' and return them, highest priority first."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch_all(
                f"UPDATE outbox SET state = 'sending' WHERE id IN ("
                "SELECT id FROM outbox WHERE state = 'pending' AND channel = ? "
                "AND (not_before IS NULL OR not_before <= ?) ORDER BY priority DESC, id LIMIT ?"
                f") RETURNING {_COLUMNS}",
                [channel, to_db(now), limit],
            )
        claimed = [_row(row) for row in rows]
        claimed.sort(key=lambda r: (-r.priority, r.id))
        return claimed

    async def mark_sent(self, tx: Transaction, id: int, message_id: str, now: datetime) -> None:
        await self.mark_sent_many(tx, [(id, message_id)], now)

    async def mark_sent_many(
        self, tx: Transaction, sent: Iterable[tuple[int, str]], now: datetime
    ) -> None:
        """Record deliveries: (outbox id, message id) pairs."""
        stamp = to_db(now)
        await tx.execute_many(
            "UPDATE outbox SET state = 'sent', sent_at = ?, message_id = ?, last_error = NULL "
            "WHERE id = ?",
            ((stamp, message_id, id) for id, message_id in sent),
        )

    async def reschedule(self, id: int, not_before: datetime, error_class: str) -> None:
        """Back to pending, to be tried again at `not_before`; counts one attempt."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET state = 'pending', not_before = ?, attempts = attempts + 1, "
                "last_error = ? WHERE id = ?",
                [to_db(not_before), error_class, id],
            )

    async def wait_for_interaction(self, id: int, error_class: str) -> None:
        """Back to pending, held until the person's next interaction (`wake_chat`); no attempt
        counted, since the person's channel refused it for a reason of its own (a window)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET state = 'pending', not_before = ?, last_error = ? WHERE id = ?",
                [WAITING_FOR_INTERACTION, error_class, id],
            )

    async def wake_chat(self, tx: Transaction, channel: str, chat_id: str) -> int:
        """The person interacted: what waited for them is due now, oldest first."""
        return await tx.execute(
            "UPDATE outbox SET not_before = NULL WHERE channel = ? AND chat_id = ? "
            "AND state = 'pending' AND not_before = ?",
            [channel, chat_id, WAITING_FOR_INTERACTION],
        )

    async def waiting_rows(self, tx: Transaction, channel: str, chat_id: str) -> list[OutboxRow]:
        """The rows waiting for the person's next interaction, oldest first."""
        rows = await tx.fetch_all(
            f"SELECT {_COLUMNS} FROM outbox WHERE channel = ? AND chat_id = ? "
            "AND state = 'pending' AND not_before = ? ORDER BY id",
            [channel, chat_id, WAITING_FOR_INTERACTION],
        )
        return [_row(row) for row in rows]

    async def waiting_for_interaction(self, tx: Transaction, channel: str, chat_id: str) -> int:
        row = await tx.fetch_one(
            "SELECT count(*) FROM outbox WHERE channel = ? AND chat_id = ? AND state = 'pending' "
            "AND not_before = ?",
            [channel, chat_id, WAITING_FOR_INTERACTION],
        )
        return int(row[0]) if row else 0

    async def release(self, ids: Iterable[int]) -> None:
        """Claimed but never tried (the sender stopped): back to pending, no attempt counted."""
        async with self.db.transaction() as tx:
            await tx.execute_many(
                "UPDATE outbox SET state = 'pending' WHERE id = ? AND state = 'sending'",
                ((id,) for id in ids),
            )

    async def mark_failed(self, id: int, error_class: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ? "
                "WHERE id = ?",
                [error_class, id],
            )

    async def mark_blocked(self, id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET state = 'blocked', attempts = attempts + 1, "
                "last_error = 'Blocked' WHERE id = ?",
                [id],
            )

    async def recover_in_flight(self, *, channel: str) -> int:
        """At start-up: messages left 'sending' by a crash go back to pending (they may have
        been delivered already: the only messages that can be sent twice)."""
        async with self.db.transaction() as tx:
            return await tx.execute(
                "UPDATE outbox SET state = 'pending' WHERE state = 'sending' AND channel = ?",
                [channel],
            )

    async def next_scheduled(self, *, channel: str) -> datetime | None:
        """The earliest not_before among pending messages, if any is scheduled."""
        row = await self.db.fetch_one(
            "SELECT MIN(not_before) FROM outbox WHERE state = 'pending' AND channel = ? "
            "AND not_before IS NOT NULL",
            [channel],
        )
        return from_db(row[0]) if row and row[0] is not None else None

    # ------------------------------------------------------------------------- reading

    async def get(self, id: int) -> OutboxRow | None:
        row = await self.db.fetch_one(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", [id])
        return _row(row) if row else None

    async def counts(self, kind: str | None = None, ref: str | None = None) -> dict[str, int]:
        """How many messages are in each state (states with none are left out)."""
        where, params = _filter(kind, ref)
        rows = await self.db.fetch_all(
            f"SELECT state, COUNT(*) FROM outbox WHERE 1 = 1{where} GROUP BY state", params
        )
        return {str(state): int(n) for state, n in rows}

    async def forget_chat(self, tx: Transaction, channel: str, chat_id: str) -> int:
        """/xoadulieu: nothing still queued reaches this chat, and no row keeps its id or what
        was sent to it (sent rows included); returns how many pending rows were cancelled."""
        cancelled = await tx.execute(
            "UPDATE outbox SET state = 'cancelled' WHERE channel = ? AND chat_id = ? "
            "AND state = 'pending'",
            [channel, chat_id],
        )
        await tx.execute(
            "UPDATE outbox SET chat_id = '', payload = '' WHERE channel = ? AND chat_id = ?",
            [channel, chat_id],
        )
        return cancelled

    async def cancel_kind_for_chat(
        self, tx: Transaction, channel: str, chat_id: str, kind: str
    ) -> int:
        """Nothing of `kind` still queued reaches this chat (a staff member unlinked)."""
        return await tx.execute(
            "UPDATE outbox SET state = 'cancelled' WHERE channel = ? AND chat_id = ? "
            "AND kind = ? AND state = 'pending'",
            [channel, chat_id, kind],
        )

    async def by_ref_in(self, tx: Transaction, ref: str, kind: str) -> list[OutboxRow]:
        rows = await tx.fetch_all(
            f"SELECT {_COLUMNS} FROM outbox WHERE ref = ? AND kind = ? ORDER BY id", [ref, kind]
        )
        return [_row(row) for row in rows]

    async def set_payload(self, tx: Transaction, id: int, payload: str) -> None:
        await tx.execute("UPDATE outbox SET payload = ? WHERE id = ?", [payload, id])


def _filter(kind: str | None, ref: str | None) -> tuple[str, list[object]]:
    where, params = "", list[object]()
    if kind is not None:
        where += " AND kind = ?"
        params.append(kind)
    if ref is not None:
        where += " AND ref = ?"
        params.append(ref)
    return where, params
