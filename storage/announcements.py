"""Announcements from the office, and the audience queries they are sent to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Transaction, to_db


@dataclass(frozen=True)
class Announcement:
    id: int
    created_by: int
    text: str
    photo_ref: str | None  # a stored file's id (a Telegram file id in rows older than the store)
    audience: str | None
    area: str | None
    state: str
    recipients: int | None
    chat_id: str
    progress_message_id: str | None


_COLUMNS = (
    "id, created_by, text, photo_ref, audience, area, state, recipients, chat_id, "
    "progress_message_id"
)


def _audience_filter(roles: Sequence[str], area: str | None) -> tuple[str, list[object]]:
    marks = ",".join("?" for _ in roles)
    where = f"p.active = 1 AND p.role IN ({marks})"
    params: list[object] = list(roles)
    if area is not None:
        where += " AND p.unit_code IN (SELECT code FROM units WHERE area = ?)"
        params.append(area)
    return where, params


class AnnouncementRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, *, created_by: str, chat_id: str, text: str, photo_ref: str | None, now: datetime
    ) -> int:
        async with self.db.transaction() as tx:
            return await tx.insert(
                "INSERT INTO announcements (created_by, created_at, text, photo_ref, chat_id) "
                "VALUES (?, ?, ?, ?, ?)",
                [created_by, to_db(now), text, photo_ref, chat_id],
            )

    async def get(self, announcement_id: int) -> Announcement | None:
        row = await self.db.fetch_one(
            f"SELECT {_COLUMNS} FROM announcements WHERE id = ?", [announcement_id]
        )
        return Announcement(*row) if row else None

    async def in_state(self, state: str) -> list[Announcement]:
        rows = await self.db.fetch_all(
            f"SELECT {_COLUMNS} FROM announcements WHERE state = ? ORDER BY id", [state]
        )
        return [Announcement(*row) for row in rows]

    async def set_audience(self, announcement_id: int, audience: str, area: str | None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE announcements SET audience = ?, area = ? WHERE id = ? AND state = 'draft'",
                [audience, area, announcement_id],
            )

    async def areas(self) -> list[str]:
        rows = await self.db.fetch_all("SELECT DISTINCT area FROM units ORDER BY area")
        return [row[0] for row in rows]

    async def count_audience(self, roles: Sequence[str], area: str | None) -> int:
        where, params = _audience_filter(roles, area)
        row = await self.db.fetch_one(f"SELECT COUNT(*) FROM people p WHERE {where}", params)
        return int(row[0]) if row else 0

    async def start_sending(
        self,
        tx: Transaction,
        announcement: Announcement,
        roles: Sequence[str],
        *,
        payload: str,
        kind: str,
        priority: int,
        now: datetime,
    ) -> int:
        """Queue the announcement for its whole audience in one statement; returns how many."""
        where, params = _audience_filter(roles, announcement.area)
        ref = f"announcement:{announcement.id}"
        before = await tx.fetch_one("SELECT total_changes()")
        await tx.execute(
            "INSERT OR IGNORE INTO outbox (channel, chat_id, kind, payload, ref, priority, state, "
            "attempts, created_at, dedupe_key) "
            "SELECT p.channel, p.chat_id, ?, ?, ?, ?, 'pending', 0, ?, ? || p.id "
            f"FROM people p WHERE {where}",
            [kind, payload, ref, priority, to_db(now), f"{ref}:", *params],
        )
        after = await tx.fetch_one("SELECT total_changes()")
        count = int(after[0]) - int(before[0]) if before and after else 0
        await tx.execute(
            "UPDATE announcements SET state = 'sending', recipients = ?, confirmed_at = ? "
            "WHERE id = ?",
            [count, to_db(now), announcement.id],
        )
        return count

    async def set_progress_message(self, announcement_id: int, message_id: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE announcements SET progress_message_id = ? WHERE id = ?",
                [message_id, announcement_id],
            )

    async def finish(
        self, tx: Transaction, announcement_id: int, state: str, now: datetime
    ) -> bool:
        """Mark it done or cancelled; False if it had already ended."""
        changed = await tx.execute(
            "UPDATE announcements SET state = ?, finished_at = ? "
            "WHERE id = ? AND state IN ('draft', 'sending')",
            [state, to_db(now), announcement_id],
        )
        return changed > 0
