"""Named values the database itself must remember (for example the data-key check token)."""

from __future__ import annotations

from storage.db import Database


class MetaRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str) -> str | None:
        row = await self.db.fetch_one("SELECT value FROM meta WHERE key = ?", [key])
        return str(row[0]) if row else None

    async def set(self, key: str, value: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    async def set_if_absent(self, key: str, value: str) -> str:
        """Store value unless key already has one; returns the value now stored."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                [key, value],
            )
            row = await tx.fetch_one("SELECT value FROM meta WHERE key = ?", [key])
        assert row is not None
        return str(row[0])
