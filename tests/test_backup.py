"""`antq backup`: a consistent copy taken while reports keep being written."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

from storage.backup import backup_in_thread
from storage.db import Database
from storage.reports import ReportRepository
from tests.test_config import run_antq

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


async def _write(db: Database, reports: ReportRepository, n: int) -> int:
    async with db.transaction() as tx:
        return await reports.insert(
            tx,
            code=f"CODE-{n:04d}",
            anonymous=False,
            channel="telegram",
            chat_id=1000 + n,
            category="other",
            unit_code=None,
            body="gAAAA-encrypted",
            passphrase_hash=None,
            now=NOW,
        )


async def test_backup_during_writes_holds_every_committed_report(tmp_path):
    db = await Database.open(tmp_path / "antq.db")
    reports = ReportRepository(db)
    committed: list[int] = []
    for n in range(200):
        committed.append(await _write(db, reports, n))
    stop = asyncio.Event()

    async def writer() -> None:
        n = 200
        while not stop.is_set():
            committed.append(await _write(db, reports, n))
            n += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    try:
        await asyncio.sleep(0.05)
        before = list(committed)  # every report committed before the backup began
        result = await backup_in_thread(db.path, tmp_path / "copies" / "antq-backup.db")
        await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    assert len(committed) > len(before)  # the bot kept writing meanwhile
    copy = sqlite3.connect(result.path)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = {row[0] for row in copy.execute("SELECT id FROM reports")}
        codes = {row[0] for row in copy.execute("SELECT code FROM reports")}
    finally:
        copy.close()
    assert set(before) <= ids
    # one committed state: the copy holds a prefix of the reports, with no gap
    assert ids == set(committed[: len(ids)])
    assert len(codes) == len(ids) == result.reports
    assert result.schema_version == await db.schema_version()
    await db.close()
    # the copy opens as a database the bot can run on
    restored = await Database.open(result.path)
    try:
        row = await restored.fetch_one("SELECT COUNT(*) FROM reports")
        assert row is not None and row[0] == len(ids)
    finally:
        await restored.close()
    assert not list((tmp_path / "copies").glob("*.partial"))


def test_backup_command(tmp_path):
    env = {"ANTQ_DATABASE_PATH": str(tmp_path / "antq.db")}
    missing = run_antq("backup", str(tmp_path / "b.db"), env=env, cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.startswith("Không sao lưu được") and "Traceback" not in missing.stderr

    async def make() -> None:
        db = await Database.open(tmp_path / "antq.db")
        await _write(db, ReportRepository(db), 1)
        await db.close()

    asyncio.run(make())
    done = run_antq("backup", str(tmp_path / "b.db"), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 tin báo" in done.stdout
    same = run_antq("backup", str(tmp_path / "antq.db"), env=env, cwd=tmp_path)
    assert same.returncode == 2 and "Traceback" not in same.stderr
