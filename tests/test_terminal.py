"""`antq sandbox`, the README's first command, driven as a newcomer would type into it."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")

ONBOARD_TEACHER = ["/start", "#1", "#1", "nguyen du", "#1", "#1"]  # consent, teacher, unit, weekly

SCRIPT = "\n".join(
    [
        "/start",
        "#1",  # Tôi đồng ý
        "#2",  # Phụ huynh học sinh
        "nguyen du",
        "#1",  # Trường Tiểu học Nguyễn Du
        "#2",  # Không, cảm ơn
        ":nhan",
        "#9",
        "2",  # digits alone are text, with a hint
        ":vai 4",
        "/trogiup",
        ":thoat",
    ]
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTQ_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _argv(folder: Path) -> list[str]:
    return [sys.executable, "-m", "bot", "sandbox", "--database", str(folder / "s.db"), "--reset"]


def play(script: str | bytes, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run `antq sandbox` with the lines typed in, as a newcomer would."""
    data = script if isinstance(script, bytes) else (script + "\n").encode()
    result = subprocess.run(
        _argv(folder), input=data, capture_output=True, timeout=180, env=_env(), cwd=folder
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", errors="replace"),
        result.stderr.decode("utf-8", errors="replace"),
    )


class Session:
    """`antq sandbox` kept open: lines typed one at a time, output read as it comes."""

    def __init__(self, folder: Path) -> None:
        self.proc = subprocess.Popen(
            _argv(folder),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
            cwd=folder,
        )
        self._out: list[bytes] = []
        self._err: list[bytes] = []
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self._out), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self._err), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _pump(stream: IO[bytes] | None, sink: list[bytes]) -> None:
        assert isinstance(stream, io.BufferedReader)
        for chunk in iter(lambda: stream.read1(65536), b""):
            sink.append(chunk)

    @property
    def out(self) -> str:
        return b"".join(self._out).decode("utf-8", errors="replace")

    @property
    def err(self) -> str:
        return b"".join(self._err).decode("utf-8", errors="replace")

    def type(self, *lines: str) -> None:
        assert self.proc.stdin is not None
        for line in lines:
            self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def wait_for(self, pattern: str, timeout: float = 30.0, after: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.out[after:]):
                return self.out
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not printed; output:\n{self.out[-3000:]}\n{self.err}")

    def prompts(self) -> int:
        return self.out.count("> ")

    def wait_idle(self, prompts: int, timeout: float = 60.0) -> None:
        """Until the prompt was printed `prompts` times (every typed line was handled)."""
        deadline = time.monotonic() + timeout
        while self.prompts() < prompts and time.monotonic() < deadline:
            time.sleep(0.05)

    def finish(self, timeout: float = 60.0) -> int:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        code = self.proc.wait(timeout)
        for thread in self._threads:
            thread.join(5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Callable[[], Session]]:
    opened: list[Session] = []

    def start() -> Session:
        opened.append(Session(tmp_path))
        return opened[-1]

    yield start
    for s in opened:
        s.kill()


