"""The office's export: a known data set written, opened again with openpyxl, cells checked."""

from __future__ import annotations

import csv
from datetime import date, datetime

import openpyxl
import pytest

from bot.kernel.clock import ManualClock
from bot.kernel.crypto import Cipher
from bot.office.export_desk import ExportDesk, PeriodError
from storage.audit import AuditLog
from storage.db import Database, to_db
from storage.reports import ReportRepository
from storage.units import Unit, UnitRepository
from tests.conftest import CLERK_ID, OFFICE_CHAT_ID, TZ, Harness
from tests.test_announcements import group_reply
from tests.test_config import run_antq

NOW = datetime(2026, 12, 20, 10, 0, tzinfo=TZ)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


async def build(db: Database, cipher: Cipher) -> None:
    """Two units; a report, a tip, one report outside the period; deadlines; outreach; a log."""
    await UnitRepository(db).upsert_all(
        [Unit("A", "Trường A", "THPT", "Xã Một"), Unit("B", "Trường B", "THCS", "Xã Hai")]
    )
    reports = ReportRepository(db)
    body = {
        "what": '=HYPERLINK("x") bị đe dọa',
        "where": "Cổng trường",
        "occurred_on": "2026-10-01",
        "people": "Hai học sinh",
        "contact_name": "Nguyễn Thị Lan",
        "contact_phone": "0912345678",
    }
    async with db.transaction() as tx:
        first = await reports.insert(
            tx, code="AAAA-1111", anonymous=False, channel="telegram", chat_id=5,
            category="bao_luc_hoc_duong", unit_code="A", body=cipher.encrypt_json(body),
            passphrase_hash=None, now=local(2026, 10, 2, 8, 30),
        )  # fmt: skip
        await reports.touch_first_action(tx, first, local(2026, 10, 2, 9, 0))
        await reports.set_status(tx, first, "resolved", local(2026, 10, 3, 9, 0))
        tip = {"what": "Có người bán thuốc lá điện tử", "where": None, "occurred_on": None}
        await reports.insert(
            tx, code="BBBB-2222", anonymous=True, channel=None, chat_id=None, category="ma_tuy",
            unit_code="B", body=cipher.encrypt_json(tip), passphrase_hash="h",
            now=local(2026, 11, 5, 20, 0),
        )  # fmt: skip
        await reports.insert(
            tx, code="CCCC-3333", anonymous=False, channel="telegram", chat_id=6,
            category="co_bac", unit_code="A", body=cipher.encrypt_json({"what": "cũ"}),
            passphrase_hash=None, now=local(2026, 8, 31, 23, 59),
        )  # fmt: skip
        for deadline_id, due, state in ((1, local(2026, 10, 15, 17, 0), "open"),
                                        (2, local(2026, 11, 15, 17, 0), "closed"),
                                        (3, local(2026, 11, 20, 17, 0), "cancelled")):  # fmt: skip
            await tx.execute(
                "INSERT INTO deadlines (id, title, due_at, reminders, scope, state, created_by, "
                "created_at, updated_at) VALUES (?, ?, ?, '', 'all', ?, 'cli', ?, ?)",
                (deadline_id, f"Hạn {deadline_id}", to_db(due), state, to_db(NOW), to_db(NOW)),
            )
        done = {
            (1, "A"): local(2026, 10, 14, 9, 0),  # on time
            (1, "B"): local(2026, 10, 16, 9, 0),  # late
            (2, "A"): None,  # not done
            (2, "B"): local(2026, 11, 1, 9, 0),  # on time
            (3, "A"): None,  # cancelled: not counted
        }
        for (deadline_id, unit), at in done.items():
            await tx.execute(
                "INSERT INTO deadline_units (deadline_id, unit_code, done_at) VALUES (?, ?, ?)",
                (deadline_id, unit, to_db(at) if at else None),
            )
        pushes = (("2026-09-07", "staff", 10), ("2026-09-07", "parents", 5),
                  ("2026-09-14", "staff", 10))  # fmt: skip
        for week, audience, recipients in pushes:
            await tx.execute(
                "INSERT INTO outreach_pushes VALUES (?, ?, ?, ?)",
                (week, audience, to_db(NOW), recipients),
            )
        for number, state in enumerate(["sent"] * 12 + ["blocked"] * 2 + ["failed"]):
            await tx.execute(
                "INSERT INTO outbox (channel, chat_id, kind, payload, ref, state, created_at, "
                "dedupe_key) "
                "VALUES ('telegram', ?, 'outreach', 'p', 'outreach:2026-09-07', ?, ?, ?)",
                (number, state, to_db(NOW), f"outreach:2026-09-07:x:{number}"),
            )
        for unit, week in (("A", "2026-09-07"), ("B", "2026-09-07"), ("A", "2026-09-14")):
            await tx.execute(
                "INSERT INTO unit_confirmations (unit_code, week_start, confirmed_at) "
                "VALUES (?, ?, ?)",
                (unit, week, to_db(NOW)),
            )
        await AuditLog(db).record(
            tx, at=local(2026, 10, 3, 9, 0), actor=f"office:{CLERK_ID}", action="report_status",
            subject="AAAA-1111", details="received>resolved",
        )  # fmt: skip


