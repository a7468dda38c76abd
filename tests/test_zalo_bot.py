"""The bot on Zalo end to end: webhook in, the core's dialogs, CS messages out, over real HTTP
against the fake Zalo OA (sandbox/zalo)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.chat.ref import Staff
from bot.deadlines.service import Scope
from bot.kernel.outbox import (
    Blocked,
    DeliveryError,
    FileRef,
    OutgoingMessage,
    OutsideWindow,
    PermanentFailure,
    RetryLater,
)
from content import Content
from handlers.web import WebServer, build_web_app
from handlers.zalo.channel import ZaloChannel
from handlers.zalo.render import utf16_len
from handlers.zalo.settings import ZaloSettings
from handlers.zalo.transport import CURRENT_KIND, CURRENT_PAYLOAD
from sandbox.telegram.client import BotMessage
from sandbox.zalo import ZaloSandboxClient, ZaloSandboxServer, sign
from sandbox.zalo.client import OaMessage
from sandbox.zalo.media import has_gps
from sandbox.zalo.models import SimClock
from tests.conftest import CLERK_ID, OFFICE_CHAT_ID, UNITS, Harness, free_port
from tests.zalo_world import PUBLIC_URL, START, Person, ZaloWorld, open_zalo_world


@pytest.fixture
async def world(tmp_path: Path, bundle: Content) -> AsyncIterator[ZaloWorld]:
    async for w in open_zalo_world(tmp_path, bundle):
        yield w


async def onboard(lan: Person, unit_search: str = "nguyen du") -> None:
    consent = await lan.expect("Thông báo về dữ liệu cá nhân")
    assert "Zalo" in consent.text and "Telegram" not in consent.text
    await lan.press("Tôi đồng ý")
    await lan.expect("Giáo viên, nhân viên")
    await lan.press("Giáo viên, nhân viên")
    await lan.expect("trường hoặc đơn vị nào")
    await lan.say(unit_search)
    await lan.expect("Trường Tiểu học Nguyễn Du")
    await lan.press("Trường Tiểu học Nguyễn Du")
    await lan.expect("tuyên truyền hằng tuần")
    await lan.press("Có, gửi cho tôi")


async def test_follow_greets_and_onboarding_runs_to_its_end(world: ZaloWorld) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    assert world.services is not None
    person = await world.services.people.people.get("zalo", lan.user_id)
    assert person is not None and person.role == "teacher" and person.unit_code == "TH-ND01"


# ---------------------------------------------------------------------------- helpers

CODE = re.compile(r"\b([0-9A-Z]{4}-[0-9A-Z]{4})\b")
PASSPHRASE = re.compile(r"Mật khẩu: ([a-z]+(?:-[a-z]+)+)")
WHAT = "Có người gọi điện cho phụ huynh nói con bị tai nạn, yêu cầu chuyển tiền gấp."


def database_bytes(path: Path) -> bytes:
    """The database as a thief would read it: the WAL as it was, then folded in."""
    wal = path.with_name(path.name + "-wal")
    before = wal.read_bytes() if wal.exists() else b""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    after = wal.read_bytes() if wal.exists() else b""
    return before + data + after


async def walk_to_evidence(lan: Person, command: str) -> None:
    await lan.say(command)
    await lan.expect("Lừa đảo qua mạng")
    await walk_from_category(lan)


async def walk_from_category(lan: Person) -> None:
    """From the category of a report or tip to its files step (what, where, map, when, people)."""
    await lan.press("Lừa đảo qua mạng")
    await lan.expect("Chuyện gì đã xảy ra")
    await lan.say(WHAT)
    await lan.expect("Nơi khác (tôi sẽ mô tả)")
    await lan.press("Nơi khác (tôi sẽ mô tả)")
    await lan.drain(0.2)
    await lan.say("Cổng trường THCS Tân Phú")
    await lan.drain(0.2)
    await lan.user.send_location(11.5349, 106.8833)
    await lan.expect("ngày nào")
    await lan.press("Hôm nay")
    await lan.expect("Bỏ qua")
    await lan.press("Bỏ qua")
    await lan.expect("bằng chứng")


async def submit_report(lan: Person) -> str:
    await walk_to_evidence(lan, "báo cáo")
    await lan.user.send_image()
    await lan.expect("Đã nhận tệp 1/5")
    await lan.press("Xong, không gửi thêm")
    await lan.expect("Để lại tên và số điện thoại")
    await lan.press("Để lại tên và số điện thoại")
    await lan.drain(0.2)
    await lan.say("Nguyễn Thị Lan")
    await lan.drain(0.2)
    await lan.say("0912 345 678")
    summary = await lan.expect("0912345678")
    assert "Cổng trường THCS Tân Phú" in summary.text
    await lan.press("✅ Gửi")
    received = await lan.expect("Đã tiếp nhận tin báo")
    found = CODE.search(received.text)
    assert found is not None
    return found.group(1)


async def submit_tip(phung: Person) -> tuple[str, str, list[OaMessage]]:
    await phung.say("tố giác")
    opening = await phung.drain(0.5)
    await walk_from_category(phung)
    await phung.user.send_image()
    await phung.expect("Đã nhận tệp 1/5")
    await phung.press("Xong, không gửi thêm")
    summary = await phung.expect("✅ Gửi")
    assert "Điện thoại" not in summary.text
    await phung.press("✅ Gửi")
    receipt = await phung.expect("Đã tiếp nhận tố giác")
    await phung.expect("Tôi đã lưu mã")
    await phung.press("Tôi đã lưu mã")
    await phung.expect("Cảm ơn")
    code, passphrase = CODE.search(receipt.text), PASSPHRASE.search(receipt.text)
    assert code is not None and passphrase is not None
    return code.group(1), passphrase.group(1), opening


def zalo_rows(world: ZaloWorld) -> Any:
    return world.db.fetch_all(
        "SELECT kind, state, not_before, payload, chat_id, channel FROM outbox ORDER BY id"
    )


async def office_texts(world: ZaloWorld) -> str:
    assert world.services is not None
    rows = await world.db.fetch_all(
        "SELECT payload FROM outbox WHERE channel = 'telegram' ORDER BY id"
    )
    return "\n".join(world.services.decode_outgoing(r[0]).text for r in rows)


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


# -------------------------------------------------------------------- every dialog


async def test_unknown_person_is_answered_like_a_new_follower(world: ZaloWorld) -> None:
    lan = await world.stranger()
    await lan.say("xin chào")
    await onboard(lan)
    await lan.drain()
    assert world.services is not None
    assert await world.services.people.people.get("zalo", lan.user_id) is not None


async def test_commands_with_or_without_slash_and_in_vietnamese(world: ZaloWorld) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    for typed in ("/trogiup", "trogiup", "Trợ giúp", "TRỢ GIÚP"):
        await lan.say(typed)
        assert "/baocao" in (await lan.expect("/")).text
    await lan.say("Tra cứu")
    await lan.expect("mã")
    await lan.say("hủy")
    await lan.expect("Đã hủy")


async def test_report_with_photo_and_location_reaches_the_office(world: ZaloWorld) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    code = await submit_report(lan)
    assert world.services is not None
    report = await world.services.reports.reports.by_code(code)
    assert report is not None and report.channel == "zalo" and report.chat_id == lan.user_id
    office = await office_texts(world)
    assert code in office
    files = await world.db.fetch_all("SELECT kind FROM outbox WHERE kind = 'office_file'")
    assert len(files) == 1


async def test_a_zalo_photo_is_kept_without_exif_or_gps(world: ZaloWorld) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    await submit_report(lan)
    assert world.services is not None
    rows = await world.db.fetch_all("SELECT id FROM files")
    assert len(rows) == 1
    store = world.services.files
    data = await store.read(rows[0][0])
    assert data[:2] == b"\xff\xd8"  # a JPEG, re-encoded
    assert not has_gps(data) and b"Exif" not in data
    assert b"\xff\xd8\xff" not in store.path(rows[0][0]).read_bytes()  # encrypted at rest


async def test_lookup_with_follow_up(world: ZaloWorld) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    code = await submit_report(lan)
    await lan.drain()
    assert world.services is not None
    await world.services.desk.reply(code, Staff("staff:hoa"), "Đã chuyển Công an phường.")
    await lan.expect("Công an phường")
    await lan.say("/tracuu")
    await lan.drain(0.3)
    await lan.say(code.lower())
    await lan.expect("Đã chuyển Công an phường.")
    await lan.press("Bổ sung thông tin")
    await lan.drain(0.3)
    await lan.say("Người gọi dùng số 0888 000 111.")
    await lan.expect("Đã gửi phần bổ sung")
    assert "0888 000 111" in await office_texts(world)


async def test_anonymous_tip_on_zalo_warns_first_and_leaves_no_zalo_id(
    world: ZaloWorld, caplog: pytest.LogCaptureFixture
) -> None:
    phung = await world.stranger("Trần Thị Phụng")
    with caplog.at_level(logging.DEBUG):
        code, passphrase, opening = await submit_tip(phung)
        await world.idle()
    notice = opening[0]
    assert "Zalo biết tài khoản Zalo nào nhắn tin" in notice.text
    assert any("không ẩn danh hoàn toàn" in m.text for m in opening[1:])  # tip.intro@zalo
    assert [(b.type, b.payload) for b in notice.buttons] == [
        ("oa.open.url", {"url": f"{PUBLIC_URL}/togiac"})
    ]
    assert world.services is not None
    report = await world.services.reports.reports.by_code(code)
    assert report is not None and report.anonymous and report.chat_id is None
    identifying = [phung.user_id, phung.user.user_id_by_app, "Trần Thị Phụng", "Phụng"]
    office = await office_texts(world)
    assert code in office and [w for w in identifying if w in office] == []
    ours = [r for r in caplog.records if not r.name.startswith(("sandbox", "aiohttp"))]
    logged = "\n".join(r.getMessage() for r in ours)
    leaked = [r.name + ": " + r.getMessage() for r in ours if phung.user_id in r.getMessage()]
    assert leaked == []
    assert [w for w in identifying + [WHAT[:30]] if w in logged] == []
    raw = database_bytes(world.services.db.path)
    for word in identifying + [WHAT[:30], passphrase]:
        assert word.encode() not in raw, word
    assert world.fake.state.stats.user_details == 0  # user/detail never called for a tip


async def test_head_joins_by_typed_code_and_answers_a_deadline(world: ZaloWorld) -> None:
    assert world.services is not None
    services = world.services
    unit = next(u for u in UNITS if u.code == "TH-ND01")
    [issued] = await services.invitations.issue([unit], "test")
    head = await world.person("Lê Văn Hùng")
    await head.expect("Thông báo về dữ liệu cá nhân")
    await head.say(f"Mã mời {issued.code}")
    await head.expect("Tôi xác nhận")
    await head.press("Tôi xác nhận")
    await head.expect("tuyên truyền hằng tuần")
    await head.press("Không, cảm ơn")
    await head.drain()
    person = await services.people.people.get("zalo", head.user_id)
    assert person is not None and person.role == "head" and person.unit_code == "TH-ND01"

    deadline = await services.deadlines.create_draft("test")
    due = START.replace(hour=17)
    await services.deadlines.update(
        deadline,
        title="Báo cáo an ninh trật tự",
        due_at=due.astimezone(UTC),
        scope=Scope("list", None, ("TH-ND01",)),
        reminders="0 09:00",
    )
    assert await services.deadlines.open(deadline) is None
    await services.reminders.tick()
    services.notify()
    reminder = await head.expect("Báo cáo an ninh trật tự")
    assert "🆘 Cần hỗ trợ" in reminder.titles
    await head.press("🆘 Cần hỗ trợ")
    await head.drain(0.3)
    await head.say("Xin hướng dẫn mẫu báo cáo mới.")
    await head.drain(0.3)
    assert "Xin hướng dẫn mẫu báo cáo mới." in await office_texts(world)
    await head.press("✅ Đã hoàn thành")
    await head.drain(0.3)
    await head.say("Đã nộp qua email.")
    files_prompt = (await head.drain(0.3))[-1]
    await head.press(files_prompt.titles[0])
    await head.drain(0.3)
    rows = await world.db.fetch_all(
        "SELECT done_at, note FROM deadline_units WHERE unit_code = 'TH-ND01'"
    )
    assert rows[0][0] is not None


async def test_delete_my_data_on_zalo(world: ZaloWorld) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    await lan.say("/xoadulieu")
    await lan.expect("Xóa dữ liệu của tôi")
    await lan.press("Xóa dữ liệu của tôi")
    await lan.drain()
    assert world.services is not None
    assert await world.services.people.people.get("zalo", lan.user_id) is None
    await world.idle()
    database_bytes(world.services.db.path)  # the WAL folded in (its old frames go with it)
    raw = world.services.db.path.read_bytes()
    assert lan.user_id.encode() not in raw  # not even the last interaction of the deletion


async def test_stickers_and_unknown_kinds_are_not_understood(world: ZaloWorld) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    await lan.user.send_sticker()
    await lan.expect("chưa hiểu")


# ---------------------------------------------------------------- webhook and payloads


def signed(world: ZaloWorld, event: dict[str, Any], secret: str | None = None) -> tuple[bytes, str]:
    config = world.fake.config
    body = json.dumps(event, ensure_ascii=False).encode()
    mac = sign(config.app_id, body, str(event["timestamp"]), secret or config.oa_secret_key)
    return body, mac


def text_event(world: ZaloWorld, user_id: str, text: str, msg_id: str) -> dict[str, Any]:
    config = world.fake.config
    return {
        "event_name": "user_send_text",
        "app_id": config.app_id,
        "sender": {"id": user_id},
        "recipient": {"id": config.oa_id},
        "message": {"text": text, "msg_id": msg_id},
        "timestamp": str(int(world.clock.now().timestamp() * 1000)),
        "user_id_by_app": "9" + user_id[1:],
    }


async def post(world: ZaloWorld, body: bytes, signature: str | None) -> int:
    assert world.http is not None
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-ZEvent-Signature"] = signature
    url = f"http://127.0.0.1:{world.port}/zalo/webhook"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as r,
    ):
        return r.status


async def test_signature_refused_or_accepted_and_redeliveries_answered_once(
    world: ZaloWorld,
) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    event = text_event(world, lan.user_id, "/trogiup", "7000000000000000001")
    body, mac = signed(world, event)
    assert await post(world, body, None) == 401
    assert await post(world, body, "mac=" + "0" * 64) == 401
    assert await post(world, body, mac.replace("mac=", "")[:-1] + "0") == 401
    tampered = body.replace(b"/trogiup", b"/xoadulieu")
    assert await post(world, tampered, mac) == 401
    stale = dict(event, timestamp=str(int(world.clock.now().timestamp() * 1000) - 3 * 3600_000))
    assert await post(world, *signed(world, stale)) == 403
    assert await lan.drain(0.3) == []
    assert await post(world, body, mac) == 200
    assert await post(world, body, mac.removeprefix("mac=")) == 200  # redelivered
    await world.idle()
    answers = await lan.drain(0.3)
    assert len([m for m in answers if "/baocao" in m.text]) == 1


async def test_a_crash_between_the_200_and_the_answer_loses_nothing(world: ZaloWorld) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    assert world.channel is not None

    def die(event_id: int, event: object = None) -> None:
        """The process dies after the event is stored and acknowledged."""

    world.channel.inbox.submit = die  # type: ignore[method-assign]
    await lan.say("/trogiup")  # stored and acknowledged, then the process dies
    assert await lan.drain(0.3) == []
    await world.crash()
    await world.start()
    assert "/baocao" in (await lan.expect("/baocao")).text


async def test_forged_and_replayed_payloads_are_refused(world: ZaloWorld) -> None:
    lan = await world.person()
    consent = await lan.expect("Thông báo về dữ liệu cá nhân")
    payload = next(b.payload for b in consent.buttons if b.title == "Tôi đồng ý")
    mallory = await world.person("Kẻ Gian")
    await mallory.drain()
    await mallory.say(str(payload))  # another person's payload, typed
    await mallory.expect("không còn hiệu lực")
    version, data, mac = str(payload).split(".")
    await lan.say(f"{version}.{data}.{'0' * len(mac)}")  # a forged seal
    await lan.expect("không còn hiệu lực")
    await lan.press("Tôi đồng ý")
    await lan.expect("Giáo viên, nhân viên")
    await lan.say(str(payload))  # the same press again: an older step
    await lan.expect("câu hỏi trước")
    assert world.services is not None
    assert await world.services.people.people.get("zalo", mallory.user_id) is None


# ------------------------------------------------------------------ tokens and errors


async def test_token_expiry_mid_dialog_and_rotation(world: ZaloWorld) -> None:
    lan = await world.person()
    await lan.expect("Thông báo về dữ liệu cá nhân")
    before = (await world.control.stats())["refreshes"]
    await world.control.expire_tokens()
    await lan.press("Tôi đồng ý")
    await lan.expect("Giáo viên, nhân viên")
    assert (await world.control.stats())["refreshes"] == before + 1
    stored = await world.db.fetch_one("SELECT refresh_token FROM zalo_tokens")
    assert stored is not None and "refresh" not in stored[0]  # ciphertext only
    await world.restart()  # the rotated pair is used after a restart
    await lan.press("Giáo viên, nhân viên")
    await lan.expect("trường hoặc đơn vị nào")


async def test_a_dead_refresh_token_keeps_messages_and_alerts_the_office(
    world: ZaloWorld, caplog: pytest.LogCaptureFixture
) -> None:
    lan = await world.person()
    await lan.expect("Thông báo về dữ liệu cá nhân")
    await world.control.revoke_refresh_tokens()
    await world.control.expire_tokens()
    with caplog.at_level(logging.WARNING):
        await lan.press("Tôi đồng ý")
        await world.idle()

        async def alerted() -> bool:
            rows = await world.db.fetch_all(
                "SELECT count(*) FROM outbox WHERE kind = 'zalo_admin_alert'"
            )
            return bool(rows[0][0])

        await wait_for(alerted)
    kept = await world.db.fetch_all(
        "SELECT state FROM outbox WHERE kind = 'zalo_answer' AND channel = 'zalo'"
    )
    assert kept and all(state == "pending" for (state,) in kept)
    assert "ANTQ_ZALO_REFRESH_TOKEN" in caplog.text
    assert "ANTQ_ZALO_REFRESH_TOKEN" in await office_texts(world)


@pytest.mark.parametrize(
    ("code", "outcome", "seconds"),
    [
        (-230, OutsideWindow, None),
        (-232, OutsideWindow, None),
        (-211, OutsideWindow, 3600.0),
        (-218, OutsideWindow, 3600.0),
        (-32, RetryLater, 60.0),
        (-213, PermanentFailure, None),
        (-217, Blocked, None),
        (-210, PermanentFailure, None),
    ],
)
async def test_each_error_code_has_its_outcome_and_unsubscribes_nobody(
    world: ZaloWorld, code: int, outcome: type[DeliveryError], seconds: float | None
) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    assert world.channel is not None and world.channel.transport is not None
    await world.control.fail_next("message_cs", code)
    token = CURRENT_KIND.set("reporter_update")
    try:
        with pytest.raises(outcome) as caught:
            await world.channel.transport.deliver(lan.user_id, OutgoingMessage(text="Xin chào"))
    finally:
        CURRENT_KIND.reset(token)
    if seconds is not None:
        assert getattr(caught.value, "seconds", None) == seconds
    assert world.services is not None
    person = await world.services.people.people.get("zalo", lan.user_id)
    assert person is not None and person.subscribed


async def test_night_rule_for_promotions_and_a_template_for_a_non_follower(
    tmp_path: Path, bundle: Content
) -> None:
    async for world in open_zalo_world(tmp_path, bundle, zalo_templates="reporter_update=778899"):
        lan = await world.person()
        await onboard(lan)
        await lan.drain()
        assert world.channel is not None and world.channel.transport is not None
        transport = world.channel.transport
        await world.advance(13 * 3600)  # 22:00 local
        token = CURRENT_KIND.set("outreach")
        try:
            with pytest.raises(OutsideWindow) as caught:
                await transport.deliver(lan.user_id, OutgoingMessage(text="Tuần này"))
        finally:
            CURRENT_KIND.reset(token)
        assert caught.value.seconds == pytest.approx(8 * 3600 + 5 * 60)
        await world.advance(8 * 86400)  # past the 7-day window: the configured template
        token = CURRENT_KIND.set("reporter_update")
        try:
            await transport.deliver(lan.user_id, OutgoingMessage(text="Tin báo đã xử lý"))
        finally:
            CURRENT_KIND.reset(token)
        last = (await lan.user.messages())[-1]
        assert last.via == "template" and last.template_id == "778899"


async def test_a_status_update_outside_the_window_waits_for_the_next_message(
    world: ZaloWorld,
) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    code = await submit_report(lan)
    await lan.drain()
    assert world.services is not None
    await world.advance(3 * 86400)  # 48 h - 7 d: a status update may be billed
    await world.services.desk.reply(code, Staff("staff:hoa"), "Đã tiếp nhận, đang xác minh.")
    billed = await lan.expect("đang xác minh")
    assert billed.billed
    await world.advance(8 * 86400)  # past 7 days: it waits for the person
    await world.services.desk.reply(code, Staff("staff:hoa"), "Công an phường đã xác minh.")
    await world.services.desk.reply(code, Staff("staff:hoa"), "Vụ việc đã được xử lý xong.")

    async def waiting() -> bool:
        rows = await world.db.fetch_all(
            "SELECT last_error FROM outbox WHERE kind = 'reporter_update' AND state = 'pending'"
        )
        return bool(rows) and rows[0][0] == "zalo_window"

    await wait_for(waiting)
    assert await lan.drain(0.3) == []
    await lan.say("xin chào")
    messages = await lan.drain(1.0)
    [digest] = [m for m in messages if "xử lý xong" in m.text]  # both, in one message
    assert "có 2 tin nhắn gửi bạn" in digest.text
    assert digest.text.index("đã xác minh") < digest.text.index("xử lý xong")  # oldest first


async def test_every_message_the_fake_received_fits_zalo(world: ZaloWorld) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    await submit_report(lan)
    await lan.say("tuần này")
    await lan.say("/luutru")
    await lan.drain(0.5)
    for person in world.fake.state.people.values():
        for message in person.messages:
            text = str(message.get("text") or "")
            buttons = message.get("buttons", [])
            assert len(buttons) <= 5
            assert utf16_len(text) <= 2000
            if buttons:
                assert text.strip()
                assert all(str(b["title"]).strip() and b["payload"] for b in buttons)


# ------------------------------------------------------------------ both channels at once


async def test_telegram_and_zalo_in_one_process(harness: Harness) -> None:
    """A Zalo teacher's report with a photo reaches the Telegram office group (the photo
    uploaded from the bot's own store); a Telegram person is answered at the same time."""
    clerk = await harness.client.create_user("Hoa", user_id=CLERK_ID, username="hoa_vp")
    await harness.client.create_group("Văn phòng Sở", [clerk], chat_id=OFFICE_CHAT_ID)
    services = harness.services
    assert services is not None and harness.app is not None
    fake = ZaloSandboxServer(clock=SimClock(START.timestamp()))
    await fake.start()
    control = ZaloSandboxClient(fake.url)
    port = free_port()
    try:
        grant = await control.grant()
        config = fake.config
        zalo_settings = ZaloSettings(
            app_id=config.app_id,
            app_secret=SecretStr(config.app_secret),
            oa_secret_key=SecretStr(config.oa_secret_key),
            refresh_token=SecretStr(grant["refresh_token"]),
            api_base_url=fake.url,
            oauth_base_url=fake.url,
            oa_id=config.oa_id,
        )
        channel = ZaloChannel(services, zalo_settings)
        web_app = build_web_app(services)
        channel.mount(web_app)
        http = WebServer(web_app, "127.0.0.1", port)
        await channel.start()
        await http.start()
        await control.set_webhook(f"http://127.0.0.1:{port}/zalo/webhook")
        try:
            lan = Person(await control.create_person("Nguyễn Thị Lan"), None)  # type: ignore[arg-type]
            tg = await harness.user("Minh")
            await tg.send("/start")
            await onboard(lan)
            assert "Thông báo về dữ liệu cá nhân" in " ".join(
                m.text or "" for m in await tg.replies(2)
            )
            code = await submit_report(lan)
            seen: list[BotMessage] = []
            while not any(m.kind == "photo" for m in seen):
                seen.append(await clerk.next_reply(8, chat_id=OFFICE_CHAT_ID))
            assert any(code in (m.text or m.caption or "") for m in seen)
            assert services.senders["zalo"] is channel.sender and services.sender is not None
        finally:
            await http.stop()
            await channel.stop()
    finally:
        await control.close()
        await fake.stop()


