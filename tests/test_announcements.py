"""/thongbao in the office group: draft, audience, preview with the count, send, progress, stop."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from bot.kernel.files import is_store_id
from handlers.telegram.announcements import refresh_progress
from sandbox.telegram import SimUser
from tests.conftest import CLERK_ID, OFFICE_CHAT_ID, Harness


@pytest.fixture
async def clerk(harness: Harness) -> SimUser:
    user = await harness.client.create_user("Hoa", user_id=CLERK_ID)
    await harness.client.create_group("Văn phòng Sở", [user], chat_id=OFFICE_CHAT_ID)
    return user


async def people(h: Harness, role: str, count: int, unit: str = "THPT-DX01") -> list[SimUser]:
    users = []
    async with h.services.db.transaction() as tx:
        for number in range(count):
            user = await h.client.create_user(f"{role} {number}")
            await h.services.people.people.save(
                tx,
                channel="telegram",
                chat_id=user.id,
                role=role,
                unit_code=unit,
                subscribed=number % 2 == 0,
                now=h.clock.now(),
            )
            users.append(user)
    return users


async def group_reply(clerk: SimUser, containing: str, event: str | None = None):
    while True:
        message = await clerk.next_reply(10, chat_id=OFFICE_CHAT_ID)
        if containing in (message.text or "") and event in (None, message.event):
            return message


async def draft(clerk: SimUser, text: str | None, photo: bytes | None = None):
    await clerk.send("/thongbao", chat_id=OFFICE_CHAT_ID)
    prompt = await group_reply(clerk, "Soạn thông báo")
    if photo is not None:
        await clerk.send_photo(
            photo, caption=text, chat_id=OFFICE_CHAT_ID, reply_to=prompt.message_id
        )
    else:
        await clerk.send(text, chat_id=OFFICE_CHAT_ID, reply_to=prompt.message_id)
    return await group_reply(clerk, "gửi cho ai?")


async def settle(h: Harness, ref: str, timeout: float = 20.0) -> dict[str, int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:  # noqa: ASYNC110 - polls the database
        counts = await h.services.outbox.repo.counts(ref=ref)
        if counts and not counts.get("pending") and not counts.get("sending"):
            return counts
        await asyncio.sleep(0.1)
    raise AssertionError(f"{ref} still sending: {counts}")


async def test_an_announcement_to_parents_with_preview_progress_and_report(
    harness: Harness, clerk: SimUser
):
    parents = await people(harness, "parent", 5)
    teachers = await people(harness, "teacher", 3)
    choose = await draft(clerk, "Họp phụ huynh toàn trường lúc 8:00 sáng Chủ nhật 13/12/2026 <b>.")
    await clerk.press("Phụ huynh", chat_id=OFFICE_CHAT_ID, message_id=choose.message_id)
    area = await group_reply(clerk, "ở địa bàn nào?", event="edit")
    await clerk.press("Tất cả địa bàn", chat_id=OFFICE_CHAT_ID, message_id=area.message_id)
    preview = await group_reply(clerk, "Xem trước", event="edit")
    assert "<b>5</b>" in preview.html and "Họp phụ huynh toàn trường" in preview.text
    assert preview.labels == ["✅ Gửi cho 5 người", "Hủy"]
    await clerk.press("✅ Gửi cho 5 người", chat_id=OFFICE_CHAT_ID, message_id=preview.message_id)
    progress = await group_reply(clerk, "Đang gửi thông báo")
    assert progress.labels == ["⏹ Dừng gửi"]
    counts = await settle(harness, "announcement:1")
    assert counts == {"sent": 5}
    await refresh_progress(harness.app.bot, harness.services, {})
    report = await group_reply(clerk, "Đã gửi xong", event="edit")
    assert "5/5 người đã nhận" in report.text and report.labels == []
    for parent in parents:
        (received,) = [m for m in await parent.transcript() if m["from_bot"]]
        assert "Thông báo của Sở Giáo dục và Đào tạo Đồng Nai" in received["text"]
        assert "<b>." in received["text"]  # the clerk's words are text, not markup
    for teacher in teachers:
        assert [m for m in await teacher.transcript() if m["from_bot"]] == []


async def test_stopping_a_running_announcement(harness: Harness, clerk: SimUser):
    await people(harness, "teacher", 200)
    choose = await draft(clerk, "Kiểm tra phòng cháy chữa cháy trước 15/01/2027.")
    await clerk.press(
        "Giáo viên, nhân viên và thủ trưởng", chat_id=OFFICE_CHAT_ID, message_id=choose.message_id
    )
    area = await group_reply(clerk, "ở địa bàn nào?", event="edit")
    await clerk.press("Tất cả địa bàn", chat_id=OFFICE_CHAT_ID, message_id=area.message_id)
    preview = await group_reply(clerk, "Xem trước", event="edit")
    await clerk.press("✅ Gửi cho 200 người", chat_id=OFFICE_CHAT_ID, message_id=preview.message_id)
    progress = await group_reply(clerk, "Đang gửi thông báo")
    pressed = await clerk.press(
        "⏹ Dừng gửi", chat_id=OFFICE_CHAT_ID, message_id=progress.message_id
    )
    assert "Đã dừng" in (await clerk.callback_answer(pressed))["text"]
    counts = await settle(harness, "announcement:1")
    assert counts.get("cancelled", 0) > 0 and counts.get("sent", 0) < 200
    assert counts.get("sent", 0) + counts["cancelled"] == 200
    stats = await harness.client.stats()
    assert stats["duplicates"] == 0
    pressed = await clerk.press_data(progress.message_id, "a:1:stop:", chat_id=OFFICE_CHAT_ID)
    assert "không còn đang gửi" in (await clerk.callback_answer(pressed))["text"]


async def test_an_area_and_a_photo(harness: Harness, clerk: SimUser):
    in_area = await people(harness, "head", 2, unit="TH-LN02")  # Xã Lộc Ninh
    await people(harness, "head", 3, unit="THPT-DX01")
    choose = await draft(clerk, "Ảnh lịch trực Tết", photo=photo_with_exif())
    await clerk.press("Thủ trưởng đơn vị", chat_id=OFFICE_CHAT_ID, message_id=choose.message_id)
    area = await group_reply(clerk, "ở địa bàn nào?", event="edit")
    await clerk.press("Xã Lộc Ninh", chat_id=OFFICE_CHAT_ID, message_id=area.message_id)
    preview = await group_reply(clerk, "Xem trước", event="edit")
    await clerk.press("✅ Gửi cho 2 người", chat_id=OFFICE_CHAT_ID, message_id=preview.message_id)
    await settle(harness, "announcement:1")
    for head in in_area:
        (received,) = [m for m in await head.transcript() if m["from_bot"]]
        assert received["kind"] == "photo" and "Ảnh lịch trực Tết" in received["caption"]
    announcement = await harness.services.announcements.repo.get(1)
    assert announcement is not None and is_store_id(announcement.photo_ref)
    rows = await harness.services.db.fetch_all(
        "SELECT file_id, channel_file_id FROM file_channel_ids WHERE channel = 'telegram'"
    )
    assert [row[0] for row in rows] == [announcement.photo_ref]  # uploaded once, then reused
    sent = harness.sandbox.state.files[rows[0][1]].data
    assert b"PhoneMaker" not in sent and len(Image.open(io.BytesIO(sent)).getexif()) == 0


def photo_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(0x8825)[2] = (11.0, 32.0, 5.0)  # GPS latitude
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 60)).save(out, "JPEG", exif=exif)
    return out.getvalue()


async def test_only_office_members_announce(harness: Harness, clerk: SimUser):
    stranger = await harness.client.create_user("Khách")
    await harness.client.add_member(OFFICE_CHAT_ID, stranger)
    await stranger.send("/thongbao", chat_id=OFFICE_CHAT_ID)
    assert "không có quyền" in (await group_reply(clerk, "quyền")).text
    choose = await draft(clerk, "Nội dung thử")
    pressed = await stranger.press_data(choose.message_id, "a:1:r:all", chat_id=OFFICE_CHAT_ID)
    answer = await stranger.callback_answer(pressed)
    assert "không có quyền" in answer["text"]
    pressed = await clerk.press_data(choose.message_id, "a:1:ok:", chat_id=OFFICE_CHAT_ID)
    assert "Không tìm thấy" in (await clerk.callback_answer(pressed))["text"]  # no audience yet
    pressed = await clerk.press_data(choose.message_id, "a:99:r:all", chat_id=OFFICE_CHAT_ID)
    assert "Không tìm thấy" in (await clerk.callback_answer(pressed))["text"]
