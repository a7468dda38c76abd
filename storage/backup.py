"""A consistent copy of the database while the bot runs, with SQLite's online backup API."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.db import BUSY_TIMEOUT_MS


class BackupError(Exception):
    """The copy could not be made; the message says why (no personal content)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    reports: int
    schema_version: int


def _open_source(source: Path) -> sqlite3.Connection:
    if not source.is_file():
        raise BackupError(f"{source}: no such database file")
    conn = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def backup_database(source: Path, target: Path) -> BackupResult:
    """Copy source to target in one read snapshot; writers go on meanwhile (WAL).

    The copy is written beside the target and renamed over it only once it is complete and
    passes SQLite's quick check, so a failed backup never leaves a half-written file.
    """
    source, target = Path(source), Path(target)
    if target.resolve() == source.resolve():
        raise BackupError(f"{target}: the backup cannot be the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = _open_source(source)
    try:
        dst = sqlite3.connect(partial)
        try:
            # pages=-1: every page in one step, inside one read transaction of the source, so
            # the copy is one committed state even while the bot keeps writing.
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            check = dst.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise BackupError(f"{target}: the copy failed its check ({check})")
            version = int(dst.execute("PRAGMA user_version").fetchone()[0])
            reports = 0
            with contextlib.suppress(sqlite3.OperationalError):  # a database without reports yet
                reports = int(dst.execute("SELECT COUNT(*) FROM reports").fetchone()[0])
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"{source}: {exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    with contextlib.suppress(OSError):
        os.chmod(partial, 0o600)  # the copy holds what the database holds
    os.replace(partial, target)
    size = target.stat().st_size
    _remember(source, target, size)
    return BackupResult(target, size, reports, version)


LAST_BACKUP = "last_backup"  # meta key: "<UTC ISO time> <size in bytes> <file>", for the console


def _remember(source: Path, target: Path, size: int) -> None:
    """Note the backup in the source's meta table (the console's health page shows it); a
    database that cannot take the note right now keeps its backup all the same."""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            with conn:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (LAST_BACKUP, f"{at} {size} {target.name}"),
                )
        finally:
            conn.close()


async def backup_in_thread(source: Path, target: Path) -> BackupResult:
    """backup_database in a worker thread, so an event loop keeps serving meanwhile."""
    return await asyncio.to_thread(backup_database, source, target)
