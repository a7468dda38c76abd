"""The audit log: who did what in the office and when; append-only (no update, no delete)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


class ActorNames:
    """Who an actor of the log is, in words: a clerk's chat name, or a console account's name."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def remember(self, actor: str, name: str, now: datetime) -> None:
        if not name.strip():
            return
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO actor_names (actor, name, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (actor) DO UPDATE SET name = excluded.name, "
                "updated_at = excluded.updated_at",
                [actor, name.strip()[:100], to_db(now)],
            )

    async def names(self, actors: Iterable[str]) -> dict[str, str]:
        """actor -> name, for those known (console accounts by their username)."""
        wanted = sorted(set(actors))
        if not wanted:
            return {}
        marks = ", ".join("?" * len(wanted))
        found = {
            str(actor): str(name)
            for actor, name in await self.db.fetch_all(
                f"SELECT actor, name FROM actor_names WHERE actor IN ({marks})", wanted
            )
        }
        usernames = [a.removeprefix("staff:") for a in wanted if a.startswith("staff:")]
        if usernames:
            marks = ", ".join("?" * len(usernames))
            for username, name in await self.db.fetch_all(
                f"SELECT username, name FROM staff WHERE username IN ({marks})", usernames
            ):
                found.setdefault(f"staff:{username}", str(name))
        return found
