"""Rows of the file store: what each stored file is, and each channel's own id for it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Transaction, from_db, to_db


@dataclass(frozen=True)
class FileRow:
    id: str
    kind: str
    mime: str | None
    name: str | None  # encrypted
    size: int
    sha256: str  # encrypted
    file_key: str  # wrapped by the data key
    created_at: datetime


_COLUMNS = "id, kind, mime, name, size, sha256, file_key, created_at"


def _row(values: Sequence[object]) -> FileRow:
    return FileRow(
        str(values[0]),
        str(values[1]),
        None if values[2] is None else str(values[2]),
        None if values[3] is None else str(values[3]),
        int(str(values[4])),
        str(values[5]),
        str(values[6]),
        from_db(str(values[7])),
    )


class FileRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, row: FileRow) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                f"INSERT INTO files ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    row.id,
                    row.kind,
                    row.mime,
                    row.name,
                    row.size,
                    row.sha256,
                    row.file_key,
                    to_db(row.created_at),
                ],
            )

    async def get(self, file_id: str) -> FileRow | None:
        found = await self.db.fetch_one(f"SELECT {_COLUMNS} FROM files WHERE id = ?", [file_id])
        return _row(found) if found else None

    async def total_size(self, file_ids: Sequence[str]) -> int:
        if not file_ids:
            return 0
        marks = ",".join("?" for _ in file_ids)
        found = await self.db.fetch_one(
            f"SELECT COALESCE(SUM(size), 0) FROM files WHERE id IN ({marks})", file_ids
        )
        return int(found[0]) if found else 0

    async def exists_in(self, tx: Transaction, file_id: str) -> bool:
        return await tx.fetch_one("SELECT 1 FROM files WHERE id = ?", [file_id]) is not None

    async def all_keys(self) -> list[tuple[str, str]]:
        rows = await self.db.fetch_all("SELECT id, file_key FROM files ORDER BY id")
        return [(str(r[0]), str(r[1])) for r in rows]

    async def set_key(self, tx: Transaction, file_id: str, file_key: str) -> None:
        await tx.execute("UPDATE files SET file_key = ? WHERE id = ?", [file_key, file_id])

    async def delete_in(self, tx: Transaction, file_ids: Sequence[str]) -> int:
        """The rows of these files and their channel ids (the blobs are the store's to remove)."""
        if not file_ids:
            return 0
        marks = ",".join("?" for _ in file_ids)
        await tx.execute(f"DELETE FROM file_channel_ids WHERE file_id IN ({marks})", file_ids)
        return await tx.execute(f"DELETE FROM files WHERE id IN ({marks})", file_ids)

    async def channel_id(
        self, file_id: str, channel: str, cached_since: datetime | None = None
    ) -> str | None:
        """The channel's own id for a stored file, if cached (and not older than cached_since)."""
        found = await self.db.fetch_one(
            "SELECT channel_file_id, cached_at FROM file_channel_ids "
            "WHERE file_id = ? AND channel = ?",
            [file_id, channel],
        )
        if found is None:
            return None
        if cached_since is not None and from_db(str(found[1])) < cached_since:
            return None
        return str(found[0])

    async def remember_channel_id(
        self, file_id: str, channel: str, channel_file_id: str, now: datetime
    ) -> None:
        async with self.db.transaction() as tx:
            if not await self.exists_in(tx, file_id):
                return  # deleted meanwhile
            await tx.execute(
                "INSERT INTO file_channel_ids (file_id, channel, channel_file_id, cached_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (file_id, channel) DO UPDATE SET "
                "channel_file_id = excluded.channel_file_id, cached_at = excluded.cached_at",
                [file_id, channel, channel_file_id, to_db(now)],
            )

    async def forget_channel_id(self, file_id: str, channel: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM file_channel_ids WHERE file_id = ? AND channel = ?", [file_id, channel]
            )


class LegacyRefs:
    """References kept before the file store (Telegram file ids), to adopt into it."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def report_files(self) -> list[tuple[int, str, str]]:
        """(row id, kind, encrypted ref) of every report file; the caller tells old from new."""
        rows = await self.db.fetch_all("SELECT id, kind, ref FROM report_files ORDER BY id")
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def replace_report_file(self, row_id: int, old: str, new: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE report_files SET ref = ? WHERE id = ? AND ref = ?", [new, row_id, old]
            )

    async def announcement_photos(self) -> list[tuple[int, str]]:
        rows = await self.db.fetch_all(
            "SELECT id, photo_ref FROM announcements WHERE photo_ref IS NOT NULL ORDER BY id"
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    async def replace_announcement_photo(self, announcement_id: int, old: str, new: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE announcements SET photo_ref = ? WHERE id = ? AND photo_ref = ?",
                [new, announcement_id, old],
            )
