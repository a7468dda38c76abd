"""`antq sandbox`, the README's first command, driven as a newcomer would type into it."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = "\n".join(
    [
        "/start",
        "1",  # Tôi đồng ý
        "2",  # Phụ huynh học sinh
        "nguyen du",
        "1",  # Trường Tiểu học Nguyễn Du
        "2",  # Không, cảm ơn
        ":nhan",
        "9",
        ":vai 4",
        "/trogiup",
        ":thoat",
    ]
)


def play(script: str, folder) -> subprocess.CompletedProcess[str]:
    """Run `antq sandbox` with the lines typed in, as a newcomer would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTQ_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--database", str(folder / "s.db"), "--reset"],
        input=script + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=folder,
    )


def test_a_newcomer_onboards_and_switches_to_the_office_clerk(tmp_path):
    result = play(SCRIPT, tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Thông báo về dữ liệu cá nhân" in out
    assert "[1] Tôi đồng ý" in out
    assert "• Vai trò: Phụ huynh học sinh" in out
    assert "• Đơn vị: Trường Tiểu học Nguyễn Du" in out
    assert "• Nhận bài tuyên truyền hằng tuần: Không" in out
    assert "Trợ lý chưa hiểu tin nhắn này" in out  # the sticker
    assert "Không có nút số đó" in out
    assert "Bạn đang là: Cán bộ Văn phòng Sở" in out
    assert "Các lệnh của Văn phòng Sở" in out
    assert "Traceback" not in result.stderr


REPORT_SCRIPT = "\n".join(
    [
        "/baocao",
        "6",  # Xâm hại, bạo hành trẻ em
        "Có người lạ đứng cổng trường rủ học sinh vay tiền lãi cao.",
        "2",  # Nơi khác (tôi sẽ mô tả)
        "Cổng sau trường THCS Tân Phú",
        "2",  # no map location: Bỏ qua
        "1",  # Hôm nay
        "2",  # no people: Bỏ qua
        "2",  # no files: Bỏ qua
        "2",  # Không để lại
        "1",  # ✅ Gửi
        ":vai 4",
        "1",  # Tiếp nhận
        "7",  # 💬 Trả lời
        ":traloi Văn phòng đã báo Công an phường.",
        ":vai 1",
        ":thoat",
    ]
)


def test_a_report_goes_to_the_clerk_and_the_answer_comes_back(tmp_path):
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


ZALO_SCRIPT = "\n".join(
    [
        ":kenh zalo",
        "xin chào",  # the first thing: follow the OA, then the text
        "1",  # Tôi đồng ý
        "2",  # Phụ huynh học sinh
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
