"""The SQLite database: one aiosqlite connection in WAL mode, migrations, and transactions."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


def to_db(moment: datetime) -> str:
    """A moment as sortable UTC ISO text, the only form times are stored in."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


READERS = 2  # read-only connections (the machine this runs on has at least two cores)
FOREIGN_KEYS_OFF = "-- pragma: foreign_keys=off"


def load_migrations() -> list[Migration]:
    """The numbered SQL files in storage/migrations, in order; numbers must be 1..N without gaps."""
    migrations = []
    for entry in resources.files("storage.migrations").iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if not match:
            continue
        sql = entry.read_text(encoding="utf-8")
        first = sql.splitlines()[0] if sql else ""
        description = first.removeprefix("--").strip() or match.group(2)
        migrations.append(Migration(int(match.group(1)), description, sql))
    migrations.sort(key=lambda m: m.version)
    if [m.version for m in migrations] != list(range(1, len(migrations) + 1)):
        raise RuntimeError("storage/migrations must be numbered 0001, 0002, ... without gaps")
    return migrations


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = FULL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA secure_delete = ON")  # deleted text does not linger in the file
    except BaseException:
        await conn.close()  # its thread would otherwise keep the process alive
        raise
    return conn


class Database:
    """Writes are serialised in explicit transactions on one connection; reads use another.

    The reading connection sees only committed data (WAL snapshots), so a read never observes
    another handler's transaction half-way.
    """

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection, path: Path):
        self._conn = writer
        self._reader = reader
        self._readers: list[aiosqlite.Connection] = [reader]
        self._reading = [0]  # queries in flight on each reader
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # people's data: owner-only (SQLite gives its -wal and -shm the same)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        writer = await _connect(path)
        db = cls(writer, writer, path)
        try:
            await db.migrate()
            db._readers = []
            for _ in range(READERS):
                reader = await _connect(path)
                await reader.execute("PRAGMA query_only = ON")
                db._readers.append(reader)
            db._reader, db._reading = db._readers[0], [0] * READERS
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        for reader in self._readers:
            if reader is not self._conn:
                await reader.close()
        await self._conn.close()

    async def schema_version(self) -> int:
        row = await self.fetch_one("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self) -> None:
        """Apply every migration newer than PRAGMA user_version, each in its own transaction."""
        current = await self.schema_version()
        for migration in load_migrations():
            if migration.version <= current:
                continue
            # A migration that rebuilds a table runs with foreign keys off (the pragma is
            # ignored inside a transaction), then proves that every reference still holds.
            rebuilds = FOREIGN_KEYS_OFF in migration.sql
            if rebuilds:
                await self._conn.execute("PRAGMA foreign_keys = OFF")
            try:
                async with self.transaction() as tx:
                    await tx.executescript_in_transaction(migration.sql)
                    if rebuilds and await tx.fetch_all("PRAGMA foreign_key_check"):
                        raise RuntimeError(f"migration {migration.version} broke a reference")
                    await tx.execute(f"PRAGMA user_version = {migration.version}")
            finally:
                if rebuilds:
                    await self._conn.execute("PRAGMA foreign_keys = ON")
            log.info("database migrated to %d: %s", migration.version, migration.description)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back if the block raises or COMMIT fails.

        Only one at a time. What the block registered with `Transaction.after_commit` runs
        only once COMMIT succeeded, still under the write lock (so the next transaction sees it).
        """
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            tx = Transaction(self._conn)
            try:
                yield tx
                await self._conn.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise
            for hook in tx.hooks:
                hook()

    async def _rollback(self) -> None:
        """Undo the open transaction; a failed COMMIT may already have ended it."""
        if not self._conn.in_transaction:
            return
        try:
            await self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("rollback failed")

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self._read(sql, params, one=True)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        return await self._read(sql, params, one=False)

    async def _read(self, sql: str, params: Iterable[Any], *, one: bool) -> list[aiosqlite.Row]:
        """On the reader with the fewest queries in flight: reads issued together (a page of
        statistics) run side by side, each reader in its own thread."""
        index = min(range(len(self._readers)), key=self._reading.__getitem__)
        self._reading[index] += 1
        try:
            async with self._readers[index].execute(sql, tuple(params)) as cursor:
                if one:
                    row = await cursor.fetchone()
                    return [row] if row is not None else []
                return list(await cursor.fetchall())
        finally:
            self._reading[index] -= 1


class Transaction:
    """The statements of one open transaction."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._conn = connection
        self.hooks: list[Callable[[], None]] = []

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run `hook` once this transaction has committed; never if it is rolled back."""
        self.hooks.append(hook)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; returns the number of rows changed."""
        async with self._conn.execute(sql, tuple(params)) as cursor:
            return cursor.rowcount

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one INSERT; returns the new row id."""
        async with self._conn.execute(sql, tuple(params)) as cursor:
            return int(cursor.lastrowid or 0)

    async def execute_many(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        await self._conn.executemany(sql, [tuple(row) for row in rows])

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self._conn.execute(sql, tuple(params)) as cursor:
            return await cursor.fetchone()

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self._conn.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    @asynccontextmanager
    async def savepoint(self, name: str) -> AsyncIterator[None]:
        """A nested step: if the block raises, only its own writes are undone."""
        await self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await self._conn.execute(f"ROLLBACK TO {name}")
            await self._conn.execute(f"RELEASE {name}")
            raise
        await self._conn.execute(f"RELEASE {name}")

    async def executescript_in_transaction(self, script: str) -> None:
        """Run a migration's statements one by one (executescript would COMMIT on its own)."""
        for statement in _split_statements(script):
            await self._conn.execute(statement)


def _split_statements(script: str) -> list[str]:
    """Whole statements, as SQLite sees them (a trigger's body keeps its inner semicolons)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        for piece in re.split(r"(?<=;)", line):
            buffer += piece
            if sqlite3.complete_statement(buffer):
                if buffer.strip().rstrip(";").strip():
                    statements.append(buffer.strip())
                buffer = ""
        buffer += "\n"
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