@pytest.fixture
async def desk(tmp_path, bundle):
    db = await Database.open(tmp_path / "antq.db")
    cipher = Cipher([Cipher.generate_key()])
    await build(db, cipher)
    try:
        yield ExportDesk(db, bundle, cipher, ManualClock(TZ, NOW))
    finally:
        await db.close()


def sheet(book: openpyxl.Workbook, title: str) -> list[tuple]:
    return list(book[title].iter_rows(values_only=True))


async def test_the_workbook_holds_the_known_data_set(desk, tmp_path):
    period = desk.period(None, None)  # this school year
    assert (period.first, period.last) == (date(2026, 9, 1), date(2027, 8, 31))
    result = await desk.write(period, tmp_path / "out.xlsx", "cli")
    book = openpyxl.load_workbook(result.files[0])
    assert book.sheetnames == [
        "Tin báo, tố giác", "Chấm điểm đơn vị", "Hạn chót", "Tuyên truyền", "Nhật ký thao tác",
    ]  # fmt: skip

    reports = sheet(book, "Tin báo, tố giác")
    assert reports[0][:3] == ("Mã tiếp nhận", "Loại", "Lĩnh vực")
    assert len(reports) == 3  # the report of 31/08 belongs to the previous school year
    report, tip = reports[1], reports[2]
    assert report == (
        "AAAA-1111", "Tin báo", "Bạo lực học đường", "A", "Trường A", "Đã xử lý xong",
        datetime(2026, 10, 2, 8, 30), datetime(2026, 10, 2, 9, 0), datetime(2026, 10, 1),
        "Cổng trường", "=HYPERLINK(\"x\") bị đe dọa", "Hai học sinh", "Nguyễn Thị Lan",
        "0912345678",
    )  # fmt: skip
    cell = book["Tin báo, tố giác"]["K2"]
    assert cell.data_type == "s"  # a person's '=' is text, not a formula
    assert book["Tin báo, tố giác"]["G2"].number_format == "dd/mm/yyyy hh:mm"
    assert tip[:6] == (
        "BBBB-2222", "Tố giác ẩn danh", "Ma túy, thuốc lá điện tử và chất kích thích", "B",
        "Trường B", "Mới gửi, chờ tiếp nhận",
    )  # fmt: skip
    assert tip[10] == "Có người bán thuốc lá điện tử"
    assert tip[12:] == ("(ẩn danh)", None)  # an anonymous tip has no identity to export

    scorecard = sheet(book, "Chấm điểm đơn vị")
    assert scorecard[0][4:] == (
        "Tin báo, tố giác", "Đã xử lý", "Số tuần đã phổ biến (xác nhận)", "Số hạn chót đã đến hạn",
        "Hoàn thành đúng hạn", "Hoàn thành trễ hạn", "Chưa hoàn thành",
    )  # fmt: skip
    assert scorecard[1:] == [
        ("A", "Trường A", "THPT", "Xã Một", 1, 1, 2, 2, 1, 0, 1),
        ("B", "Trường B", "THCS", "Xã Hai", 1, 0, 1, 2, 1, 1, 0),
    ]

    deadlines = sheet(book, "Hạn chót")
    assert [(r[0], r[4], r[7]) for r in deadlines[1:]] == [
        (1, "A", "Đúng hạn"), (1, "B", "Trễ hạn"), (2, "A", "Chưa hoàn thành"),
        (2, "B", "Đúng hạn"),
    ]  # fmt: skip
    assert deadlines[1][2] == datetime(2026, 10, 15, 17, 0)

    outreach = sheet(book, "Tuyên truyền")
    assert outreach[1:] == [
        (datetime(2026, 9, 7), 15, 12, 2, 1, 2),
        (datetime(2026, 9, 14), 10, 0, 0, 0, 1),
    ]

    audit = sheet(book, "Nhật ký thao tác")
    assert audit[1] == (
        datetime(2026, 10, 3, 9, 0), f"cán bộ (ID {CLERK_ID})", "Đổi tình trạng tin báo",
        "AAAA-1111", "Đã tiếp nhận → Đã xử lý xong",
    )  # fmt: skip
    # the export itself is recorded (after the file was written, so not in it)
    (entry, _) = await AuditLog(desk.db).latest(2)
    assert (entry.actor, entry.action, entry.subject) == ("cli", "export", "out.xlsx")
    assert entry.details == "01/09/2026 - 31/08/2027"


