"""Findings of the outside review (../shared/REVIEW.md): each test failed before its fix."""

from __future__ import annotations

import asyncio
import html
import logging
import os
import random
import re
import sqlite3
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pydantic import SecretStr, ValidationError
from telegram import Update

from bot.chat.ref import ChatRef, Staff
from bot.dialogs.engine import DialogEngine
from bot.invitations.export import write_files
from bot.invitations.service import Issued
from bot.kernel.clock import ManualClock
from bot.kernel.config import Settings, describe_errors
from bot.kernel.crypto import Cipher
from bot.kernel.startup import configure_logging
from bot.office.export_desk import ExportDesk
from bot.units.importer import parse_units_file
from content.schema import DialogSpec
from handlers.telegram.dedupe import RecentUpdates
from handlers.telegram.links import start_links
from handlers.telegram.render import fit
from sandbox.telegram import SimUser
from storage.db import Database
from storage.reports import ReportRepository
from storage.units import Unit, UnitRepository
from tests.conftest import CLERK_ID, OFFICE_CHAT_ID, TZ, Harness
from tests.test_announcements import draft, group_reply, people, settle
from tests.test_config import run_antq
from tests.test_engine import SPEC, TODAY, press, text, units_source
from tests.test_outreach import SUNDAY_EVENING, WEEK, add_people
from tests.test_reports import CODE, submit_report, submit_tip, walk_to_evidence


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


# ------------------------------------------------- F3, F17, F10: configuration and logging


def test_f3_webhook_mode_without_a_secret_is_refused(monkeypatch: pytest.MonkeyPatch, bundle):
    monkeypatch.setenv("ANTQ_MODE", "webhook")
    monkeypatch.setenv("ANTQ_WEBHOOK_URL", "https://antq.example.gov.vn/telegram")
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    assert describe_errors(caught.value, bundle.texts) == [
        "ANTQ: " + bundle.texts.get("config.error.webhook_needs_secret")
    ]
    monkeypatch.setenv("ANTQ_WEBHOOK_SECRET", "short")
    with pytest.raises(ValidationError, match="webhook_secret"):
        Settings(_env_file=None)
    monkeypatch.setenv("ANTQ_WEBHOOK_SECRET", "a-long_random-Secret-0123")
    assert Settings(_env_file=None).webhook_secret is not None


def test_f3_antq_run_in_webhook_mode_without_a_secret_exits_2(tmp_path: Path):
    result = run_antq(
        "run",
        env={
            "ANTQ_BOT_TOKEN": "123456:abcdefGHIJ",
            "ANTQ_MODE": "webhook",
            "ANTQ_WEBHOOK_URL": "https://antq.example.gov.vn/telegram",
            "ANTQ_DATABASE_PATH": str(tmp_path / "antq.db"),
        },
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "ANTQ_WEBHOOK_SECRET" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "worded"),
    [
        ("ANTQ_LOG_LEVEL", "VERBOSE", "DEBUG, INFO"),
        ("ANTQ_LOG_LEVEL", "5", "DEBUG, INFO"),
        ("ANTQ_UNCLAIMED_AFTER_HOURS", "inf", "hữu hạn"),
        ("ANTQ_URGENT_UNCLAIMED_AFTER_HOURS", "1e300", "quá lớn"),
    ],
)
def test_f17_bad_values_are_refused_by_validation(
    monkeypatch: pytest.MonkeyPatch, bundle, name: str, value: str, worded: str
):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    [line] = describe_errors(caught.value, bundle.texts)
    assert line.startswith(f"{name}: ") and worded in line