# --------------------------------------------------------- antq run with only Zalo's variables


async def test_antq_run_with_only_the_zalo_variables(tmp_path: Path) -> None:
    """`antq units import` and `antq run` as shipped, no ANTQ_BOT_TOKEN: the web pages, the
    verifier file and the webhook on one server; a follower is greeted."""
    fake = ZaloSandboxServer(clock=SimClock(follow_real_time=True))
    await fake.start()
    control = ZaloSandboxClient(fake.url)
    port = free_port()
    verifier = tmp_path / "zalo_verifierABC123.html"
    verifier.write_text('<meta name="zalo-platform-site-verification" content="ABC123" />')
    process: asyncio.subprocess.Process | None = None
    try:
        grant = await control.grant()
        config = fake.config
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ANTQ_")}
        env = {
            **clean,
            "ANTQ_DATABASE_PATH": str(tmp_path / "antq.db"),
            "ANTQ_DATA_KEY_FILE": str(tmp_path / "antq.key"),
            "ANTQ_HTTP_LISTEN": f"127.0.0.1:{port}",
            "ANTQ_PUBLIC_URL": PUBLIC_URL,
            "ANTQ_ZALO_APP_ID": config.app_id,
            "ANTQ_ZALO_APP_SECRET": config.app_secret,
            "ANTQ_ZALO_OA_SECRET_KEY": config.oa_secret_key,
            "ANTQ_ZALO_REFRESH_TOKEN": grant["refresh_token"],
            "ANTQ_ZALO_API_BASE_URL": fake.url,
            "ANTQ_ZALO_OAUTH_BASE_URL": fake.url,
            "ANTQ_ZALO_OA_ID": config.oa_id,
            "ANTQ_ZALO_VERIFIER_FILE": str(verifier),
        }
        units = tmp_path / "units.csv"
        units.write_text(
            "Mã đơn vị,Tên đơn vị,Loại hình,Địa bàn\nTH-ND01,Trường Tiểu học Nguyễn Du,Tiểu học,"
            "Phường Bình Phước\n",
            encoding="utf-8",
        )
        imported = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "units", "import", str(units), env=env, cwd=tmp_path
        )
        assert await imported.wait() == 0
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            cwd=tmp_path,
            stderr=asyncio.subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"{base}/togiac") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("antq run did not serve the web pages")
            async with session.get(f"{base}/{verifier.name}") as response:
                assert response.status == 200 and "ABC123" in await response.text()
        await control.set_webhook(f"{base}/zalo/webhook")
        lan = Person(await control.create_person("Nguyễn Thị Lan"), None)  # type: ignore[arg-type]
        await lan.expect("Thông báo về dữ liệu cá nhân", timeout=15)
    finally:
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 15)
            assert process.returncode == 0
        await control.close()
        await fake.stop()


