"""Findings of the outside review (../shared/REVIEW.md): each test failed before its fix."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from sandbox.telegram import SimUser
from storage.db import Database
from tests.conftest import CLERK_ID, OFFICE_CHAT_ID, Harness
from tests.test_reports import CODE, walk_to_evidence


@pytest.fixture
async def office(harness: Harness) -> SimUser:
    clerk = await harness.client.create_user("Hoa", user_id=CLERK_ID, username="hoa_vp")
    await harness.client.create_group("Văn phòng Sở", [clerk], chat_id=OFFICE_CHAT_ID)
    return clerk


async def count_reports(harness: Harness) -> int:
    assert harness.services is not None
    row = await harness.services.db.fetch_one("SELECT COUNT(*) FROM reports")
    assert row is not None
    return int(row[0])


# ---------------------------------------------------------------- F1, F21: a failed COMMIT


async def test_f1_a_failed_commit_is_rolled_back_and_skips_after_commit_hooks(tmp_path: Path):
    db = await Database.open(tmp_path / "t.db")
    ran: list[str] = []
    try:
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction() as tx:
                await tx.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
                await tx.execute(
                    "CREATE TABLE child (p INTEGER REFERENCES parent(id) "
                    "DEFERRABLE INITIALLY DEFERRED)"
                )
                await tx.execute("INSERT INTO child VALUES (5)")  # refused only at COMMIT
                tx.after_commit(lambda: ran.append("failed"))
        assert ran == []
        async with db.transaction() as tx:  # the connection is usable: nothing left open
            await tx.execute("CREATE TABLE other (x INTEGER)")
            tx.after_commit(lambda: ran.append("ok"))
        assert ran == ["ok"]
        assert await db.fetch_one("SELECT name FROM sqlite_master WHERE name = 'child'") is None
    finally:
        await db.close()


def fail_next_commit(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next COMMIT fails as on a full disk; the ones after it succeed."""
    assert harness.services is not None
    conn = harness.services.db._conn
    real = conn.execute
    failed = False

    def execute(sql: str, *args: Any) -> Any:
        nonlocal failed
        if sql == "COMMIT" and not failed:
            failed = True
            raise sqlite3.OperationalError("database or disk is full")
        return real(sql, *args)

    monkeypatch.setattr(conn, "execute", execute)


async def test_f1_f21_a_report_whose_commit_failed_is_stored_on_the_retry(
    harness: Harness, office: SimUser, monkeypatch: pytest.MonkeyPatch
):
    user = await harness.user("Lan")
    await walk_to_evidence(user, "/baocao")
    await user.press("Bỏ qua")
    await user.next_reply()
    await user.press("Không để lại")
    await user.next_reply()
    fail_next_commit(harness, monkeypatch)
    await user.press("✅ Gửi")
    error = (await user.next_reply()).text
    assert "sự cố" in error and "vừa rồi có thể chưa được ghi nhận" in error
    assert await count_reports(harness) == 0
    await user.press("✅ Gửi")
    received = await user.next_reply()
    assert "Đã tiếp nhận tin báo" in received.text and CODE.search(received.text)
    assert await count_reports(harness) == 1
