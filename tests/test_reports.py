"""Reports and anonymous tips end to end: dialogs, receipts, the office group, follow-up."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import sqlite3
from datetime import timedelta

import pytest
from PIL import Image

from bot.kernel.files import is_store_id
from sandbox.telegram import NoReplyError, SimUser
from sandbox.telegram.client import BotMessage
from tests.conftest import CLERK_ID, OFFICE_CHAT_ID, Harness

CODE = re.compile(r"\b([0-9A-Z]{4}-[0-9A-Z]{4})\b")
PASSPHRASE = re.compile(r"Mật khẩu: ([a-z]+(?:-[a-z]+)+)")
WHAT = "Có người gọi điện cho phụ huynh nói con bị tai nạn, yêu cầu chuyển tiền gấp."


@pytest.fixture
async def office(harness: Harness) -> SimUser:
    clerk = await harness.client.create_user("Hoa", user_id=CLERK_ID, username="hoa_vp")
    await harness.client.create_group("Văn phòng Sở", [clerk], chat_id=OFFICE_CHAT_ID)
    return clerk


async def office_message(
    clerk: SimUser, containing: str, timeout: float = 8.0, event: str | None = None
) -> BotMessage:
    """The next bot message (or edit, if `event` says so) in the office group with that text."""
    while True:
        message = await clerk.next_reply(timeout, chat_id=OFFICE_CHAT_ID)
        if containing in (message.text or "") and event in (None, message.event):
            return message


async def walk_to_evidence(user: SimUser, command: str) -> list[BotMessage]:
    await user.send(command)
    opening = await user.replies(3)
    await user.press("Lừa đảo qua mạng")
    assert "Chuyện gì đã xảy ra" in (await user.next_reply()).text
    await user.send(WHAT)
    where = await user.next_reply()
    assert "Tại đơn vị của tôi" not in where.labels  # not registered: no unit of their own
    await user.press("Nơi khác (tôi sẽ mô tả)")
    await user.next_reply()
    await user.send("Cổng trường THCS Tân Phú")
    await user.next_reply()
    await user.send_location(11.5349, 106.8833)
    assert "ngày nào" in (await user.next_reply()).text
    await user.press("Hôm nay")
    await user.next_reply()
    await user.press("Bỏ qua")
    assert "bằng chứng" in (await user.next_reply()).text
    return opening


async def submit_report(user: SimUser) -> str:
    opening = await walk_to_evidence(user, "/baocao")
    assert "113" in opening[0].text and "111" in opening[0].text
    await user.send_photo()
    assert "Đã nhận tệp 1/5" in (await user.next_reply()).text
    await user.press("Xong, không gửi thêm")
    await user.next_reply()
    await user.press("Để lại tên và số điện thoại")
    await user.next_reply()
    await user.send("Nguyễn Thị Lan")
    await user.next_reply()
    await user.send("0912 345 678")
    summary = await user.next_reply()
    assert "Cổng trường THCS Tân Phú" in summary.text and "0912345678" in summary.text
    await user.press("✅ Gửi")
    received = await user.next_reply()
    assert "Đã tiếp nhận tin báo" in received.text
    return CODE.search(received.text).group(1)


async def submit_tip(user: SimUser) -> tuple[str, str]:
    opening = await walk_to_evidence(user, "/togiac")
    assert (
        "không</b> lưu" in opening[1].html and "Telegram biết tài khoản nào nhắn" in opening[1].text
    )
    await user.press("Bỏ qua")
    summary = await user.next_reply()
    assert "Liên hệ" not in summary.text and "Điện thoại" not in summary.text
    await user.press("✅ Gửi")
    receipt, ack = await user.replies(2)
    assert "Đã tiếp nhận tố giác" in receipt.text
    assert ack.labels == ["Tôi đã lưu mã"]
    await user.press("Tôi đã lưu mã")
    assert "Cảm ơn" in (await user.next_reply()).text
    return CODE.search(receipt.text).group(1), PASSPHRASE.search(receipt.text).group(1)


async def test_a_report_reaches_the_office_with_its_photo(harness: Harness, office: SimUser):
    user = await harness.user("Lan")
    code = await submit_report(user)
    posted = await office_message(office, code)
    assert "Lừa đảo qua mạng" in posted.text and "Mới gửi" in posted.text
    assert "Nguyễn Thị Lan, 0912345678" in posted.text and "có vị trí bản đồ" in posted.text
    assert "Tiếp nhận" in posted.labels and "💬 Trả lời" in posted.labels
    photo = await office_message(office, f"Tệp 1/1 của {code}")
    assert photo.kind == "photo"
    report = await harness.services.reports.reports.by_code(code)
    assert (report.chat_id, report.anonymous, report.status) == (str(user.id), False, "new")


async def test_office_actions_change_status_once_and_reach_the_reporter(
    harness: Harness, office: SimUser
):
    user = await harness.user("Lan")
    code = await submit_report(user)
    posted = await office_message(office, code)
    await office.press("Tiếp nhận", chat_id=OFFICE_CHAT_ID, message_id=posted.message_id)
    asked = await office_message(office, code, event="edit")  # a mis-tap reaches nobody (D9)
    assert "Chuyển tin báo sang" in asked.text and asked.labels == [
        "✅ Xác nhận: Đã tiếp nhận",
        "↩️ Không đổi",
    ]
    await office.press(
        "✅ Xác nhận: Đã tiếp nhận", chat_id=OFFICE_CHAT_ID, message_id=posted.message_id
    )
    edited = await office_message(office, code, event="edit")
    assert "Tình trạng: Đã tiếp nhận" in edited.text
    assert "Cập nhật gần nhất:" in edited.text and "Tiếp nhận" in edited.labels  # who acted
    pushed = await user.next_reply(8)
    assert code in pushed.text and "Đã tiếp nhận" in pushed.text
    again = await office.press("Tiếp nhận", chat_id=OFFICE_CHAT_ID, message_id=posted.message_id)
    assert "đã ở trạng thái này" in (await office.callback_answer(again))["text"]
    report = await harness.services.reports.reports.by_code(code)
    events = await harness.services.reports.reports.events(report.id)
    assert [(e.actor, e.from_status, e.to_status) for e in events] == [
        (f"office:{CLERK_ID}", "new", "received")
    ]
    assert report.first_action_at == harness.clock.now()


async def test_only_office_members_may_act_and_forged_buttons_do_nothing(
    harness: Harness, office: SimUser
):
    user = await harness.user("Lan")
    code = await submit_report(user)
    posted = await office_message(office, code)
    stranger = await harness.client.create_user("Khách")
    await harness.client.add_member(OFFICE_CHAT_ID, stranger)
    pressed = await stranger.press_data(
        posted.message_id, posted.button("Spam").data, chat_id=OFFICE_CHAT_ID
    )
    answer = await stranger.callback_answer(pressed)
    assert "không có quyền" in answer["text"] and answer["show_alert"]
    report = await harness.services.reports.reports.by_code(code)
    for forged in (
        f"r:{report.id}:deleted",
        "r:99999:spam",
        "r:x:spam",
        f"r:{report.id}",
        "r:99999:c.spam",
    ):
        pressed = await office.press_data(posted.message_id, forged, chat_id=OFFICE_CHAT_ID)
        assert "Không tìm thấy" in (await office.callback_answer(pressed))["text"]
    own = [m for m in await user.transcript() if m["from_bot"]][-1]["message_id"]
    pressed = await user.press_data(own, f"r:{report.id}:spam")  # from a private chat
    assert "Không tìm thấy" in (await user.callback_answer(pressed))["text"]
    assert (await harness.services.reports.reports.by_code(code)).status == "new"


async def test_reply_reaches_an_identified_reporter(harness: Harness, office: SimUser):
    user = await harness.user("Lan")
    code = await submit_report(user)
    posted = await office_message(office, code)
    await office.press("💬 Trả lời", chat_id=OFFICE_CHAT_ID, message_id=posted.message_id)
    prompt = await office_message(office, "Nhập nội dung trả lời")
    await office.send(
        "Cảm ơn chị, Văn phòng đã liên hệ Công an phường.",
        chat_id=OFFICE_CHAT_ID,
        reply_to=prompt.message_id,
    )
    assert "Người gửi sẽ nhận được" in (await office_message(office, "Đã lưu trả lời")).text
    pushed = await user.next_reply(8)
    assert "Công an phường" in pushed.text and code in pushed.text


async def test_anonymous_tip_stores_and_shows_nothing_identifying(
    harness: Harness, office: SimUser, caplog: pytest.LogCaptureFixture
):
    user = await harness.client.create_user(
        "Phụng", last_name="Trần", user_id=7_700_771_234, username="phung_tipster"
    )
    with caplog.at_level(logging.DEBUG):
        code, passphrase = await submit_tip(user)
        posted = await office_message(office, code)
    assert "Tố giác ẩn danh" in posted.text and "Người gửi: Ẩn danh" in posted.text
    report = await harness.services.reports.reports.by_code(code)
    assert report.anonymous and report.chat_id is None and report.channel is None
    assert await harness.services.conversations.current(_chat(user)) is None

    identifying = ["7700771234", "phung_tipster", "Phụng", "Trần"]
    office_text = " ".join(m["text"] or "" for m in await office.transcript(chat_id=OFFICE_CHAT_ID))
    assert [word for word in identifying if word in office_text] == []
    ours = [r for r in caplog.records if not r.name.startswith(("sandbox", "aiohttp"))]
    logged = "\n".join(r.getMessage() for r in ours)
    assert [word for word in identifying + [WHAT[:30]] if word in logged] == []
    raw = database_bytes(harness)
    for word in identifying + [WHAT[:30], "Cổng trường THCS Tân Phú", passphrase]:
        assert word.encode() not in raw
    assert (7_700_771_234).to_bytes(6, "big") not in raw  # SQLite's 6-byte integer form


async def test_report_text_is_encrypted_at_rest(harness: Harness, office: SimUser):
    user = await harness.user("Lan")
    await submit_report(user)
    raw = database_bytes(harness)
    for secret in (WHAT[:30], "Cổng trường THCS Tân Phú", "Nguyễn Thị Lan", "0912345678"):
        assert secret.encode() not in raw


async def test_lookup_of_a_tip_with_code_and_passphrase_shows_the_office_reply(
    harness: Harness, office: SimUser
):
    user = await harness.user("Phụng")
    code, passphrase = await submit_tip(user)
    posted = await office_message(office, code)
    await office.press("💬 Trả lời", chat_id=OFFICE_CHAT_ID, message_id=posted.message_id)
    prompt = await office_message(office, "Nhập nội dung trả lời")
    await office.send(
        "Đã chuyển Công an xác minh.", chat_id=OFFICE_CHAT_ID, reply_to=prompt.message_id
    )
    assert "sẽ thấy khi tra cứu" in (await office_message(office, "Đã lưu trả lời")).text

    await user.send("/tracuu")
    await user.next_reply()
    await user.send(code.lower().replace("-", " "))
    assert "mật khẩu" in (await user.next_reply()).text
    await user.send(passphrase.upper())
    status, actions = await user.replies(2)
    assert "Mới gửi, chờ tiếp nhận" in status.text and "Đã chuyển Công an xác minh." in status.text
    await user.press("Bổ sung thông tin")
    await user.next_reply()
    await user.send("Người gọi dùng số 0888 000 111.")
    assert "Đã gửi phần bổ sung" in (await user.next_reply()).text
    addition = await office_message(office, "Bổ sung cho")
    assert "0888 000 111" in addition.text


async def test_wrong_passphrase_guessed_code_and_brute_force_lockout(
    harness: Harness, office: SimUser
):
    user = await harness.user("Phụng")
    code, _ = await submit_tip(user)
    await user.send("/tracuu")
    await user.next_reply()
    await user.send(code)
    await user.next_reply()
    await user.send("sai-mat-khau-roi")
    wrong, again = await user.replies(2)  # the passphrase is asked again
    assert "Không tìm thấy" in wrong.text and "mật khẩu" in again.text
    await user.send("/huy")
    await user.next_reply()
    await user.send("/tracuu")
    await user.next_reply()
    await user.send("K7QX-92MD-Z")
    bad, again = await user.replies(2)
    assert "gồm 8 ký tự" in bad.text and "Nhập mã tra cứu" in again.text
    for attempt in range(4):
        await user.send("ZZZZ-ZZZZ")
        if attempt < 3:  # the code is asked again, without typing /tracuu
            wrong, again = await user.replies(2)
            assert "Không tìm thấy" in wrong.text and "Nhập mã tra cứu" in again.text
        else:  # the fifth failure locks: nothing more is asked
            assert "Không tìm thấy" in (await user.next_reply()).text
    await user.send("/tracuu")
    await user.next_reply()
    await user.send(code)
    assert "thử lại sau" in (await user.next_reply()).text


async def test_someone_elses_report_code_is_not_found(harness: Harness, office: SimUser):
    owner = await harness.user("Lan")
    code = await submit_report(owner)
    other = await harness.user("Minh")
    await other.send("/tracuu")
    await other.next_reply()
    await other.send(code)
    assert "Không tìm thấy" in (await other.next_reply()).text
    await owner.send("/tracuu")
    await owner.next_reply()
    await owner.send(code)
    status, _ = await owner.replies(2)
    assert code in status.text and "Chưa có trả lời" in status.text


async def test_unclaimed_reports_are_announced_again(harness: Harness, office: SimUser):
    user = await harness.user("Lan")
    code = await submit_report(user)
    await office_message(office, code)
    desk = harness.services.desk
    harness.clock.advance(timedelta(hours=23))
    assert await desk.reannounce_unclaimed() == 0
    harness.clock.advance(timedelta(hours=1, seconds=1))
    assert await desk.reannounce_unclaimed() == 1
    again = await office_message(office, "Nhắc lại")
    assert code in again.text and "Tiếp nhận" in again.labels
    assert await desk.reannounce_unclaimed() == 0


async def test_documents_in_a_tip_are_cleaned_or_refused(harness: Harness, office: SimUser):
    user = await harness.user("Phụng")
    await walk_to_evidence(user, "/togiac")
    await user.send_document("hop-dong.pdf", "application/pdf", b"%PDF-1.4 author=Tran Phung")
    refused = await user.next_reply()
    assert "không nhận loại tệp này" in refused.text
    await user.send_document("IMG_0001.jpg", "image/jpeg", jpeg_with_gps())
    received = await user.next_reply()  # no copy is sent back: the store keeps the clean one
    assert received.kind == "text"
    assert "Đã xóa thông tin ẩn" in received.text and "Đã nhận tệp 1/5" in received.text
    await user.press("Xong, không gửi thêm")
    await user.next_reply()
    await user.press("✅ Gửi")
    receipt, _ = await user.replies(2)
    code = CODE.search(receipt.text).group(1)
    document = await office_message(office, f"Tệp 1/1 của {code}")
    assert document.kind == "document" and document.file_name == "anh-1.jpg"
    assert_clean(harness.sandbox.state.files[document.file_id].data, (40, 30))


async def test_a_photo_reaches_the_office_clean_and_is_uploaded_once(
    harness: Harness, office: SimUser
):
    user = await harness.user("Lan")
    await walk_to_evidence(user, "/baocao")
    await user.send_photo(jpeg_with_gps())
    assert "Đã nhận tệp 1/5" in (await user.next_reply()).text
    (answers,) = [
        row async for row in _open_dialog_files(harness, user)
    ]  # the open dialog holds the store's id, not Telegram's
    stored_id = answers["stored_id"]
    assert is_store_id(stored_id) and "file_id" not in answers
    await user.press("Xong, không gửi thêm")
    await user.next_reply()
    await user.press("Không để lại")
    await user.next_reply()
    await user.press("✅ Gửi")
    code = CODE.search((await user.next_reply()).text).group(1)
    photo = await office_message(office, f"Tệp 1/1 của {code}")
    assert photo.kind == "photo"
    assert_clean(harness.sandbox.state.files[photo.file_id].data, (40, 30))
    files = harness.services.files
    for _ in range(50):  # the transport caches Telegram's id right after the send returns
        if await files.channel_id(stored_id, "telegram") is not None:
            break
        await asyncio.sleep(0.05)
    assert await files.channel_id(stored_id, "telegram") == photo.file_id
    report = await harness.services.reports.reports.by_code(code)
    row = await harness.services.db.fetch_one(
        "SELECT ref FROM report_files WHERE report_id = ?", [report.id]
    )
    assert harness.services.cipher.decrypt(row[0]) == stored_id
    blob = files.path(stored_id).read_bytes()
    assert b"PhoneMaker" not in blob and b"\xff\xd8" not in blob[:64]  # encrypted at rest


async def _open_dialog_files(harness: Harness, user: SimUser):
    state = await harness.services.conversations.current(_chat(user))
    assert state is not None
    for answer in state.answers.get("evidence") or []:
        yield answer


def assert_clean(data: bytes, size: tuple[int, int]) -> None:
    for secret in (b"Tran Phung", b"PhoneMaker"):
        assert secret not in data
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    assert image.size == size and len(exif) == 0 and not exif.get_ifd(0x8825)


async def test_hourly_limit_and_identical_submissions(harness: Harness, office: SimUser):
    user = await harness.user("Lan")
    await submit_report(user)
    await walk_to_evidence(user, "/baocao")
    await user.press("Bỏ qua")
    await user.next_reply()
    await user.press("Không để lại")
    await user.next_reply()
    await user.press("✅ Gửi")
    assert "giống hệt" in (await user.next_reply()).text
    limiter = harness.services.reports.submissions
    key = harness.services.reports.keyer.key(user.id)
    for _ in range(5):
        limiter.record_failure(key)
    await user.send("/baocao")
    assert "nhiều tin báo trong một giờ" in (await user.next_reply()).text


def _chat(user: SimUser):
    from bot.chat.ref import ChatRef

    return ChatRef("telegram", str(user.id))


def database_bytes(harness: Harness) -> bytes:
    """The database file as a thief would read it, after the WAL is folded in."""
    path = harness.services.db.path
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 30, 30))
    exif = Image.Exif()
    exif[0x013B] = "Tran Phung"  # Artist
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(0x8825)[2] = (11.0, 32.0, 5.0)  # GPS latitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def test_delete_my_data_detaches_reports_and_drops_contact(harness: Harness, office: SimUser):
    user = await harness.user("Lan")
    code = await submit_report(user)
    await user.send("/xoadulieu")
    confirm = await user.next_reply()
    assert "không còn gắn với bạn" in confirm.text
    await user.press("Xóa dữ liệu của tôi")
    await user.next_reply()
    report = await harness.services.reports.reports.by_code(code)
    assert report.chat_id is None and report.channel is None
    body = harness.services.cipher.decrypt_json(report.body)
    assert body["contact_name"] is None and body["contact_phone"] is None
    assert body["what"] == WHAT


async def test_a_video_in_a_report_reaches_the_office_as_a_video(harness: Harness, office: SimUser):
    user = await harness.user("Lan")
    await walk_to_evidence(user, "/baocao")
    await user.send_video(b"\x00\x00\x00\x18ftypmp42 fake video")
    assert "Đã nhận tệp 1/5" in (await user.next_reply()).text
    await user.press("Xong, không gửi thêm")
    await user.next_reply()
    await user.press("Không để lại")
    await user.next_reply()
    await user.press("✅ Gửi")
    code = CODE.search((await user.next_reply()).text).group(1)
    video = await office_message(office, f"Tệp 1/1 của {code}")
    assert video.kind == "video"


async def test_a_lost_receipt_is_shown_again_when_send_is_pressed_again(
    harness: Harness, office: SimUser
):
    user = await harness.user("Lan")
    code = await submit_report(user)
    sent = [m for m in await user.transcript() if m["from_bot"]][-1]
    await user.press_data(sent["message_id"], "d:99:y")  # "Gửi" again, the dialog is closed
    again = await user.next_reply()
    assert code in again.text and "Đã tiếp nhận" in again.text
    harness.clock.advance(timedelta(minutes=11))
    await user.press_data(sent["message_id"], "d:99:y")
    await asyncio.sleep(0.3)  # nothing more may come: check the chat stayed quiet
    assert [m for m in await user.transcript() if m["from_bot"]][-1][
        "message_id"
    ] == again.message_id


async def test_files_of_a_cancelled_dialog_are_deleted(harness: Harness):
    user = await harness.user("Lan")
    await walk_to_evidence(user, "/togiac")
    await user.send_photo(jpeg_with_gps())
    assert "Đã nhận tệp 1/5" in (await user.next_reply()).text
    (answer,) = [row async for row in _open_dialog_files(harness, user)]
    files = harness.services.files
    assert await files.info(answer["stored_id"]) is not None
    await user.send("/huy")
    await user.next_reply()
    assert await files.info(answer["stored_id"]) is None
    assert not files.path(answer["stored_id"]).exists()


async def test_a_mis_tapped_spam_is_not_applied_and_the_card_names_who_acted(
    harness: Harness, office: SimUser
):
    """D9: every status reaches the reporter at once, so the first press only asks."""
    user = await harness.user("Lan")
    code = await submit_report(user)
    posted = await office_message(office, code)
    await office.press("Spam", chat_id=OFFICE_CHAT_ID, message_id=posted.message_id)
    asked = await office_message(office, code, event="edit")
    assert "Chuyển tin báo sang" in asked.text
    await office.press("↩️ Không đổi", chat_id=OFFICE_CHAT_ID, message_id=posted.message_id)
    back = await office_message(office, code, event="edit")
    assert "Spam" in back.labels and "Chuyển tin báo sang" not in back.text
    assert harness.services is not None
    report = await harness.services.reports.reports.by_code(code)
    assert report is not None and report.status == "new"
    with pytest.raises(NoReplyError):  # the reporter heard nothing
        await user.next_reply(0.5)
    await office.press("Đang xử lý", chat_id=OFFICE_CHAT_ID, message_id=posted.message_id)
    await office_message(office, code, event="edit")
    await office.press(
        "✅ Xác nhận: Đang xử lý", chat_id=OFFICE_CHAT_ID, message_id=posted.message_id
    )
    card = await office_message(office, code, event="edit")
    assert "Tình trạng: Đang xử lý" in card.text
    assert f"Cập nhật gần nhất: {office.first_name}" in card.text  # a name, not an id