def test_a_newcomer_onboards_and_switches_to_the_office_clerk(tmp_path: Path) -> None:
    result = play(SCRIPT, tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Thông báo về dữ liệu cá nhân" in out
    assert "[#1] Tôi đồng ý" in out
    assert "• Vai trò: Phụ huynh học sinh" in out
    assert "• Đơn vị: Trường Tiểu học Nguyễn Du" in out
    assert "• Nhận bài tuyên truyền hằng tuần: Không" in out
    assert "Trợ lý chưa hiểu tin nhắn này" in out  # the sticker
    assert "Chưa có tin nhắn nào có nút" in out or "Không có nút số 9" in out
    assert "[tin 1]" in out and "[tin 2, đã cập nhật]" in out  # numbered, edits say which
    assert "Bạn đang là: Cán bộ Văn phòng Sở" in out
    assert "Các lệnh của Văn phòng Sở" in out
    assert "Traceback" not in result.stderr


def test_digits_alone_are_text_so_a_phone_number_can_be_typed(tmp_path: Path) -> None:
    result = play("\n".join(["/start", "1", "0912345678", ":thoat"]), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Đã gửi “1” như một tin nhắn. Để bấm nút số 1, gõ #1." in result.stdout
    assert "Không có nút số" not in result.stdout


REPORT_SCRIPT = "\n".join(
    [
        "/baocao",
        "#6",  # Xâm hại, bạo hành trẻ em
        "Có người lạ đứng cổng trường rủ học sinh vay tiền lãi cao.",
        "#2",  # Nơi khác (tôi sẽ mô tả)
        "Cổng sau trường THCS Tân Phú",
        "#1",  # no map location: Bỏ qua (« Quay lại is always the last button)
        "#1",  # Hôm nay
        "#1",  # no people: Bỏ qua
        "#1",  # no files: Bỏ qua
        "#2",  # Không để lại
        "#1",  # ✅ Gửi
        ":vai 4",
        "#1",  # Tiếp nhận
        "#1",  # ✅ Xác nhận: Đã tiếp nhận
        "#7",  # 💬 Trả lời
        ":traloi Văn phòng đã báo Công an phường.",
        ":vai 1",
        ":thoat",
    ]
)


def test_a_report_goes_to_the_clerk_and_the_answer_comes_back(tmp_path: Path) -> None:
    result = play(REPORT_SCRIPT, tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    code = out.split("Mã tra cứu: ")[1][:9]
    assert f"Tin báo {code} – Xâm hại, bạo hành trẻ em" in out
    assert "Tình trạng: Đã tiếp nhận" in out
    assert f"Đã lưu trả lời cho {code}" in out
    assert f"Tin báo {code} của bạn: Đã tiếp nhận" in out
    assert "Văn phòng đã báo Công an phường." in out.split("Bạn đang là: Giáo viên")[-1]
    assert "INFO" not in result.stderr and "Traceback" not in result.stderr


def test_any_input_is_safe_long_vietnamese_control_characters_invalid_utf8(
    tmp_path: Path,
) -> None:
    paragraph = (
        "Sáng nay tại cổng trường có một nhóm thanh niên lạ mặt đứng phát tờ rơi quảng cáo"
        " vay tiền qua ứng dụng cho học sinh lớp chín, hứa hẹn lãi suất thấp. "
    )
    lines = [
        b"/baocao",
        b"#6",
        (paragraph * 25).encode(),  # ~3,700 characters, ~5,000 bytes: beyond the tty's line
        ("ư" * 2100).encode()[:4095],  # cut inside a character, as the tty does
        "đỏ \x1b[31mchữ màu\x1b[0m \x07\x08 và tab\tở giữa".encode(),
        b"\xff\xfe invalid \xc3",
        b"a" * 10_000,
        b"\x00\x01\x02",
        b"#999",
        b":bam",
        b":bam 999 1",
        b":gio ngay mai",
        b":thoat",
    ]
    result = play(b"\n".join(lines) + b"\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    out = result.stdout
    assert "Hộp cát không làm được" not in out
    assert "được gửi thành 3 tin nhắn" in out  # 10,000 characters, split like the app does
    assert "ký tự điều khiển hay không đọc được" in out
    assert "\x1b[31m" not in out and "\x07" not in out
    assert "Không có tin số 999" in out and "Cách dùng: :bam" in out
    assert "Không hiểu thời điểm “ngay mai”" in out
    assert "Tạm biệt." in out


def test_ctrl_c_ends_cleanly_and_so_does_end_of_input(session: Callable[[], Session]) -> None:
    first = session()
    first.wait_for(r"Cô Lan> ")
    first.proc.send_signal(signal.SIGINT)
    assert first.finish() == 0
    assert "Tạm biệt." in first.out
    assert "Traceback" not in first.err and "KeyboardInterrupt" not in first.err
    second = session()
    second.wait_for(r"Cô Lan> ")
    second.type("/start")
    second.wait_for(r"\[tin 2\]")
    second.proc.send_signal(signal.SIGINT)  # while the bot may still be answering
    assert second.finish() == 0 and "Traceback" not in second.err
    third = session()
    third.wait_for(r"Cô Lan> ")
    assert third.finish() == 0  # Ctrl+D: end of input
    assert "Tạm biệt." in third.out and "Traceback" not in third.err


def test_a_toast_is_shown_and_an_older_card_can_be_pressed(tmp_path: Path) -> None:
    lines = [*ONBOARD_TEACHER, ":bam 2 1", ":thoat"]  # message 2's old button: stale
    result = play("\n".join(lines), tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"💬 Thông báo nhỏ: .+|⚠️ Hộp thông báo: .+", result.stdout), result.stdout


def test_a_file_from_the_bot_is_saved_where_the_newcomer_can_open_it(tmp_path: Path) -> None:
    result = play("\n".join([":vai 4", "/xuat", ":thoat"]), tmp_path)
    assert result.returncode == 0, result.stderr
    match = re.search(r"📎 Tệp “(.+?\.xlsx)” \((.+?)\) đã lưu tại: (.+)", result.stdout)
    assert match is not None, result.stdout
    path = Path(match.group(3).strip())
    assert path.is_file() and path.parent == tmp_path / "tep_tu_tro_ly"
    assert path.read_bytes()[:2] == b"PK"  # an Excel workbook
    assert path.stat().st_mode & 0o077 == 0  # personal data: the owner's only


def test_a_message_that_arrives_later_is_printed_without_more_input(
    session: Callable[[], Session],
) -> None:
    s = session()
    s.type(*ONBOARD_TEACHER)  # somebody to announce to
    s.type(":vai 4", "/thongbao", ":traloi Kính gửi quý thầy cô: họp lúc 14:00 thứ Sáu.")
    s.type("#1", "#1")  # every role, every area
    s.wait_for(r"Gửi cho 1 người")
    s.type("#1")
    s.wait_for(r"Đang gửi thông báo #1")
    mark = len(s.out)
    # nothing more is typed: the final report comes from the bot's own progress job
    s.wait_for(r"Đã gửi xong|đã gửi xong", timeout=40.0, after=mark)
    s.type(":thoat")
    assert s.finish() == 0
    assert "Traceback" not in s.err


def _next_push_sunday(today: date) -> date | None:
    """The Sunday before the next school week with outreach content, after today."""
    folder = ROOT / "content" / "outreach"
    for path in sorted(folder.glob("*/*.yaml")):
        try:
            monday = date.fromisoformat(path.stem)
        except ValueError:
            continue
        if monday - timedelta(days=1) <= today + timedelta(days=1):
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not data.get("holiday"):
            return monday - timedelta(days=1)
    return None


def test_gio_moves_the_clock_so_that_the_weekly_push_arrives(tmp_path: Path) -> None:
    sunday = _next_push_sunday(datetime.now(TZ).date())
    if sunday is None:
        pytest.skip("no school week with outreach content after today")
    lines = [
        *ONBOARD_TEACHER,
        ":gio",
        f":gio {sunday.strftime('%d/%m/%Y')} 19:00",
        ":gio 01/01/2020 08:00",  # never back
        ":thoat",
    ]
    result = play("\n".join(lines), tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "🕒 Giờ của hộp cát:" in out
    assert f"Đã chuyển giờ của hộp cát đến Chủ nhật {sunday.strftime('%d/%m/%Y')} 19:00" in out
    after = out.split("Đã chuyển giờ của hộp cát")[1]
    assert "Gõ /tuannay để xem câu hỏi của tuần" in after  # the week's staff article came
    assert "Chỉ chuyển giờ tới được" in out


# ------------------------------------------------------------------ the parts, without a process


def test_typed_bytes_are_cleaned_and_long_text_is_split() -> None:
    from sandbox.terminal.inputs import clean, pieces

    text, dropped = clean("ư".encode() * 3 + b"\xe1\xbb")  # a paste cut inside a character
    assert text == "ưưư\ufffd" and dropped == 1
    text, dropped = clean(b"\x1b[A\x1b[31m\xc4\x91\xe1\xbb\x8f\x1b[0m\x07 ok\tok")
    assert text == "đỏ ok ok" and dropped > 0
    assert clean("abc\udce1")[0] == "abc\ufffd"  # surrogateescape'd input never reaches httpx
    parts = pieces("từ " * 3000)
    assert len(parts) == 3 and all(len(p) <= 4096 for p in parts)
    assert " ".join(parts).split() == ["từ"] * 3000  # cut between words, nothing lost
    assert [len(p) for p in pieces("ư" * 10_000)] == [4096, 4096, 1808]


def test_gio_reads_relative_weekday_and_date_moments(tmp_path: Path) -> None:
    from sandbox.terminal.clock import BadMoment, SandboxClock, describe, parse_moment

    now = datetime(2026, 12, 1, 20, 30, tzinfo=TZ)  # a Tuesday evening

    def at(spec: str) -> str:
        return describe(parse_moment(spec, now, TZ), TZ)

    assert at("+2h") == "Thứ Ba 01/12/2026 22:30"
    assert at("+3 ngày") == at("+3 ngay") == "Thứ Sáu 04/12/2026 20:30"
    assert at("chủ nhật 19:00") == at("chu nhat 19:00") == "Chủ nhật 06/12/2026 19:00"
    assert at("t3 19:00") == "Thứ Ba 08/12/2026 19:00"  # today's has passed: next week
    assert at("27/11/2026 08:00") == "Thứ Sáu 27/11/2026 08:00"  # the caller refuses the past
    assert at("27/11 08:00") == "Thứ Bảy 27/11/2027 08:00"
    assert at("06:30") == "Thứ Tư 02/12/2026 06:30"
    for bad in ("", "ngay mai", "32/01/2027 08:00", "25:00", "+99999 ngay", "+2 nam"):
        with pytest.raises(BadMoment):
            parse_moment(bad, now, TZ)
    state = tmp_path / "s.clock"
    clock = SandboxClock(TZ, state)
    target = clock.now() + timedelta(days=5)
    clock.move_to(target)
    assert abs((clock.now() - target).total_seconds()) < 1
    clock.move_to(target - timedelta(days=3))  # never back
    assert clock.now() >= target
    again = SandboxClock(TZ, state)  # a sandbox started again on the same database goes on
    assert abs((again.now() - clock.now()).total_seconds()) < 1


ZALO_SCRIPT = "\n".join(
    [
        ":kenh zalo",
        "xin chào",  # the first thing: follow the OA, then the text
        "#1",  # Tôi đồng ý
        "#2",  # Phụ huynh học sinh
        ":nhan",
        ":kenh telegram",
        ":thoat",
    ]
)


def test_the_newcomer_chats_as_a_zalo_person_too(tmp_path):
    result = play(ZALO_SCRIPT, tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Bạn đang nhắn trên Zalo" in out
    assert "💬" in out and "Thông báo về dữ liệu cá nhân" in out
    assert "[1] Tôi đồng ý" in out
    assert "Zalo" in out.split("Thông báo về dữ liệu cá nhân", 1)[1][:400]  # Zalo's own notice
    assert "Trang sau »" in out  # the list of units, in pages of at most 5 buttons
    assert "Bạn đang là:" in out  # back on Telegram
    assert "Traceback" not in result.stderr