def test_f17_every_bad_setting_is_exit_2_and_worded_lines_without_traceback(tmp_path: Path):
    base = {"ANTQ_DATABASE_PATH": str(tmp_path / "antq.db")}
    token = {"ANTQ_BOT_TOKEN": "123456:abcdefGHIJ", "ANTQ_API_BASE_URL": "http://127.0.0.1:9"}
    (tmp_path / "keydir").mkdir()
    cases: list[tuple[tuple[str, ...], dict[str, str], str]] = [
        (("run",), {**token, "ANTQ_LOG_LEVEL": "VERBOSE"}, "ANTQ_LOG_LEVEL"),
        (("run",), {**token, "ANTQ_UNCLAIMED_AFTER_HOURS": "inf"}, "ANTQ_UNCLAIMED_AFTER_HOURS"),
        (("export", "--from", "01/01/0001", "x.xlsx"), {}, "Ngày không hợp lệ"),
        (("export", "--from", "01/09/2026", "--to", "31/12/9999", "x.xlsx"), {}, "Ngày"),
        (("export", str(tmp_path / "nonexistent" / "x.xlsx")), {}, "không tồn tại"),
        (("export", "x.xlsx"), {"ANTQ_DATA_KEY_FILE": str(tmp_path / "keydir")}, "keydir"),
    ]
    for args, env, expected in cases:
        result = run_antq(*args, env={**base, **env}, cwd=tmp_path)
        assert result.returncode == 2, (args, env, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and "Không mở được cơ sở" not in result.stderr


def test_f17_an_env_file_not_in_utf8_is_one_line(tmp_path: Path):
    (tmp_path / ".env").write_bytes("ANTQ_ORG_NAME=Sở Giáo dục\n".encode("cp1258", "replace"))
    result = run_antq("run", env={}, cwd=tmp_path)
    assert result.returncode == 2 and "UTF-8" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_f17_an_unreachable_api_leaves_no_unclosed_session(tmp_path: Path):
    env = {
        "ANTQ_BOT_TOKEN": "123456:abcdefGHIJ",
        "ANTQ_API_BASE_URL": "http://127.0.0.1:9",
        "ANTQ_DATABASE_PATH": str(tmp_path / "antq.db"),
    }
    result = run_antq("run", env=env, cwd=tmp_path)
    assert result.returncode == 1 and "Không kết nối được" in result.stderr
    assert "Unclosed" not in result.stderr and "ERROR" not in result.stderr


def test_f10_pillow_never_logs_below_warning(caplog: pytest.LogCaptureFixture):
    configure_logging("DEBUG")
    try:
        assert logging.getLogger("PIL.TiffImagePlugin").getEffectiveLevel() == logging.WARNING
        with caplog.at_level(logging.DEBUG):
            logging.getLogger("PIL.TiffImagePlugin").debug("tag: Artist (315) value: b'Tran'")
        assert "Artist" not in caplog.text
    finally:
        logging.getLogger().setLevel(logging.WARNING)


# ------------------------------------------------------------------- F16: bounded webhook


async def test_f16_a_huge_webhook_body_is_refused_from_its_headers(webhook_harness: Harness):
    assert webhook_harness.services is not None
    settings = webhook_harness.services.settings
    reader, writer = await asyncio.open_connection(settings.webhook_host, settings.webhook_port)
    try:
        writer.write(
            b"POST /telegram HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 90000000\r\n\r\n{"
        )
        await writer.drain()
        # refused at once: the server does not wait for (or buffer) the 90 MB
        answer = await asyncio.wait_for(reader.read(200), timeout=5)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400")
    finally:
        writer.close()
    user = await webhook_harness.user("Minh")  # and the bot still works
    await user.send("/start")
    assert (await user.next_reply()).text


# ------------------------------------- F5, F18, F20: control characters, owner-only files


async def test_f5_f18_control_characters_never_break_an_export_and_files_are_owner_only(
    tmp_path: Path, bundle
):
    db = await Database.open(tmp_path / "antq.db")
    cipher = Cipher([Cipher.generate_key()])
    try:
        await UnitRepository(db).upsert_all([Unit("A", "Trường\x01 A\x0b", "THPT", "Xã\x1b")])
        body = {"what": "Word\x0bdán\x1b[31m vào", "where": "Cổng\x00", "people": "\x08"}
        async with db.transaction() as tx:
            await ReportRepository(db).insert(
                tx, code="AAAA-1111", anonymous=False, channel="telegram", chat_id=5,
                category="co_bac", unit_code="A", body=cipher.encrypt_json(body),
                passphrase_hash=None, now=datetime(2026, 10, 2, 8, 30, tzinfo=TZ),
            )  # fmt: skip
        desk = ExportDesk(db, bundle, cipher, ManualClock(TZ, datetime(2026, 12, 1, tzinfo=TZ)))
        period = desk.period("01/09/2026", "30/11/2026")
        old_umask = os.umask(0o022)
        try:
            result = await desk.write(period, tmp_path / "out.xlsx", "cli")
            csv_result = await desk.write(period, tmp_path / "out.xlsx", "cli", as_csv=True)
        finally:
            os.umask(old_umask)
        for path in [*result.files, *csv_result.files, db.path]:
            assert path.stat().st_mode & 0o077 == 0, path
        book = openpyxl.load_workbook(result.files[0])
        cells = [c for row in book.worksheets[0].iter_rows(values_only=True) for c in row]
        assert "Worddán[31m vào" in cells
        assert not any(isinstance(c, str) and ILLEGAL_CHARACTERS_RE.search(c) for c in cells)
    finally:
        await db.close()


def test_f5_the_invitations_file_takes_a_unit_name_with_control_characters(tmp_path: Path, bundle):
    issued = [
        Issued(Unit("A\x02", "Trường\x01 A\x0b", "THPT", "Xã\x1b"), "c0de", 1, datetime.now(UTC))
    ]
    xlsx, _ = write_files(issued, start_links("antq_bot"), tmp_path / "moi.xlsx", bundle.texts, TZ)
    rows = list(openpyxl.load_workbook(xlsx).active.iter_rows(values_only=True))
    assert rows[1][:4] == ("A", "Trường A", "THPT", "Xã")


@pytest.fixture
def demo_engine(bundle) -> DialogEngine:
    keys = ("kind", "kind_label", "a", "b", "what", "what_label", "when", "when_label")
    extra = {f"t.{key}": f"<{key}>" for key in keys}
    spec = DialogSpec.model_validate(SPEC)
    texts = bundle.texts.with_extra(extra)
    return DialogEngine({"demo": spec}, texts, lambda: TODAY, sources={"units": units_source})


async def test_f5_f20_dialog_text_loses_control_characters_and_invisible_text_is_refused(
    demo_engine: DialogEngine,
):
    engine = demo_engine
    start = await engine.start("demo")
    state = (await engine.step(start.state, press(start, "<a>"))).state
    assert state is not None and state.step == "what"
    for invisible in (
        "a" + "\u200b" * 10,
        "a" + "".join(chr(c) for c in range(1, 12)),
        "a" + "\u202e\u200b\u2066\u200d\u2069\u200c\u202a\u202b\u202c\u202d\u200e\u200f",
    ):
        refused = await engine.step(state.model_copy(deep=True), text(invisible))
        assert refused.state is not None and refused.state.step == "what", repr(invisible)
    accepted = await engine.step(state, text("Chuyện\x0bxảy ra \u202eở cổng\x1b trường"))
    assert accepted.state is not None and accepted.state.step == "when"
    assert accepted.state.answers["what"] == "Chuyện\nxảy ra ở cổng trường"


# ----------------------------------------------------------------- F19: unit import caps

UNITS_HEADER = "Mã đơn vị,Tên đơn vị,Loại hình,Địa bàn\n"


def test_f19_unit_import_refuses_control_characters_in_names(tmp_path: Path):
    path = tmp_path / "units.csv"
    path.write_text(UNITS_HEADER + "A1,Trường\x01\x0b A,THPT,Xã\x1b A\n", encoding="utf-8")
    result = parse_units_file(path)
    assert result.units == []
    assert {(p.line, p.field, p.reason_key) for p in result.problems} == {
        (2, "name", "units_import.problem.control_char"),
        (2, "area", "units_import.problem.control_char"),
    }


def test_f19_unit_import_has_a_size_cap_and_a_row_cap(tmp_path: Path):
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8") as out:
        out.write(UNITS_HEADER)
        line = "X{},Trường " + "Một Hai Ba " * 20 + ",THPT,Xã A\n"
        for number in range(30_000):
            out.write(line.format(number))
    assert big.stat().st_size > 5_000_000
    [problem] = parse_units_file(big).problems
    assert problem.reason_key == "units_import.problem.too_big"
    many = tmp_path / "many.csv"
    many.write_text(
        UNITS_HEADER + "".join(f"X{n},Trường {n},THPT,Xã A\n" for n in range(10_020)),
        encoding="utf-8",
    )
    [problem] = parse_units_file(many).problems
    assert problem.reason_key == "units_import.problem.too_many_rows"
    fine = tmp_path / "fine.csv"
    fine.write_text(
        UNITS_HEADER + "".join(f"X{n},Trường {n},THPT,Xã A\n" for n in range(3_000)),
        encoding="utf-8",
    )
    assert len(parse_units_file(fine).units) == 3_000


# ------------------------------------------------------ F9: confirmations of pushed weeks


async def test_f9_a_head_confirms_only_weeks_pushed_to_them_up_to_the_current_week(
    harness: Harness,
):
    [(head, _)] = await add_people(harness, ["head"])
    harness.clock.set(SUNDAY_EVENING)
    assert harness.services is not None
    await harness.services.outreach.tick()
    pushed = await head.next_reply(15)
    for future in ("2026-09-14", "2026-09-21", "2027-05-10"):
        forged = await head.callback_answer(await head.press_data(pushed.message_id, f"w:{future}"))
        assert "chưa được gửi đến" in forged["text"], future
    answer = await head.callback_answer(await head.press("✅ Đã phổ biến tại buổi chào cờ"))
    assert "Đã ghi nhận" in answer["text"]
    harness.clock.set(datetime(2026, 9, 22, 10, 0, tzinfo=TZ))  # no push of 14/09 reached them
    skipped = await head.callback_answer(await head.press_data(pushed.message_id, "w:2026-09-14"))
    assert "chưa được gửi đến" in skipped["text"]
    current = await head.callback_answer(await head.press_data(pushed.message_id, "w:2026-09-21"))
    assert "Đã ghi nhận" in current["text"]  # this week's, as /tuannay shows it
    confirmed = harness.services.outreach.repo.confirmed_units
    assert await confirmed(WEEK) == {"THPT-DX01"}
    assert await confirmed(date(2026, 9, 14)) == set()


# ------------------------------------------- F13: forged callback data and odd arguments

ODD_NUMBERS = [
    "²",
    "١",
    "٣٤",
    "99999999999999999999999",
    "9" * 19,
    "-1",
    "0",
    "",
    " 1",
    "1 ",
    "1\x00",
]
PREFIXES = ["r", "a", "dl", "dq", "iv", "w", "o", "op", "dr", "d", "x", ""]
WORDS = ["spam", "ok", "v", "done", "help", "y", "received", "n", "zp", "z", "uk", "uks", "ua"]


def forged_data(rng: random.Random) -> str:
    """Callback data of any shape: known prefixes with odd numbers, words and random text."""
    parts = [rng.choice(PREFIXES)]
    for _ in range(rng.randint(0, 4)):
        kind = rng.random()
        if kind < 0.4:
            parts.append(rng.choice(ODD_NUMBERS))
        elif kind < 0.7:
            parts.append(rng.choice(WORDS))
        else:
            alphabet = "0123456789:²١-_ aZđ'\";%\u202e"
            parts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))))
    return ":".join(parts)[:64]


