"""The audit log: who did what in the office and when; append-only (no update, no delete)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, Transaction, from_db, to_db


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str  # "office:<user id>", "cli", or "person" (never who, for a deletion)
    action: str  # e.g. "report_status", "announcement_sent", "data_deleted"
    subject: str | None  # a report code, "announcement:3", a unit code, "deadline:7"
    details: str | None  # codes and statuses only, never what a person wrote


class AuditLog:
    """Entries are only ever added, in the transaction of the action they record."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        tx: Transaction,
        *,
        at: datetime,
        actor: str,
        action: str,
        subject: str | None = None,
        details: str | None = None,
    ) -> int:
        return await tx.insert(
            "INSERT INTO audit_log (at, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)",
            (to_db(at), actor, action, subject, details),
        )

    async def latest(self, limit: int = 20) -> list[AuditEntry]:
        """The newest entries first."""
        rows = await self.db.fetch_all(
            "SELECT id, at, actor, action, subject, details FROM audit_log "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [_entry(row) for row in rows]

    async def between(self, start: datetime, end: datetime) -> list[AuditEntry]:
        """Entries with start <= at < end, oldest first (for exports)."""
        rows = await self.db.fetch_all(
            "SELECT id, at, actor, action, subject, details FROM audit_log "
            "WHERE at >= ? AND at < ? ORDER BY id",
            (to_db(start), to_db(end)),
        )
        return [_entry(row) for row in rows]


def _entry(row: Sequence[Any]) -> AuditEntry:
    id_, at, actor, action, subject, details = row
    return AuditEntry(int(id_), from_db(str(at)), actor, action, subject, details)
