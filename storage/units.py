"""Units (schools and other subordinate units of the Department): lookup, search, bulk replace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from content.texts import fold
from storage.db import Database


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str
    area: str


class UnitRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, code: str) -> Unit | None:
        row = await self.db.fetch_one(
            "SELECT code, name, kind, area FROM units WHERE code = ?", [code]
        )
        return Unit(*row) if row else None

    async def count(self) -> int:
        row = await self.db.fetch_one("SELECT COUNT(*) FROM units")
        return int(row[0]) if row else 0

    async def search(
        self, query: str | None, offset: int, limit: int, exclude_kinds: Sequence[str] = ()
    ) -> tuple[list[Unit], int]:
        """Units whose name contains every word of query (accents and case ignored), by name.

        exclude_kinds: unit kinds (as written in the list) left out, e.g. the Department's offices.
        """
        words = fold(query).split() if query else []
        conditions = ["name_folded LIKE ? ESCAPE '\\'" for _ in words]
        params: list[object] = [f"%{_escape_like(word)}%" for word in words]
        if exclude_kinds:
            conditions.append(f"kind NOT IN ({','.join('?' for _ in exclude_kinds)})")
            params.extend(exclude_kinds)
        where = " AND ".join(conditions) or "1"
        total_row = await self.db.fetch_one(f"SELECT COUNT(*) FROM units WHERE {where}", params)
        rows = await self.db.fetch_all(
            f"SELECT code, name, kind, area FROM units WHERE {where} "
            "ORDER BY name_folded, code LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [Unit(*row) for row in rows], int(total_row[0]) if total_row else 0

    async def upsert_all(self, units: Sequence[Unit]) -> tuple[int, int]:
        """Insert new units, update existing ones by code, in one transaction: (added, updated)."""
        async with self.db.transaction() as tx:
            existing = {row[0] for row in await tx.fetch_all("SELECT code FROM units")}
            await tx.execute_many(
                "INSERT INTO units (code, name, kind, area, name_folded) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, "
                "area = excluded.area, name_folded = excluded.name_folded",
                [(u.code, u.name, u.kind, u.area, fold(u.name)) for u in units],
            )
        added = sum(1 for u in units if u.code not in existing)
        return added, len(units) - added


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
