"""Reports and anonymous tips, their files and the office's actions. Free text arrives encrypted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Transaction, from_db, to_db


@dataclass(frozen=True)
class ReportRow:
    id: int
    code: str
    anonymous: bool
    channel: str | None
    chat_id: str | None
    category: str
    unit_code: str | None
    status: str
    body: str  # encrypted
    passphrase_hash: str | None
    created_at: datetime
    first_action_at: datetime | None
    office_message_id: str | None


@dataclass(frozen=True)
class ReportEvent:
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None  # encrypted


@dataclass(frozen=True)
class ReportFile:
    kind: str
    ref: str  # encrypted file reference


_COLUMNS = (
    "id, code, anonymous, channel, chat_id, category, unit_code, status, body, "
    "passphrase_hash, created_at, first_action_at, office_message_id"
)


def _report(row: Sequence[object]) -> ReportRow:
    values = list(row)
    values[2] = bool(values[2])
    values[10] = from_db(str(values[10]))
    values[11] = from_db(str(values[11])) if values[11] else None
    return ReportRow(*values)  # type: ignore[arg-type]


class ReportRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(
        self,
        tx: Transaction,
        *,
        code: str,
        anonymous: bool,
        channel: str | None,
        chat_id: str | None,
        category: str,
        unit_code: str | None,
        body: str,
        passphrase_hash: str | None,
        now: datetime,
        source: str | None = None,
    ) -> int:
        stamp = to_db(now)
        return await tx.insert(
            "INSERT INTO reports (code, anonymous, channel, chat_id, category, unit_code, body, "
            "passphrase_hash, created_at, updated_at, last_announced_at, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, ?))",
            [
                code,
                int(anonymous),
                channel,
                chat_id,
                category,
                unit_code,
                body,
                passphrase_hash,
                stamp,
                stamp,
                stamp,
                source,
                channel,
            ],
        )

    async def version_in(self, tx: Transaction, report_id: int) -> int:
        """The report's version for the console's check: the id of its latest event (0: none)."""
        row = await tx.fetch_one(
            "SELECT COALESCE(MAX(id), 0) FROM report_events WHERE report_id = ?", [report_id]
        )
        return int(row[0]) if row else 0

    async def version(self, report_id: int) -> int:
        row = await self.db.fetch_one(
            "SELECT COALESCE(MAX(id), 0) FROM report_events WHERE report_id = ?", [report_id]
        )
        return int(row[0]) if row else 0

    async def set_assignee(self, tx: Transaction, report_id: int, assignee: str | None) -> None:
        await tx.execute("UPDATE reports SET assignee = ? WHERE id = ?", [assignee, report_id])

    async def code_taken(self, tx: Transaction, code: str) -> bool:
        return await tx.fetch_one("SELECT 1 FROM reports WHERE code = ?", [code]) is not None

    async def get(self, report_id: int) -> ReportRow | None:
        row = await self.db.fetch_one(f"SELECT {_COLUMNS} FROM reports WHERE id = ?", [report_id])
        return _report(row) if row else None

    async def get_in(self, tx: Transaction, report_id: int) -> ReportRow | None:
        row = await tx.fetch_one(f"SELECT {_COLUMNS} FROM reports WHERE id = ?", [report_id])
        return _report(row) if row else None

    async def by_code(self, code: str) -> ReportRow | None:
        row = await self.db.fetch_one(f"SELECT {_COLUMNS} FROM reports WHERE code = ?", [code])
        return _report(row) if row else None

    async def set_status(self, tx: Transaction, report_id: int, status: str, now: datetime) -> None:
        stamp = to_db(now)
        await tx.execute(
            "UPDATE reports SET status = ?, updated_at = ?, "
            "first_action_at = COALESCE(first_action_at, ?) WHERE id = ?",
            [status, stamp, stamp, report_id],
        )

    async def touch_first_action(self, tx: Transaction, report_id: int, now: datetime) -> None:
        await tx.execute(
            "UPDATE reports SET first_action_at = COALESCE(first_action_at, ?) WHERE id = ?",
            [to_db(now), report_id],
        )

    async def set_office_message(self, tx: Transaction, report_id: int, message_id: str) -> None:
        await tx.execute(
            "UPDATE reports SET office_message_id = ? WHERE id = ?", [message_id, report_id]
        )

    async def add_event(
        self,
        tx: Transaction,
        report_id: int,
        *,
        at: datetime,
        actor: str,
        action: str,
        from_status: str | None = None,
        to_status: str | None = None,
        note: str | None = None,
    ) -> None:
        await tx.execute(
            "INSERT INTO report_events "
            "(report_id, at, actor, action, from_status, to_status, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [report_id, to_db(at), actor, action, from_status, to_status, note],
        )

    async def events(
        self, report_id: int, actions: Iterable[str] | None = None
    ) -> list[ReportEvent]:
        rows = await self.db.fetch_all(
            "SELECT at, actor, action, from_status, to_status, note FROM report_events "
            "WHERE report_id = ? ORDER BY id",
            [report_id],
        )
        wanted = set(actions) if actions is not None else None
        return [
            ReportEvent(from_db(r[0]), r[1], r[2], r[3], r[4], r[5])
            for r in rows
            if wanted is None or r[2] in wanted
        ]

    async def add_files(
        self,
        tx: Transaction,
        report_id: int,
        files: Sequence[ReportFile],
        *,
        added_by: str,
        now: datetime,
    ) -> None:
        await tx.execute_many(
            "INSERT INTO report_files (report_id, kind, ref, added_by, added_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(report_id, f.kind, f.ref, added_by, to_db(now)) for f in files],
        )

    async def file_refs(self, report_id: int) -> list[str]:
        """The (encrypted) references of a report's files."""
        rows = await self.db.fetch_all(
            "SELECT ref FROM report_files WHERE report_id = ? ORDER BY id", [report_id]
        )
        return [str(row[0]) for row in rows]

    async def file_count(self, report_id: int) -> int:
        row = await self.db.fetch_one(
            "SELECT COUNT(*) FROM report_files WHERE report_id = ?", [report_id]
        )
        return int(row[0]) if row else 0

    async def latest_code_by_sender(
        self, channel: str, chat_id: str, since: datetime
    ) -> str | None:
        row = await self.db.fetch_one(
            "SELECT code FROM reports WHERE channel = ? AND chat_id = ? AND created_at >= ? "
            "ORDER BY id DESC LIMIT 1",
            [channel, chat_id, to_db(since)],
        )
        return str(row[0]) if row else None

    async def recent_by_sender(self, channel: str, chat_id: str, since: datetime) -> int:
        row = await self.db.fetch_one(
            "SELECT COUNT(*) FROM reports WHERE channel = ? AND chat_id = ? AND created_at >= ?",
            [channel, chat_id, to_db(since)],
        )
        return int(row[0]) if row else 0

    async def unclaimed(
        self, *, announced_before: datetime, urgent_announced_before: datetime, urgent: set[str]
    ) -> list[ReportRow]:
        """New reports nobody has picked up, whose last announcement is older than its delay."""
        marks = ",".join("?" for _ in urgent) or "''"
        rows = await self.db.fetch_all(
            f"SELECT {_COLUMNS} FROM reports WHERE status = 'new' AND ("
            f"(category IN ({marks}) AND last_announced_at <= ?) OR "
            f"(category NOT IN ({marks}) AND last_announced_at <= ?)) ORDER BY id",
            [
                *urgent,
                to_db(urgent_announced_before),
                *urgent,
                to_db(announced_before),
            ],
        )
        return [_report(r) for r in rows]

    async def mark_announced(self, tx: Transaction, report_id: int, now: datetime) -> None:
        await tx.execute(
            "UPDATE reports SET last_announced_at = ? WHERE id = ?", [to_db(now), report_id]
        )

    async def by_sender_in(self, tx: Transaction, channel: str, chat_id: str) -> list[ReportRow]:
        rows = await tx.fetch_all(
            f"SELECT {_COLUMNS} FROM reports WHERE channel = ? AND chat_id = ?", [channel, chat_id]
        )
        return [_report(r) for r in rows]

    async def detach_sender(self, tx: Transaction, report_id: int, body: str) -> None:
        """For /xoadulieu: the report stays for the office, no longer pointing at the person."""
        await tx.execute(
            "UPDATE reports SET channel = NULL, chat_id = NULL, body = ? WHERE id = ?",
            [body, report_id],
        )

    async def remember_reply_prompt(
        self, channel: str, chat_id: str, message_id: str, report_id: int, now: datetime
    ) -> None:
        """The office's reply prompt for a report, by the id of the message the bot posted."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT OR REPLACE INTO report_reply_prompts "
                "(channel, chat_id, message_id, report_id, created_at) VALUES (?, ?, ?, ?, ?)",
                [channel, chat_id, message_id, report_id, to_db(now)],
            )

    async def by_reply_prompt(self, channel: str, chat_id: str, message_id: str) -> int | None:
        """The report whose reply prompt is this message; None for any other message."""
        row = await self.db.fetch_one(
            "SELECT report_id FROM report_reply_prompts "
            "WHERE channel = ? AND chat_id = ? AND message_id = ?",
            [channel, chat_id, message_id],
        )
        return int(row[0]) if row else None
