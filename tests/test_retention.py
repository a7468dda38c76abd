"""Retention: the content of reports closed longer than allowed is erased, nothing else."""

from __future__ import annotations

from datetime import datetime

from bot.kernel.clock import ManualClock
from bot.kernel.crypto import Cipher
from bot.kernel.files import FileStore, StoredFile
from bot.office.retention import RetentionService
from storage.audit import AuditLog
from storage.db import Database, to_db
from storage.reports import ReportRepository
from tests.conftest import TZ
from tests.test_config import run_antq

NOW = datetime(2027, 12, 1, 10, 0, tzinfo=TZ)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


async def test_purge_erases_what_it_should_and_nothing_else(tmp_path):
    db = await Database.open(tmp_path / "antq.db")
    cipher = Cipher([Cipher.generate_key()])
    reports = ReportRepository(db)
    plan = {  # code: (anonymous, status, last change)
        "OLD-DONE": (False, "resolved", local(2026, 10, 1, 9, 0)),
        "OLD-TIP": (True, "dismissed", local(2026, 11, 1, 9, 0)),
        "OLD-SPAM": (False, "spam", local(2026, 11, 30, 9, 0)),
        "NEW-DONE": (False, "resolved", local(2027, 6, 1, 9, 0)),
        "OLD-OPEN": (False, "in_progress", local(2026, 10, 1, 9, 0)),
    }
    ids: dict[str, int] = {}
    store = FileStore(db, cipher, tmp_path / "files", lambda: NOW)
    stored: dict[str, str] = {}
    for code in plan:
        evidence = await store.put(f"ảnh của {code}".encode(), kind="photo")
        assert isinstance(evidence, StoredFile)
        stored[code] = evidence.id
    async with db.transaction() as tx:
        for n, (code, (anonymous, status, changed)) in enumerate(plan.items()):
            ids[code] = await reports.insert(
                tx, code=code, anonymous=anonymous, channel=None if anonymous else "telegram",
                chat_id=None if anonymous else n, category="co_bac", unit_code=None,
                body=cipher.encrypt_json({"what": f"lời kể {code}"}), passphrase_hash=None,
                now=local(2026, 9, 1, 8, 0),
            )  # fmt: skip
            await reports.set_status(tx, ids[code], status, changed)
            await tx.execute(
                "INSERT INTO report_files (report_id, kind, ref, added_by, added_at) "
                "VALUES (?, 'photo', ?, 'sender', ?)",
                (ids[code], cipher.encrypt(stored[code]), to_db(changed)),
            )
            await tx.execute(  # a Telegram file id kept before the store: nothing to delete
                "INSERT INTO report_files (report_id, kind, ref, added_by, added_at) "
                "VALUES (?, 'photo', ?, 'sender', ?)",
                (ids[code], cipher.encrypt("AgACAgIAAxkBAAIB-legacy"), to_db(changed)),
            )
            await tx.execute(
                "INSERT INTO report_events (report_id, at, actor, action, note) "
                "VALUES (?, ?, 'office:1', 'reply', ?)",
                (ids[code], to_db(changed), cipher.encrypt("trả lời")),
            )
            for state in ("sent", "pending"):
                await tx.execute(
                    "INSERT INTO outbox (channel, chat_id, kind, payload, ref, state, created_at) "
                    "VALUES ('telegram', ?, 'reporter_update', 'secret', ?, ?, ?)",
                    (n, f"report:{ids[code]}", state, to_db(changed)),
                )
    service = RetentionService(db, cipher, ManualClock(TZ, NOW), days=365, files=store)
    assert await service.purge() == 3
    erased, kept = {"OLD-DONE", "OLD-TIP", "OLD-SPAM"}, {"NEW-DONE", "OLD-OPEN"}
    for code, report_id in ids.items():
        row = await reports.get(report_id)
        assert row is not None and row.status == plan[code][1]  # the counts stay
        body = cipher.decrypt_json(row.body)
        files = await db.fetch_one(
            "SELECT COUNT(*) FROM report_files WHERE report_id = ?", (report_id,)
        )
        note = await db.fetch_one(
            "SELECT note FROM report_events WHERE report_id = ?", (report_id,)
        )
        sql = "SELECT state, payload FROM outbox WHERE ref = ?"
        payloads = {row[0]: row[1] for row in await db.fetch_all(sql, (f"report:{report_id}",))}
        if code in erased:
            assert body["what"] == "" and body["erased"] is True
            assert files[0] == 0 and note[0] is None
            assert await store.info(stored[code]) is None  # the evidence itself is gone
            assert not store.path(stored[code]).exists()
            assert payloads == {"sent": "", "pending": "secret"}  # what waits is still sent
        else:
            assert code in kept and body["what"] == f"lời kể {code}"
            assert files[0] == 2 and cipher.decrypt(note[0]) == "trả lời"
            assert await store.read(stored[code]) == f"ảnh của {code}".encode()
            assert payloads == {"sent": "secret", "pending": "secret"}
    count = await db.fetch_one("SELECT COUNT(*) FROM reports")
    assert count[0] == 5
    assert await service.purge() == 0  # nothing twice
    (entry,) = await AuditLog(db).latest(5)
    assert (entry.actor, entry.action, entry.details) == ("system", "retention_purge", "3")
    forever = RetentionService(db, cipher, ManualClock(TZ, NOW), days=0, files=store)
    assert await forever.purge() == 0
    await db.close()


def test_purge_command(tmp_path):
    env = {"ANTQ_DATABASE_PATH": str(tmp_path / "antq.db"), "ANTQ_RETENTION_DAYS": "30"}
    done = run_antq("purge", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Đã xóa nội dung" in done.stdout and "0 tin báo" in done.stdout
    bad = run_antq("purge", env={**env, "ANTQ_RETENTION_DAYS": "-1"}, cwd=tmp_path)
    assert bad.returncode == 2 and "ANTQ_RETENTION_DAYS" in bad.stderr
    assert "Traceback" not in bad.stderr
