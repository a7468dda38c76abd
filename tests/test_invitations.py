"""Unit heads' invitations: /moi, `antq units invites`, and codes used, expired, revoked, forged."""

from __future__ import annotations

import asyncio
import csv
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest

from sandbox.telegram import SimUser
from sandbox.telegram.client import BotMessage
from tests.conftest import CLERK_ID, OFFICE_CHAT_ID, Harness

LINK = re.compile(r"https://t\.me/antq_sandbox_bot\?start=([A-Za-z0-9_-]+)")


@pytest.fixture
async def clerk(harness: Harness) -> SimUser:
    user = await harness.client.create_user("Hoa", user_id=CLERK_ID)
    await harness.client.create_group("Văn phòng Sở", [user], chat_id=OFFICE_CHAT_ID)
    return user


async def group_reply(clerk: SimUser, containing: str, event: str | None = None) -> BotMessage:
    while True:
        message = await clerk.next_reply(10, chat_id=OFFICE_CHAT_ID)
        if containing in (message.text or "") and event in (None, message.event):
            return message


async def invite(clerk: SimUser, argument: str) -> tuple[str, BotMessage]:
    await clerk.send(f"/moi {argument}", chat_id=OFFICE_CHAT_ID)
    issued = await group_reply(clerk, "Lời mời thủ trưởng đơn vị", event="send")
    match = LINK.search(issued.text)
    assert match, issued.text
    return match.group(1), issued


async def accept(user: SimUser, code: str, unit: str) -> None:
    await user.send(f"/start {code}")
    welcome, consent = await user.replies(2)
    assert f"thủ trưởng đơn vị {unit}" in welcome.text
    assert f"Xác nhận thủ trưởng đơn vị: {unit}" in consent.text
    assert "Luật Bảo vệ dữ liệu cá nhân năm 2025" in consent.text
    await user.press("Tôi xác nhận")
    assert "bài tuyên truyền hằng tuần" in (await user.next_reply()).text
    await user.press("Không, cảm ơn")
    done, help_text = await user.replies(2)
    assert f"Đã ghi nhận thầy/cô là thủ trưởng đơn vị {unit}" in done.text
    assert "Đã hoàn thành" in help_text.text


async def person(h: Harness, user: SimUser):
    return await h.services.people.people.get("telegram", user.id)


async def test_an_invitation_makes_a_head_once_and_a_deputy_needs_another(
    harness: Harness, clerk: SimUser
):
    code, issued = await invite(clerk, "THPT-DX01")
    assert "Trường THPT Đồng Xoài" in issued.text and issued.labels == ["🚫 Thu hồi lời mời này"]
    principal = await harness.user("Hiệu trưởng")
    await accept(principal, code, "Trường THPT Đồng Xoài")
    stored = await person(harness, principal)
    assert (stored.role, stored.unit_code, stored.subscribed) == ("head", "THPT-DX01", False)
    await principal.send(f"/start {code}")
    assert "đã được ghi nhận là thủ trưởng" in (await principal.next_reply()).text
    intruder = await harness.user("Người lạ")
    await intruder.send(f"/start {code}")
    assert "đã được dùng" in (await intruder.next_reply()).text
    assert await person(harness, intruder) is None
    deputy_code, _ = await invite(clerk, "dong xoai")  # by name, one match
    deputy = await harness.user("Phó hiệu trưởng")
    await accept(deputy, deputy_code, "Trường THPT Đồng Xoài")
    assert (await person(harness, deputy)).role == "head"
    pressed = await clerk.press(
        "🚫 Thu hồi lời mời này", chat_id=OFFICE_CHAT_ID, message_id=issued.message_id
    )
    assert "đã được dùng" in (await clerk.callback_answer(pressed))["text"]


async def test_expired_revoked_and_forged_codes_get_a_clear_reply(harness: Harness, clerk: SimUser):
    user = await harness.user("Thầy Nam")
    expiring, _ = await invite(clerk, "THPT-CVA")
    revoked, issued = await invite(clerk, "MN-HS01")
    pressed = await clerk.press(
        "🚫 Thu hồi lời mời này", chat_id=OFFICE_CHAT_ID, message_id=issued.message_id
    )
    assert "Đã thu hồi" in (await clerk.callback_answer(pressed))["text"]
    await user.send(f"/start {revoked}")
    assert "đã bị Văn phòng Sở thu hồi" in (await user.next_reply()).text
    by_unit, _ = await invite(clerk, "TH-ND01")
    await clerk.send("/moi thuhoi TH-ND01", chat_id=OFFICE_CHAT_ID)
    assert "Đã thu hồi 1 lời mời" in (await group_reply(clerk, "thu hồi")).text
    await user.send(f"/start {by_unit}")
    assert "thu hồi" in (await user.next_reply()).text
    for forged in (expiring[:-1] + ("A" if expiring[-1] != "A" else "B"), "abc", "x" * 64):
        await user.send(f"/start {forged}")
        assert "không đúng" in (await user.next_reply()).text
    harness.clock.advance(timedelta(days=30, minutes=1))
    await user.send(f"/start {expiring}")
    assert "đã hết hạn" in (await user.next_reply()).text
    assert await person(harness, user) is None