async def test_f13_forged_callback_data_of_any_shape_never_raises(
    harness: Harness, office: SimUser, caplog: pytest.LogCaptureFixture
):
    user = await harness.user("Lan")
    await user.send("/start")
    private = await user.next_reply()
    await office.send("/hanchot", chat_id=OFFICE_CHAT_ID)
    card = await office.next_reply(chat_id=OFFICE_CHAT_ID)
    rng = random.Random(13)
    fixed = [f"{p}:{n}:{w}" for p in PREFIXES for n in ODD_NUMBERS[:5] for w in ("spam", "v")]
    samples = fixed + [forged_data(rng) for _ in range(150)]
    with caplog.at_level(logging.ERROR, logger="handlers.telegram.errors"):
        for data in samples:
            for who, message, chat in ((office, card, OFFICE_CHAT_ID), (user, private, None)):
                pressed = await who.press_data(message.message_id, data, chat_id=chat)
                answer = await who.callback_answer(pressed)
                assert answer["answered"], data
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_f13_odd_admin_arguments_get_a_worded_answer(
    harness: Harness, office: SimUser, caplog: pytest.LogCaptureFixture
):
    commands = [
        "/hanchot 99999999999999999999999",
        "/hanchot ²",
        "/thongke 01/01/0001 31/12/9999",
        "/xuat 01/01/0001",
        "/xuat 01/09/2026 31/12/9999",
    ]
    with caplog.at_level(logging.ERROR, logger="handlers.telegram.errors"):
        for command in commands:
            await office.send(command, chat_id=OFFICE_CHAT_ID)
            reply = await office.next_reply(chat_id=OFFICE_CHAT_ID)
            assert "sự cố" not in (reply.text or ""), command
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


