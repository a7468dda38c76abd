"""Zalo's rows: the token pair (stored encrypted by the caller), webhook events, last interactions.

Nothing here encrypts or decrypts: the caller hands over ciphertext (the storage layer does not
reach up into bot/). Interactions are recorded only when the caller says so: a person writing a
tip must leave no Zalo id anywhere, so the webhook layer never records one by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Transaction, from_db, to_db


@dataclass(frozen=True)
class StoredTokens:
    access_token: str  # ciphertext
    refresh_token: str  # ciphertext
    access_expires_at: datetime | None
    grant_hash: str


@dataclass(frozen=True)
class StoredEvent:
    id: int
    dedupe_key: str
    received_at: datetime
    payload: str  # ciphertext; "" once processed
    processed_at: datetime | None


class ZaloTokenRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self) -> StoredTokens | None:
        row = await self.db.fetch_one(
            "SELECT access_token, refresh_token, access_expires_at, grant_hash "
            "FROM zalo_tokens WHERE id = 1"
        )
        if row is None:
            return None
        expires = from_db(row[2]) if row[2] else None
        return StoredTokens(str(row[0]), str(row[1]), expires, str(row[3]))

    async def save(self, tokens: StoredTokens, now: datetime) -> None:
        expires = to_db(tokens.access_expires_at) if tokens.access_expires_at else None
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO zalo_tokens (id, access_token, refresh_token, access_expires_at, "
                "grant_hash, updated_at) VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "access_token = excluded.access_token, refresh_token = excluded.refresh_token, "
                "access_expires_at = excluded.access_expires_at, "
                "grant_hash = excluded.grant_hash, updated_at = excluded.updated_at",
                [tokens.access_token, tokens.refresh_token, expires, tokens.grant_hash, to_db(now)],
            )


class ZaloEventRepository:
    """Webhook events: stored before the 200, marked processed after the work, deduplicated."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, dedupe_key: str, received_at: datetime, payload: str) -> int | None:
        """The new event's id, or None when an event with this key was stored before."""
        async with self.db.transaction() as tx:
            row = await tx.fetch_one(  # RETURNING: the id of this very row, never another's
                "INSERT INTO zalo_webhook_events (dedupe_key, received_at, payload) "
                "VALUES (?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                [dedupe_key, to_db(received_at), payload],
            )
        return int(row[0]) if row is not None else None

    async def add_many(self, events: list[tuple[str, datetime, str]]) -> list[int | None]:
        """Several events in one transaction (one commit): each one's id, None for a duplicate."""
        ids: list[int | None] = []
        async with self.db.transaction() as tx:
            for dedupe_key, received_at, payload in events:
                row = await tx.fetch_one(
                    "INSERT INTO zalo_webhook_events (dedupe_key, received_at, payload) "
                    "VALUES (?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                    [dedupe_key, to_db(received_at), payload],
                )
                ids.append(int(row[0]) if row is not None else None)
        return ids

    async def get(self, event_id: int) -> StoredEvent | None:
        row = await self.db.fetch_one(
            "SELECT id, dedupe_key, received_at, payload, processed_at "
            "FROM zalo_webhook_events WHERE id = ?",
            [event_id],
        )
        if row is None:
            return None
        processed = from_db(row[4]) if row[4] else None
        return StoredEvent(int(row[0]), str(row[1]), from_db(row[2]), str(row[3]), processed)

    async def get_current(self, event_id: int) -> StoredEvent | None:
        """As `get`, read on the writing connection: it sees every committed row, whereas the
        reading connection may still be inside a snapshot taken before the event was stored."""
        async with self.db.transaction() as tx:
            row = await tx.fetch_one(
                "SELECT id, dedupe_key, received_at, payload, processed_at "
                "FROM zalo_webhook_events WHERE id = ?",
                [event_id],
            )
        if row is None:
            return None
        processed = from_db(row[4]) if row[4] else None
        return StoredEvent(int(row[0]), str(row[1]), from_db(row[2]), str(row[3]), processed)

    async def mark_processed(self, event_id: int, at: datetime) -> None:
        """Done: the content is erased, the key stays so that a redelivery is still recognised."""
        async with self.db.transaction() as tx:
            await self.mark_processed_in(tx, event_id, at)

    async def mark_processed_in(self, tx: Transaction, event_id: int, at: datetime) -> None:
        await tx.execute(
            "UPDATE zalo_webhook_events SET processed_at = ?, payload = '' "
            "WHERE id = ? AND processed_at IS NULL",
            [to_db(at), event_id],
        )

    async def pending(self) -> list[int]:
        rows = await self.db.fetch_all(
            "SELECT id FROM zalo_webhook_events WHERE processed_at IS NULL ORDER BY id"
        )
        return [int(row[0]) for row in rows]

    async def purge_processed(self, before: datetime) -> int:
        """Forget processed events received before `before` (past Zalo's redelivery window)."""
        async with self.db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM zalo_webhook_events WHERE processed_at IS NOT NULL "
                "AND received_at < ?",
                [to_db(before)],
            )


class InteractionRepository:
    """Each person's last interaction per channel, for Zalo's 48 h / 7 day windows.

    Call `record` only for a person whose id may be kept: never while a tip is being written.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, tx: Transaction, channel: str, chat_id: str, at: datetime) -> None:
        await tx.execute(
            "INSERT INTO channel_interactions (channel, chat_id, last_at) VALUES (?, ?, ?) "
            "ON CONFLICT (channel, chat_id) DO UPDATE SET last_at = "
            "max(channel_interactions.last_at, excluded.last_at)",
            [channel, chat_id, to_db(at)],
        )

    async def last(self, channel: str, chat_id: str) -> datetime | None:
        row = await self.db.fetch_one(
            "SELECT last_at FROM channel_interactions WHERE channel = ? AND chat_id = ?",
            [channel, chat_id],
        )
        return from_db(row[0]) if row else None

    async def forget(self, tx: Transaction, channel: str, chat_id: str) -> None:
        await tx.execute(
            "DELETE FROM channel_interactions WHERE channel = ? AND chat_id = ?",
            [channel, chat_id],
        )
