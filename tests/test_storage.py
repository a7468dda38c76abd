"""SQLite storage alone: pragmas, migrations, transactions and the repositories."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.db import Database, load_migrations
from storage.dialog_states import DialogStateRepository
from storage.people import PeopleRepository
from storage.units import Unit, UnitRepository

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "sub" / "antq.db")
    try:
        yield database
    finally:
        await database.close()


async def test_pragmas_and_schema_version(db):
    assert (await db.fetch_one("PRAGMA journal_mode"))[0] == "wal"
    assert (await db.fetch_one("PRAGMA foreign_keys"))[0] == 1
    assert (await db.fetch_one("PRAGMA busy_timeout"))[0] == 5000
    assert await db.schema_version() == len(load_migrations())


async def test_migrations_are_not_applied_twice(tmp_path):
    path = tmp_path / "antq.db"
    first = await Database.open(path)
    await UnitRepository(first).upsert_all([Unit("A", "Trường A", "THPT", "X")])
    await first.close()
    second = await Database.open(path)
    try:
        assert await UnitRepository(second).count() == 1
    finally:
        await second.close()


async def test_a_failed_transaction_leaves_nothing(db):
    people = PeopleRepository(db)
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await people.save(
                tx,
                channel="telegram",
                chat_id=1,
                role="teacher",
                unit_code=None,
                subscribed=True,
                now=NOW,
            )
            raise RuntimeError("boom")
    assert await people.get("telegram", 1) is None


async def test_people_save_update_delete(db):
    units = UnitRepository(db)
    await units.upsert_all([Unit("U1", "Trường Một", "THCS", "Xã A")])
    people = PeopleRepository(db)
    async with db.transaction() as tx:
        await people.save(
            tx,
            channel="telegram",
            chat_id=7,
            role="parent",
            unit_code="U1",
            subscribed=False,
            now=NOW,
        )
    async with db.transaction() as tx:
        await people.save(
            tx, channel="telegram", chat_id=7, role="head", unit_code="U1", subscribed=True, now=NOW
        )
    person = await people.get("telegram", 7)
    assert (person.role, person.unit_code, person.subscribed, person.consent_at) == (
        "head",
        "U1",
        True,
        NOW,
    )
    with pytest.raises(ValueError):
        async with db.transaction() as tx:
            await people.save(
                tx,
                channel="telegram",
                chat_id=8,
                role="king",
                unit_code=None,
                subscribed=True,
                now=NOW,
            )
    async with db.transaction() as tx:
        assert await people.delete(tx, "telegram", 7)
    assert await people.get("telegram", 7) is None


async def test_a_person_cannot_point_at_a_unit_that_does_not_exist(db):
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as tx:
            await PeopleRepository(db).save(
                tx,
                channel="telegram",
                chat_id=9,
                role="teacher",
                unit_code="NOPE",
                subscribed=True,
                now=NOW,
            )


async def test_unit_search_ignores_accents_case_and_like_wildcards(db):
    units = UnitRepository(db)
    added, updated = await units.upsert_all(
        [
            Unit("A", "Trường Tiểu học Nguyễn Du", "Tiểu học", "X"),
            Unit("B", "Trường THPT Đồng Xoài", "THPT", "X"),
            Unit("C", "Trường 100% Vui", "Mầm non", "X"),
        ]
    )
    assert (added, updated) == (3, 0)
    found, total = await units.search("NGUYEN du", 0, 10)
    assert [u.code for u in found] == ["A"] and total == 1
    found, total = await units.search("dong xoai", 0, 10)
    assert [u.code for u in found] == ["B"]
    found, total = await units.search("%", 0, 10)
    assert [u.code for u in found] == ["C"]
    found, total = await units.search(None, 1, 1)
    assert total == 3 and len(found) == 1


async def test_dialog_state_round_trip(db):
    states = DialogStateRepository(db)
    async with db.transaction() as tx:
        await states.put(tx, "a1b2", "onboarding", '{"step": "role"}', NOW)
    assert await states.get("a1b2") == '{"step": "role"}'
    async with db.transaction() as tx:
        await states.delete(tx, "a1b2")
    assert await states.get("a1b2") is None


async def test_string_ids_migration_keeps_data_and_references(tmp_path):
    """Migration 0011 rebuilds tables with TEXT ids: rows, children and references survive."""
    import sqlite3

    from storage.db import _split_statements

    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys = ON")
    for migration in load_migrations()[:10]:
        for statement in _split_statements(migration.sql):
            raw.execute(statement)
    raw.execute("PRAGMA user_version = 10")
    raw.execute("INSERT INTO units VALUES ('A', 'Trường A', 'THPT', 'X', 'truong a')")
    raw.execute(
        "INSERT INTO people (id, channel, chat_id, role, unit_code, consent_at, created_at,"
        " updated_at) VALUES (7, 'telegram', 123456789, 'head', 'A', 'c', 'c', 'u')"
    )
    raw.execute(
        "INSERT INTO invitations (code_hash, unit_code, created_by, created_at, expires_at,"
        " used_by) VALUES ('h', 'A', 'cli', 'c', 'e', 7)"
    )
    raw.execute(
        "INSERT INTO reports (id, code, anonymous, channel, chat_id, category, body,"
        " created_at, updated_at, last_announced_at, office_message_id)"
        " VALUES (1, 'K7QX-92MD', 0, 'telegram', 123456789, 'khac', 'b', 'c', 'u', 'l', 42)"
    )
    raw.execute(
        "INSERT INTO report_events (report_id, at, actor, action) VALUES (1, 'a', 'x', 'y')"
    )
    raw.execute(
        "INSERT INTO outbox (chat_id, kind, payload, created_at, message_id)"
        " VALUES (-1001234, 'office_report', 'p', 'c', 99)"
    )
    raw.commit()
    raw.close()

    db = await Database.open(path)
    try:
        assert await db.schema_version() == len(load_migrations())
        person = await db.fetch_one("SELECT chat_id, typeof(chat_id) FROM people WHERE id = 7")
        assert tuple(person) == ("123456789", "text")
        used_by = await db.fetch_one("SELECT used_by FROM invitations")
        assert used_by[0] == 7  # the reference to the rebuilt table is kept, not nulled
        report = await db.fetch_one("SELECT chat_id, office_message_id FROM reports")
        assert tuple(report) == ("123456789", "42")
        events = await db.fetch_one("SELECT count(*) FROM report_events")
        assert events[0] == 1  # dropping the old reports table cascaded nothing
        outbox = await db.fetch_one("SELECT channel, chat_id, message_id FROM outbox")
        assert tuple(outbox) == ("telegram", "-1001234", "99")
        assert (await db.fetch_one("PRAGMA foreign_keys"))[0] == 1
        # ids above 2^63 are stored as written and stay distinct
        repo = PeopleRepository(db)
        async with db.transaction() as tx:
            for chat_id in ("9876543210987654321", "9876543210987654322"):
                await repo.save(
                    tx,
                    channel="zalo",
                    chat_id=chat_id,
                    role="parent",
                    unit_code=None,
                    subscribed=True,
                    now=NOW,
                )
        stored = await db.fetch_all("SELECT chat_id FROM people WHERE channel = 'zalo'")
        assert sorted(row[0] for row in stored) == ["9876543210987654321", "9876543210987654322"]
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO outbox (chat_id, kind, payload, created_at)"
                    " VALUES ('1', 'k', 'p', 'c')"
                )
    finally:
        await db.close()
