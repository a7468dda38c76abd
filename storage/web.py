"""What the web channel keeps: images of web reports (encrypted), passphrases of named web
reports, and the console's inbox query. Nothing about a visitor's connection is ever stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from storage.db import Database, Transaction, from_db, to_db

PAGE_SIZE = 50


@dataclass(frozen=True)
class Blob:
    id: int
    report_id: int
    mime_type: str
    file_name: str
    size: int
    data: str  # encrypted base64


@dataclass(frozen=True)
class InboxFilter:
    status: str | None = None
    category: str | None = None
    unit: str | None = None
    urgent: bool = False
    unclaimed: bool = False
    start: datetime | None = None
    end: datetime | None = None
    source: str | None = None
    code: str | None = None
    urgent_categories: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class InboxRow:
    id: int
    code: str
    anonymous: bool
    source: str | None
    category: str
    unit_code: str | None
    unit_name: str | None
    status: str
    created_at: datetime
    assignee: str | None
    file_count: int


class WebRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---------------------------------------------------------------------------- files

    async def blob(self, blob_id: int) -> Blob | None:
        row = await self.db.fetch_one(
            "SELECT id, report_id, mime_type, file_name, size, data FROM web_file_blobs "
            "WHERE id = ?",
            [blob_id],
        )
        return Blob(*row) if row else None

    async def report_files(self, report_id: int) -> list[tuple[int, str, str, str]]:
        """(id, kind, encrypted ref, added_by) of every file of a report."""
        rows = await self.db.fetch_all(
            "SELECT id, kind, ref, added_by FROM report_files WHERE report_id = ? ORDER BY id",
            [report_id],
        )
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    async def file_ref(self, file_id: int) -> str | None:
        row = await self.db.fetch_one("SELECT ref FROM report_files WHERE id = ?", [file_id])
        return str(row[0]) if row else None

    async def source_and_assignee(self, report_id: int) -> tuple[str, str]:
        row = await self.db.fetch_one(
            "SELECT COALESCE(source, channel, 'telegram'), COALESCE(assignee, '') FROM reports "
            "WHERE id = ?",
            [report_id],
        )
        return (str(row[0]), str(row[1])) if row else ("", "")

    # ------------------------------------------------------------------- named reports

    async def set_passphrase(self, tx: Transaction, report_id: int, passphrase_hash: str) -> None:
        await tx.execute(
            "INSERT INTO web_report_access (report_id, passphrase_hash) VALUES (?, ?)",
            [report_id, passphrase_hash],
        )

    async def passphrase_hash(self, report_id: int) -> str | None:
        row = await self.db.fetch_one(
            "SELECT passphrase_hash FROM web_report_access WHERE report_id = ?", [report_id]
        )
        return str(row[0]) if row else None

    # ---------------------------------------------------------------------------- inbox

    async def inbox(self, filters: InboxFilter, page: int) -> tuple[list[InboxRow], int]:
        """One page of reports, newest first, and how many match in all."""
        where, params = _where(filters)
        total_row = await self.db.fetch_one(f"SELECT COUNT(*) FROM reports r WHERE {where}", params)
        rows = await self.db.fetch_all(
            "SELECT r.id, r.code, r.anonymous, r.source, r.category, r.unit_code, u.name, "
            "r.status, r.created_at, r.assignee, "
            "(SELECT COUNT(*) FROM report_files f WHERE f.report_id = r.id) "
            f"FROM reports r LEFT JOIN units u ON u.code = r.unit_code WHERE {where} "
            "ORDER BY r.id DESC LIMIT ? OFFSET ?",
            [*params, PAGE_SIZE, max(0, page - 1) * PAGE_SIZE],
        )
        return [_inbox_row(r) for r in rows], int(total_row[0]) if total_row else 0

    async def newer_than(self, report_id: int, limit: int = 20) -> list[InboxRow]:
        rows = await self.db.fetch_all(
            "SELECT r.id, r.code, r.anonymous, r.source, r.category, r.unit_code, u.name, "
            "r.status, r.created_at, r.assignee, "
            "(SELECT COUNT(*) FROM report_files f WHERE f.report_id = r.id) "
            "FROM reports r LEFT JOIN units u ON u.code = r.unit_code WHERE r.id > ? "
            "ORDER BY r.id DESC LIMIT ?",
            [report_id, limit],
        )
        return [_inbox_row(r) for r in rows]

    async def units(self) -> list[tuple[str, str]]:
        rows = await self.db.fetch_all("SELECT code, name FROM units ORDER BY name_folded")
        return [(str(r[0]), str(r[1])) for r in rows]

    async def unit_by_name(self, name: str) -> str | None:
        row = await self.db.fetch_one("SELECT code FROM units WHERE name = ?", [name])
        return str(row[0]) if row else None


def _where(f: InboxFilter) -> tuple[str, list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    if f.code:
        clauses.append("r.code = ?")
        params.append(f.code)
    if f.status:
        clauses.append("r.status = ?")
        params.append(f.status)
    if f.category:
        clauses.append("r.category = ?")
        params.append(f.category)
    if f.unit:
        clauses.append("r.unit_code = ?")
        params.append(f.unit)
    if f.urgent:
        marks = ",".join("?" for _ in f.urgent_categories) or "''"
        clauses.append(f"r.category IN ({marks})")
        params.extend(sorted(f.urgent_categories))
    if f.unclaimed:
        clauses.append("r.status = 'new' AND r.assignee IS NULL")
    if f.start:
        clauses.append("r.created_at >= ?")
        params.append(to_db(f.start))
    if f.end:
        clauses.append("r.created_at < ?")
        params.append(to_db(f.end))
    if f.source:
        clauses.append("r.source = ?")
        params.append(f.source)
    return " AND ".join(clauses) or "1", params


def _inbox_row(r: Sequence[object]) -> InboxRow:
    return InboxRow(
        int(r[0]),  # type: ignore[call-overload]
        str(r[1]),
        bool(r[2]),
        None if r[3] is None else str(r[3]),
        str(r[4]),
        None if r[5] is None else str(r[5]),
        None if r[6] is None else str(r[6]),
        str(r[7]),
        from_db(str(r[8])),
        None if r[9] is None else str(r[9]),
        int(r[10]),  # type: ignore[call-overload]
    )