async def test_a_period_of_dates_and_csv(desk, tmp_path):
    period = desk.period("01/11/2026", "30/11/2026")
    result = await desk.write(period, tmp_path / "thang11.xlsx", "cli", as_csv=True)
    assert [p.name for p in result.files] == [
        "thang11_1_tin_bao_to_giac.csv", "thang11_2_cham_diem_don_vi.csv",
        "thang11_3_han_chot.csv", "thang11_4_tuyen_truyen.csv", "thang11_5_nhat_ky_thao_tac.csv",
    ]  # fmt: skip
    with result.files[0].open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert [row[0] for row in rows[1:]] == ["BBBB-2222"]
    assert rows[1][6] == "05/11/2026 20:00"
    assert result.rows == {"reports": 1, "scorecard": 2, "deadlines": 2, "outreach": 0, "audit": 0}
    for bad in (("31/02/2026", "01/03/2026"), ("02/03/2026", "01/03/2026"), ("hôm qua", None)):
        with pytest.raises(PeriodError):
            desk.period(*bad)


def test_the_command_line_refuses_bad_dates_in_one_line(tmp_path):
    env = {"ANTQ_DATABASE_PATH": str(tmp_path / "antq.db")}
    bad = run_antq("export", "--from", "31/02/2026", "--to", "01/03/2026", "x.xlsx", env=env,
                   cwd=tmp_path)  # fmt: skip
    assert bad.returncode == 2, bad.stderr
    assert "Traceback" not in bad.stderr and "DD/MM/YYYY" in bad.stderr
    done = run_antq("export", "--from", "01/09/2026", "--to", "31/12/2026", "x.xlsx", env=env,
                    cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "x.xlsx").exists() and "0 tin báo" in done.stdout


async def test_xuat_sends_the_workbook_to_office_members_only(harness: Harness):
    clerk = await harness.client.create_user("Hoa", user_id=CLERK_ID)
    stranger = await harness.user("Khách")
    await harness.client.create_group("Văn phòng Sở", [clerk, stranger], chat_id=OFFICE_CHAT_ID)
    await stranger.send("/xuat", chat_id=OFFICE_CHAT_ID)
    refused = await stranger.next_reply(10, chat_id=OFFICE_CHAT_ID)
    assert "không có quyền" in refused.text
    await clerk.send("/xuat 01/09/2026 30/11/2026", chat_id=OFFICE_CHAT_ID)
    document = await group_reply(clerk, "Dữ liệu từ 01/09/2026 đến 30/11/2026")
    assert document.kind == "document" and document.file_name.endswith(".xlsx")
    await clerk.send("/xuat 30/11/2026 01/09/2026", chat_id=OFFICE_CHAT_ID)
    assert "Ngày không hợp lệ" in (await group_reply(clerk, "Ngày không hợp lệ")).text


async def test_a_database_path_with_spaces_and_hashes(tmp_path, bundle):
    db = await Database.open(tmp_path / "dữ liệu #1 ?" / "antq.db")
    cipher = Cipher([Cipher.generate_key()])
    await build(db, cipher)
    try:
        desk = ExportDesk(db, bundle, cipher, ManualClock(TZ, NOW))
        result = await desk.write(desk.period(None, None), tmp_path / "x.xlsx", "cli")
        assert result.rows["reports"] == 2
    finally:
        await db.close()


async def test_a_deadline_not_yet_due_is_not_held_against_a_unit(desk, tmp_path):
    async with desk.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO deadlines (id, title, due_at, reminders, scope, state, created_by, "
            "created_at, updated_at) VALUES (4, 'Hạn 4', ?, '', 'all', 'open', 'cli', ?, ?)",
            (to_db(local(2027, 1, 15, 17, 0)), to_db(NOW), to_db(NOW)),
        )
        await tx.execute("INSERT INTO deadline_units (deadline_id, unit_code) VALUES (4, 'A')")
    result = await desk.write(desk.period(None, None), tmp_path / "out.xlsx", "cli")
    book = openpyxl.load_workbook(result.files[0])
    assert sheet(book, "Chấm điểm đơn vị")[1][7:] == (2, 1, 0, 1)  # as before: 4 is not due
    last = sheet(book, "Hạn chót")[-1]
    assert (last[0], last[4], last[7]) == (4, "A", "Chưa đến hạn")