# ------------------------------------------------------ F12: updates deduplicated by id


async def test_f12_the_same_update_delivered_twice_is_handled_once(harness: Harness):
    user = await harness.user("Lan")
    assert harness.app is not None
    sender = {"id": user.id, "is_bot": False, "first_name": "Lan"}
    raw = {
        "update_id": 987654,
        "message": {
            "message_id": 4242,
            "date": int(time.time()),
            "chat": {"id": user.id, "type": "private", "first_name": "Lan"},
            "from": sender,
            "text": "/trogiup",
            "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
        },
    }
    for _ in range(2):  # as after a webhook timeout, or polling after a crash
        await harness.app.update_queue.put(Update.de_json(raw, harness.app.bot))
    first = await user.next_reply()
    assert "/baocao" in first.text
    await asyncio.sleep(0.5)
    replies = [m for m in await user.transcript() if m["from_bot"]]
    assert len(replies) == 1


def test_f12_the_memory_of_update_ids_is_bounded():
    recent = RecentUpdates(size=3)
    assert [recent.first_time(i) for i in (1, 2, 1, 3, 4)] == [True, True, False, True, True]
    assert recent.first_time(1)  # forgotten: the oldest go first
    assert not recent.first_time(4)


# -------------------------------------------------------- F14: key rotation keeps dialogs