async def test_a_stored_photo_goes_out_as_an_upload_cached_for_six_days(world: ZaloWorld) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    await submit_report(lan)
    await lan.drain()
    assert world.channel is not None and world.channel.transport is not None
    [(stored_id,)] = await world.db.fetch_all("SELECT id FROM files")
    message = OutgoingMessage(photo=FileRef(stored_id=stored_id), caption="Ảnh minh họa")
    token = CURRENT_KIND.set("announcement")
    try:
        await world.channel.transport.deliver(lan.user_id, message)
        await world.channel.transport.deliver(lan.user_id, message)
        assert (await world.control.stats())["uploads"] == 1  # the second used the cached id
        await world.advance(6 * 86400 + 60)  # older than we trust Zalo's 7 days: upload again
        await lan.say("xin chào")  # the window opens again
        await world.idle()
        await world.channel.transport.deliver(lan.user_id, message)
    finally:
        CURRENT_KIND.reset(token)
    assert (await world.control.stats())["uploads"] == 2
    images = [m for m in await lan.user.messages() if m.kind == "image"]
    assert len(images) == 3


async def test_weekly_item_outside_the_window_goes_as_the_weeks_article_broadcast_once(
    tmp_path: Path, bundle: Content
) -> None:
    async for world in open_zalo_world(tmp_path, bundle):
        article = await world.control.add_article("Tuần 1: An toàn giao thông")
        assert world.channel is not None and world.channel.transport is not None
        transport = world.channel.transport
        transport.policy.settings.articles["2026-09-07"] = article
        lan, hung = await world.person(), await world.person("Trần Văn Hùng")
        await world.advance(3 * 86400)  # both past the free 48 h; outreach may not be billed
        item = OutgoingMessage(text="Tuần này: an toàn giao thông")
        kind = CURRENT_KIND.set("outreach")
        try:
            for person, version in ((lan, "staff"), (hung, "parent")):
                payload = CURRENT_PAYLOAD.set(f"ref:outreach:2026-09-07:{version}")
                try:
                    sent = await transport.deliver(person.user_id, item)
                finally:
                    CURRENT_PAYLOAD.reset(payload)
                assert sent.startswith("broadcast:")
            payload = CURRENT_PAYLOAD.set("ref:outreach:2026-09-14:staff")  # no article: waits
            try:
                with pytest.raises(OutsideWindow):
                    await transport.deliver(lan.user_id, item)
            finally:
                CURRENT_PAYLOAD.reset(payload)
        finally:
            CURRENT_KIND.reset(kind)
        assert (await world.control.stats())["broadcasts"] == 1