async def test_declining_keeps_the_code_and_several_units_match_a_name(
    harness: Harness, clerk: SimUser
):
    await clerk.send("/moi Trường THPT", chat_id=OFFICE_CHAT_ID)
    choose = await group_reply(clerk, "Chọn đơn vị")
    assert "Trường THPT Chu Văn An" in choose.labels and len(choose.labels) == 3
    await clerk.press(
        "Trường THPT Chu Văn An", chat_id=OFFICE_CHAT_ID, message_id=choose.message_id
    )
    issued = await group_reply(clerk, "Lời mời thủ trưởng", event="edit")
    code = LINK.search(issued.text).group(1)
    user = await harness.user("Cô Mai")
    await user.send(f"/start {code}")
    await user.replies(2)
    await user.press("Không phải tôi")
    assert "chưa ghi nhận gì" in (await user.next_reply()).text
    assert await person(harness, user) is None
    await accept(user, code, "Trường THPT Chu Văn An")


async def test_onboarding_no_longer_offers_the_head_role_but_a_head_keeps_it(
    harness: Harness, clerk: SimUser
):
    newcomer = await harness.user("Bình")
    await newcomer.send("/start")
    await newcomer.replies(2)
    await newcomer.press("Tôi đồng ý")
    role = await newcomer.next_reply()
    assert role.labels == ["Giáo viên, nhân viên", "Phụ huynh học sinh", "« Quay lại"]
    assert "đường liên kết mời" in role.text
    code, _ = await invite(clerk, "THCS-TP01")
    await newcomer.send(f"/start {code}")  # a half-done onboarding gives way to the link
    await newcomer.replies(2)
    await newcomer.press("Tôi xác nhận")
    await newcomer.next_reply()
    await newcomer.press("Có, gửi cho tôi")
    await newcomer.replies(2)
    await newcomer.send("/capnhat")
    await newcomer.next_reply()
    await newcomer.press("Tôi đồng ý")
    offered = await newcomer.next_reply()
    assert offered.labels[:3] == [
        "Giáo viên, nhân viên",
        "Phụ huynh học sinh",
        "Thủ trưởng đơn vị",
    ]
    await newcomer.press("Thủ trưởng đơn vị")
    assert "bài tuyên truyền hằng tuần" in (await newcomer.next_reply()).text  # no unit asked
    await newcomer.press("Không, cảm ơn")
    done, _ = await newcomer.replies(2)
    assert "Trường THCS Tân Phú" in done.text
    stored = await person(harness, newcomer)
    assert (stored.role, stored.unit_code, stored.subscribed) == ("head", "THCS-TP01", False)


async def run_antq(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command line in a thread: the bot under test keeps running meanwhile."""
    return await asyncio.to_thread(_run, args, env, cwd)


def _run(args: tuple[str, ...], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANTQ_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_antq_units_invites_writes_one_working_link_per_unit(
    harness: Harness, tmp_path: Path
):
    env = {"ANTQ_DATABASE_PATH": str(harness.database)}
    missing = await run_antq("units", "invites", env=env, cwd=tmp_path)
    assert missing.returncode == 2 and "ANTQ_BOT_USERNAME" in missing.stderr
    assert "Traceback" not in missing.stderr
    env["ANTQ_BOT_USERNAME"] = "@antq_sandbox_bot"
    out = tmp_path / "moi" / "loi_moi.xlsx"
    result = await run_antq("units", "invites", "--out", str(out), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Đã tạo 7 lời mời" in result.stdout
    assert out.stat().st_mode & 0o077 == 0
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("Mã đơn vị", "Tên đơn vị", "Loại hình", "Địa bàn", rows[0][4])
    assert len(rows) == 8 and all(LINK.fullmatch(row[4]) for row in rows[1:])
    text = out.with_suffix(".csv").read_text(encoding="utf-8-sig")
    links = {row[0]: row[4] for row in list(csv.reader(text.splitlines()))[1:]}
    assert set(links) == {"THPT-DX01", "TH-ND01", "THCS-TP01", "MN-HS01"} | {
        "THPT-CVA",
        "THPT-QT",
        "TH-LN02",
    }
    assert len({LINK.fullmatch(link).group(1) for link in links.values()}) == 7
    user = await harness.user("Thầy Quang")
    await accept(user, LINK.fullmatch(links["TH-LN02"]).group(1), "Trường Tiểu học Lộc Ninh")
    unknown = await run_antq("units", "invites", "--unit", "NOPE", env=env, cwd=tmp_path)
    assert unknown.returncode == 1 and "NOPE" in unknown.stdout