async def test_f14_rotating_the_data_key_keeps_an_open_dialog(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    user = await harness.user("Lan")
    await user.send("/baocao")
    await user.replies(3)
    await user.press("Lừa đảo qua mạng")
    await user.next_reply()
    old_key = harness.database.with_suffix(".key").read_text().strip()
    new_key = Cipher.generate_key()
    plain = harness.settings

    def rotated() -> Settings:
        return plain().model_copy(update={"data_key": SecretStr(f"{new_key},{old_key}")})

    monkeypatch.setattr(harness, "settings", rotated)
    await harness.restart()
    await user.send("Có người gọi điện cho phụ huynh nói con bị tai nạn, yêu cầu chuyển tiền.")
    where = await user.next_reply()
    assert "Nơi khác (tôi sẽ mô tả)" in where.labels  # the dialog went on: nothing was lost
    assert harness.services is not None
    rows = await harness.services.db.fetch_all("SELECT owner FROM dialog_states")
    owner = Cipher([new_key]).pseudonym(f"telegram:{user.id}")
    assert [row[0] for row in rows] == [owner]  # re-filed under the new key, no orphan left


# -------------------------------------------- F7, F11: /tracuu limits and the newest reply


async def look_up(user: SimUser, code: str, passphrase: str) -> str:
    await user.send("/tracuu")
    await user.next_reply()
    await user.send(code)
    asked = await user.next_reply()
    if "mật khẩu" not in asked.text:
        return asked.text
    await user.send(passphrase)
    shown = (await user.next_reply()).text
    if "Tình trạng" in shown:
        await user.next_reply()  # "Bạn muốn làm gì tiếp?"
    return shown


async def test_f7_others_failures_never_lock_out_a_correct_code_and_passphrase(
    harness: Harness, office: SimUser, caplog: pytest.LogCaptureFixture
):
    tipster = await harness.user("Phụng")
    code, passphrase = await submit_tip(tipster)
    assert harness.services is not None
    service = harness.services.reports
    with caplog.at_level(logging.WARNING, logger="bot.reports.service"):
        for attacker in range(40):  # forty accounts, five wrong codes each
            for _ in range(5):
                service._lookup_failed(ChatRef("telegram", str(7_000_000_000 + attacker)))
    assert "wrong codes" in caplog.text  # the office's operator is alerted instead
    shown = await look_up(tipster, code, passphrase)
    assert code in shown and "thử lại sau" not in shown
    await tipster.send("/huy")
    await tipster.next_reply()
    for attacker in range(10):  # wrong passphrases for this one code, from ten chats
        service._lookup_failed(ChatRef("telegram", str(7_100_000_000 + attacker)), code)
    assert "thử lại sau" in await look_up(tipster, code, passphrase)


async def test_f11_lookup_shows_the_newest_reply_first_whatever_the_older_ones(
    harness: Harness, office: SimUser
):
    tipster = await harness.user("Phụng")
    code, passphrase = await submit_tip(tipster)
    assert harness.services is not None
    reports = harness.services.reports.reports
    report = await reports.by_code(code)
    assert report is not None
    async with harness.services.db.transaction() as tx:
        for number, text in enumerate(["cũ & " * 660, "giữa & " * 470, "TRẢ LỜI MỚI NHẤT"]):
            await reports.add_event(
                tx, report.id, at=harness.clock.now() + timedelta(minutes=number), actor="office",
                action="reply", note=harness.services.cipher.encrypt(text),
            )  # fmt: skip
    shown = await look_up(tipster, code, passphrase)
    assert "TRẢ LỜI MỚI NHẤT" in shown, shown[-300:]
    assert shown.index("TRẢ LỜI MỚI NHẤT") < shown.index("2 trả lời cũ hơn")
    assert len(shown) <= 4096 and not shown.endswith("…")
    async with harness.services.db.transaction() as tx:
        await reports.add_event(
            tx, report.id, at=harness.clock.now() + timedelta(minutes=9), actor="office",
            action="reply", note=harness.services.cipher.encrypt("MỚI & DÀI " * 600),
        )  # fmt: skip
    await tipster.send("/huy")
    await tipster.next_reply()
    shown = await look_up(tipster, code, passphrase)
    assert shown.count("MỚI & DÀI") > 250 and "3 trả lời cũ hơn" in shown  # cut as text


# ------------------------------------------------- F15: a photo announcement's caption


def small_jpeg() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (16, 12), (40, 80, 160)).save(out, "JPEG")
    return out.getvalue()