async def test_files_are_fitted_to_what_zalo_uploads_take(world: ZaloWorld) -> None:
    """ZALO.md: images JPG/PNG ≤ 1 MB, files PDF/DOC/DOCX/CSV ≤ 5 MB. A 2.5 MB photo is
    re-encoded until it fits; a file Zalo does not take is said in words, the row not failed."""
    import io
    import os

    from PIL import Image

    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    noise = Image.frombytes("RGB", (1400, 1000), os.urandom(1400 * 1000 * 3))
    big = io.BytesIO()
    noise.save(big, "PNG")
    assert big.tell() > 2 * 1024 * 1024

    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        yield data

    photo = await world.services.files.put(chunks(big.getvalue()), kind="photo", file_name="a.png")
    archive = await world.services.files.put(chunks(b"PK\x03\x04" + b"x" * 2048), kind="document",
                                             file_name="bien_ban.zip")  # fmt: skip
    assert world.channel is not None and world.channel.transport is not None
    token = CURRENT_KIND.set("announcement")
    try:
        for stored, caption in ((photo, "Ảnh lớn"), (archive, "Biên bản")):
            assert not isinstance(stored, str) and hasattr(stored, "id")
            kind = "photo" if stored is photo else "document"
            message = OutgoingMessage(**{kind: FileRef(stored_id=stored.id)}, caption=caption)
            await world.channel.transport.deliver(lan.user_id, message)
    finally:
        CURRENT_KIND.reset(token)
    received = await lan.user.messages()
    images = [m for m in received if m.kind == "image"]
    assert len(images) == 1
    uploads = (await world.control.stats())["uploads"]
    assert uploads == 1  # the image fitted; the archive was never sent to Zalo's upload
    assert any("bien_ban.zip" in (m.text or "") and "không gửi được" in (m.text or "")
               for m in received)  # fmt: skip
