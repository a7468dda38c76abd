"""Retention: the content of reports closed long ago is erased; the rows (and counts) stay."""

from __future__ import annotations

from datetime import datetime

from storage.db import Database, Transaction, to_db

CLOSED = ("resolved", "dismissed", "spam")
FINISHED_MESSAGES = ("sent", "failed", "blocked", "cancelled")


class RetentionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def due(self, closed_before: datetime, limit: int) -> list[int]:
        """Closed reports, last changed before the cutoff, whose content is still there."""
        marks = ",".join("?" for _ in CLOSED)
        rows = await self.db.fetch_all(
            f"SELECT id FROM reports WHERE status IN ({marks}) AND updated_at < ? "
            "AND erased_at IS NULL ORDER BY id LIMIT ?",
            (*CLOSED, to_db(closed_before), limit),
        )
        return [int(row[0]) for row in rows]

    async def file_refs(self, tx: Transaction, report_ids: list[int]) -> list[str]:
        """The (encrypted) references of these reports' files, before `erase` drops them."""
        marks = ",".join("?" for _ in report_ids)
        rows = await tx.fetch_all(
            f"SELECT ref FROM report_files WHERE report_id IN ({marks})", report_ids
        )
        return [str(row[0]) for row in rows]

    async def erase(
        self, tx: Transaction, report_ids: list[int], empty_body: str, now: datetime
    ) -> int:
        """Body, files, notes and the messages already delivered about them; returns reports."""
        marks = ",".join("?" for _ in report_ids)
        erased = await tx.execute(
            f"UPDATE reports SET body = ?, erased_at = ? WHERE id IN ({marks}) "
            "AND erased_at IS NULL",
            (empty_body, to_db(now), *report_ids),
        )
        await tx.execute(f"DELETE FROM report_files WHERE report_id IN ({marks})", report_ids)
        await tx.execute(f"DELETE FROM web_file_blobs WHERE report_id IN ({marks})", report_ids)
        await tx.execute(
            f"UPDATE report_events SET note = NULL WHERE report_id IN ({marks})", report_ids
        )
        states = ",".join("?" for _ in FINISHED_MESSAGES)
        await tx.execute(
            f"UPDATE outbox SET payload = '' WHERE state IN ({states}) AND ref IN "
            f"({','.join('?' for _ in report_ids)})",
            (*FINISHED_MESSAGES, *(f"report:{report_id}" for report_id in report_ids)),
        )
        return erased