async def test_f15_a_photo_caption_is_checked_with_its_header_against_1024(
    harness: Harness, office: SimUser
):
    [head] = await people(harness, "head", 1)
    await office.send("/thongbao", chat_id=OFFICE_CHAT_ID)
    prompt = await group_reply(office, "Soạn thông báo")
    await office.send_photo(
        b"\xff\xd8\xff\xe0photo", caption="Ả" * 1000, chat_id=OFFICE_CHAT_ID,
        reply_to=prompt.message_id,
    )  # fmt: skip
    refused = await group_reply(office, "chú thích")
    room = int(re.search(r"chỉ chứa được (\d+) ký tự", refused.text).group(1))
    assert 900 < room < 1000
    choose = await draft(office, "Ả" * room, photo=small_jpeg())  # a photo is a real JPEG
    await office.press("Thủ trưởng đơn vị", chat_id=OFFICE_CHAT_ID, message_id=choose.message_id)
    area = await group_reply(office, "ở địa bàn nào?", event="edit")
    await office.press("Tất cả địa bàn", chat_id=OFFICE_CHAT_ID, message_id=area.message_id)
    preview = await group_reply(office, "Xem trước", event="edit")
    await office.press("✅ Gửi cho 1 người", chat_id=OFFICE_CHAT_ID, message_id=preview.message_id)
    assert await settle(harness, "announcement:1") == {"sent": 1}
    (received,) = [m for m in await head.transcript() if m["from_bot"]]
    assert received["kind"] == "photo" and len(received["caption"]) <= 1024


# ------------------------------------------- F22: the office message cut as text, not HTML


async def test_f22_an_office_message_is_measured_and_cut_as_telegram_counts_it(
    harness: Harness,
):
    assert harness.services is not None
    services = harness.services
    body = {
        "what": "Tôi & bạn <b> " * 190,  # 2,470 characters; escaped it is 1,520 more
        "where": "Cổng & sân",
        "people": "A & B " * 150,
        "contact_name": "Nguyễn Thị Lan",
        "contact_phone": "0912345678",
    }
    async with services.db.transaction() as tx:
        report_id = await services.reports.reports.insert(
            tx, code="AAAA-1111", anonymous=False, channel="telegram", chat_id=5,
            category="co_bac", unit_code=None, body=services.cipher.encrypt_json(body),
            passphrase_hash=None, now=harness.clock.now(),
        )  # fmt: skip
    report = await services.reports.reports.by_code("AAAA-1111")
    assert report is not None and report.id == report_id
    view = await services.reports.desk.current_view(report)
    assert len(view.text) > 4096  # the HTML source, which Telegram does not count
    shown = fit(view.text)
    assert shown == view.text  # visible length within 4,096: nothing is cut
    assert "Người gửi: Nguyễn Thị Lan, 0912345678" in shown and "Tệp: 0" in shown
    long = "<b>Đầu</b> " + "x &amp; y " * 600 + "<i>cuối</i>"
    cut = fit(long, limit=100)
    assert cut.startswith("<b>Đầu</b> ") and cut.endswith("…")
    assert not re.search(r"&[a-z]*…", cut)  # never inside an entity
    assert len(html.unescape(re.sub(r"<[^>]*>", "", cut))) <= 100
    assert fit("<b>" + "ư" * 200 + "</b>", limit=50).endswith("…</b>")  # tags closed


# ------------------------------------------ D1: a stale button never shows a false receipt


async def summary_of(user: SimUser, what: str) -> Any:
    """A report walked to its summary, with its own account."""
    await user.send("/baocao")
    await user.replies(3)
    await user.press("Lừa đảo qua mạng")
    await user.next_reply()
    await user.send(what)
    await user.next_reply()
    await user.press("Nơi khác (tôi sẽ mô tả)")
    await user.next_reply()
    await user.send("Cổng trường THCS Tân Phú")
    await user.next_reply()
    await user.press("Bỏ qua")  # no location
    await user.next_reply()
    await user.press("Hôm nay")
    await user.next_reply()
    await user.press("Bỏ qua")  # no people
    await user.next_reply()
    await user.press("Bỏ qua")  # no files
    await user.next_reply()
    await user.press("Không để lại")
    return await user.next_reply()


async def bot_messages(user: SimUser) -> list[dict[str, Any]]:
    return [m for m in await user.transcript() if m["from_bot"]]


async def test_d1_a_stale_button_never_shows_the_receipt_of_another_report(
    harness: Harness, office: SimUser
):
    user = await harness.user("Lan")
    code = await submit_report(user)
    # A: a cancelled report's back button, and the "Gửi" of a cancelled summary
    await user.send("/baocao")
    await user.replies(3)
    await user.press("Lừa đảo qua mạng")
    question = await user.next_reply()
    await user.send("/huy")
    await user.next_reply()
    before = len(await bot_messages(user))
    back = await user.press("« Quay lại", message_id=question.message_id)
    assert "không còn hiệu lực" in (await user.callback_answer(back))["text"]
    summary = await summary_of(user, "Một chuyện khác hẳn: có người lạ đứng chờ ở cổng trường.")
    await user.send("/huy")
    await user.next_reply()
    before = len(await bot_messages(user))
    stale_send = await user.press("✅ Gửi", message_id=summary.message_id)
    await user.callback_answer(stale_send)
    await asyncio.sleep(0.3)
    shown = [m["text"] for m in (await bot_messages(user))[before:]]
    assert all(code not in (text or "") for text in shown), shown
    # B: "Tôi đã lưu mã" pressed twice under a tip's receipt
    harness.clock.advance(timedelta(minutes=11))  # Lan's account is no duplicate any more
    tipster = await harness.user("Phụng")
    named = await summary_of(tipster, "Một báo cáo có tên: có người lạ chụp ảnh học sinh.")
    await tipster.press("✅ Gửi", message_id=named.message_id)
    assert "Đã tiếp nhận tin báo" in (await tipster.next_reply()).text
    await submit_tip(tipster)
    before = len(await bot_messages(tipster))
    ack = (await bot_messages(tipster))[-1]  # "Tôi đã lưu mã", pressed: now the thanks
    again = await tipster.press_data(ack["message_id"], "d:1:o0")  # the same press again
    await tipster.callback_answer(again)
    await asyncio.sleep(0.3)
    assert [m["text"] for m in (await bot_messages(tipster))[before:]] == []


# ---------------------------------------------------------- D3: /nhatky shows formatting


async def test_d3_the_audit_log_shows_bold_codes_not_raw_tags(harness: Harness, office: SimUser):
    assert harness.services is not None
    reporter = await harness.user("Minh")
    code = await submit_report(reporter)
    report = await harness.services.desk.reports.by_code(code)
    assert report is not None
    await harness.services.desk.act(report.id, "received", Staff(f"office:{CLERK_ID}"))
    await office.send("/nhatky", chat_id=OFFICE_CHAT_ID)
    log_message = await group_reply(office, "Nhật ký thao tác")
    assert "<b>" not in log_message.text and code in log_message.text
    assert f"<b>{code}</b>" in log_message.html


def test_an_update_the_library_cannot_parse_is_logged_without_its_body(
    caplog: pytest.LogCaptureFixture,
):
    """REVIEW, informational: PTB logs such an update at CRITICAL with what a person wrote."""
    from bot.kernel.startup import quiet_libraries

    quiet_libraries()
    with caplog.at_level(logging.INFO):
        logging.getLogger("telegram.ext.Updater").critical(
            "Received data was *not* processed! Received data was: %r",
            {"message": {"text": "Số điện thoại của tôi 0912345678"}},
        )
    assert "0912345678" not in caplog.text and "withheld" in caplog.text
