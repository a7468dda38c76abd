"""Deadlines through the sandbox: the office's /hanchot and /tiendo, heads' answers, questions."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime

import openpyxl
import pytest

from bot.deadlines.service import Scope
from sandbox.telegram import SimUser
from sandbox.telegram.client import BotMessage
from tests.conftest import CLERK_ID, OFFICE_CHAT_ID, TZ, Harness

DUE = datetime(2026, 12, 10, 17, 0, tzinfo=TZ)
SEVEN_DAYS_BEFORE = datetime(2026, 12, 3, 8, 1, tzinfo=TZ)
THREE_DAYS_BEFORE = datetime(2026, 12, 7, 8, 1, tzinfo=TZ)
PDF = b"%PDF-1.4\n% ban dang ky thi dua\n"


@pytest.fixture
async def clerk(harness: Harness) -> SimUser:
    user = await harness.client.create_user("Hoa", user_id=CLERK_ID)
    await harness.client.create_group("Văn phòng Sở", [user], chat_id=OFFICE_CHAT_ID)
    return user


async def group_reply(clerk: SimUser, containing: str, event: str | None = None) -> BotMessage:
    while True:
        message = await clerk.next_reply(10, chat_id=OFFICE_CHAT_ID)
        if containing in (message.text or message.caption or "") and event in (
            None,
            message.event,
        ):
            return message


async def heads(h: Harness, unit: str, count: int, role: str = "head") -> list[SimUser]:
    users = []
    async with h.services.db.transaction() as tx:
        for number in range(count):
            user = await h.client.create_user(f"{role} {unit} {number}")
            await h.services.people.people.save(
                tx,
                channel="telegram",
                chat_id=user.id,
                role=role,
                unit_code=unit,
                subscribed=False,
                now=h.clock.now(),
            )
            users.append(user)
    return users


async def open_deadline(h: Harness, scope: Scope, title: str = "Đăng ký thi đua") -> int:
    deadlines = h.services.deadlines
    created = await deadlines.create_draft("test")
    await deadlines.update(
        created,
        title=title,
        description="Gửi bản đăng ký có chữ ký, đóng dấu.",
        due_at=DUE.astimezone(UTC),
        scope=scope,
    )
    assert await deadlines.open(created) is None
    return created


async def settle(h: Harness, kind: str, timeout: float = 20.0) -> dict[str, int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:  # noqa: ASYNC110 - polls the database
        counts = await h.services.outbox.repo.counts(kind=kind)
        if counts and not counts.get("pending") and not counts.get("sending"):
            return counts
        await asyncio.sleep(0.1)
    raise AssertionError(f"{kind} still sending: {counts}")


async def reminder_at(h: Harness, moment: datetime) -> None:
    h.clock.set(moment)
    await h.services.reminders.tick()
    h.services.sender.notify()


async def test_the_office_creates_a_deadline_step_by_step_in_its_group(
    harness: Harness, clerk: SimUser
):
    (head,) = await heads(harness, "THPT-CVA", 1)
    (other,) = await heads(harness, "TH-ND01", 1)  # not a THPT school
    await clerk.send("/hanchot", chat_id=OFFICE_CHAT_ID)
    menu = await group_reply(clerk, "Chưa có hạn chót nào")
    await clerk.press("➕ Tạo hạn chót mới", chat_id=OFFICE_CHAT_ID, message_id=menu.message_id)
    answers = [
        ("tên", "Đăng ký thi đua năm học 2026-2027"),
        ("mô tả", "Gửi bản đăng ký có chữ ký, đóng dấu."),
        ("ngày giờ hạn chót", "32/12/2026"),
    ]
    for field, text in answers:
        prompt = await group_reply(clerk, field)
        await clerk.send(text, chat_id=OFFICE_CHAT_ID, reply_to=prompt.message_id)
    assert "không có trên lịch" in (await group_reply(clerk, "32/12/2026")).text
    prompt = await group_reply(clerk, "ngày giờ hạn chót")
    await clerk.send("10/12/2026 17:00", chat_id=OFFICE_CHAT_ID, reply_to=prompt.message_id)
    choose = await group_reply(clerk, "nhắc những đơn vị nào?")
    await clerk.press("Theo loại hình", chat_id=OFFICE_CHAT_ID, message_id=choose.message_id)
    kinds = await group_reply(clerk, "chọn loại hình", event="edit")
    assert "THPT" in kinds.labels and "Tiểu học" in kinds.labels
    await clerk.press("THPT", chat_id=OFFICE_CHAT_ID, message_id=kinds.message_id)
    card = await group_reply(clerk, "Hạn chót #1", event="edit")
    assert "Bản nháp" in card.text and "Loại hình: THPT – 3 đơn vị" in card.text
    assert "1 đơn vị đã có thủ trưởng" in card.text
    assert "03/12/2026 08:00 (còn 7 ngày)" in card.text
    assert "10/12/2026 07:00 (ngày hạn chót)" in card.text
    await clerk.press("✅ Tạo và bắt đầu nhắc", chat_id=OFFICE_CHAT_ID, message_id=card.message_id)
    opened = await group_reply(clerk, "Đã tạo hạn chót #1", event="edit")
    assert "Đang theo dõi" in opened.text and "🗑 Hủy hạn chót" in opened.labels
    await reminder_at(harness, SEVEN_DAYS_BEFORE)
    reminder = await head.next_reply(15)
    assert "Nhắc hạn: Đăng ký thi đua năm học 2026-2027" in reminder.text
    assert "còn 7 ngày" in reminder.text and "10/12/2026 17:00" in reminder.text
    assert reminder.labels == ["✅ Đã hoàn thành", "🆘 Cần hỗ trợ"]
    assert await settle(harness, "deadline_reminder") == {"sent": 1}
    assert [m for m in await other.transcript() if m["from_bot"]] == []


async def test_done_with_a_note_and_a_file_reaches_the_office_and_stops_the_unit(
    harness: Harness, clerk: SimUser
):
    principal, deputy = await heads(harness, "THPT-DX01", 2)
    (elsewhere,) = await heads(harness, "TH-ND01", 1)
    await open_deadline(harness, Scope("list", None, ("THPT-DX01", "TH-ND01")))
    await reminder_at(harness, SEVEN_DAYS_BEFORE)
    await principal.next_reply(15)
    await deputy.next_reply(15)
    answer = await principal.callback_answer(await principal.press("✅ Đã hoàn thành"))
    assert "Đã ghi nhận đơn vị hoàn thành lúc 03/12/2026 08:01" in answer["text"]
    note = await principal.next_reply()
    assert "Trường THPT Đồng Xoài hoàn thành “Đăng ký thi đua”" in note.text
    await principal.send("Đã gửi công văn số 125/THPTĐX ngày 02/12.")
    assert "tối đa 5 tệp" in (await principal.next_reply()).text
    await principal.send_document("dang_ky.pdf", "application/pdf", PDF)
    await principal.next_reply()
    await principal.press("Xong, không gửi thêm")
    assert "đã được gửi đến Văn phòng Sở" in (await principal.next_reply()).text
    office = await group_reply(clerk, "đã hoàn thành “Đăng ký thi đua”")
    assert "Trường THPT Đồng Xoài" in office.text and "125/THPTĐX" in office.text
    document = await group_reply(clerk, "Tệp 1/1 của Trường THPT Đồng Xoài")
    assert document.kind == "document"
    late = await deputy.callback_answer(await deputy.press("✅ Đã hoàn thành"))
    assert "đã báo hoàn thành việc này lúc 03/12/2026 08:01" in late["text"]
    await reminder_at(harness, THREE_DAYS_BEFORE)
    third = await elsewhere.replies(2, timeout=15)
    assert "còn 3 ngày" in third[1].text
    await settle(harness, "deadline_reminder")
    for head in (principal, deputy):
        sent = [m for m in await head.transcript() if m["from_bot"] and "Nhắc hạn" in m["text"]]
        assert len(sent) == 1
    stats = await harness.client.stats()
    assert stats["duplicates"] == 0


async def test_a_question_reaches_the_office_and_its_answer_the_head(
    harness: Harness, clerk: SimUser
):
    (head,) = await heads(harness, "MN-HS01", 1)
    await open_deadline(harness, Scope("all"))
    await reminder_at(harness, SEVEN_DAYS_BEFORE)
    await head.next_reply(15)
    await head.callback_answer(await head.press("🆘 Cần hỗ trợ"))
    assert "cần Văn phòng Sở hỗ trợ gì" in (await head.next_reply()).text
    await head.send("Mẫu đăng ký năm nay lấy ở đâu ạ?")
    assert "Đã chuyển câu hỏi" in (await head.next_reply()).text
    question = await group_reply(clerk, "Cần hỗ trợ")
    assert "Trường Mầm non Hoa Sen" in question.text and "Mẫu đăng ký" in question.text
    await clerk.press("💬 Trả lời", chat_id=OFFICE_CHAT_ID, message_id=question.message_id)
    prompt = await group_reply(clerk, "Câu hỏi #1")
    await clerk.send(
        "Mẫu ở mục Văn bản trên cổng thông tin Sở.",
        chat_id=OFFICE_CHAT_ID,
        reply_to=prompt.message_id,
    )
    assert "Đã gửi trả lời" in (await group_reply(clerk, "Đã gửi trả lời")).text
    answer = await head.next_reply(15)
    assert "Văn phòng Sở trả lời" in answer.text and "cổng thông tin Sở" in answer.text


async def test_progress_board_and_its_excel_file(harness: Harness, clerk: SimUser):
    (done_head,) = await heads(harness, "THPT-DX01", 1)
    (late_head,) = await heads(harness, "TH-ND01", 1)
    first = await open_deadline(
        harness, Scope("list", None, ("THPT-DX01", "TH-ND01", "MN-HS01")), "Đăng ký thi đua"
    )
    await open_deadline(harness, Scope("list", None, ("THPT-QT",)), "Sơ kết học kỳ I")
    await reminder_at(harness, SEVEN_DAYS_BEFORE)
    await done_head.next_reply(15)
    await done_head.callback_answer(await done_head.press("✅ Đã hoàn thành"))
    harness.clock.set(datetime(2026, 12, 11, 9, 0, tzinfo=TZ))  # after the due time
    from bot.chat.ref import ChatRef

    await harness.services.reminders.press(ChatRef("telegram", str(late_head.id)), first, "done")
    await clerk.send("/tiendo", chat_id=OFFICE_CHAT_ID)
    board = await group_reply(clerk, "Tiến độ các hạn chót")
    assert "#1 Đăng ký thi đua" in board.text and "#2 Sơ kết học kỳ I" in board.text
    assert "✅ Đúng hạn: 1 · ⏰ Trễ hạn: 1 · ⏳ Chưa hoàn thành: 1 / 3 đơn vị" in board.text
    assert "Chưa hoàn thành: Trường Mầm non Hoa Sen" in board.text
    assert "đã quá hạn" in board.text
    document = await group_reply(clerk, "tệp Excel")
    assert document.kind == "document" and document.file_name.endswith(".xlsx")
    content = harness.sandbox.state.files[document.file_id].data
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    assert book.sheetnames == ["Tổng hợp", "#1", "#2"]
    rows = list(book["#1"].iter_rows(values_only=True))
    statuses = {row[1]: row[4] for row in rows[3:]}
    assert statuses == {
        "Trường THPT Đồng Xoài": "Đã hoàn thành đúng hạn",
        "Trường Tiểu học Nguyễn Du": "Đã hoàn thành, trễ hạn",
        "Trường Mầm non Hoa Sen": "Chưa hoàn thành, quá hạn",
    }


async def test_changing_and_cancelling_a_deadline_from_its_card(harness: Harness, clerk: SimUser):
    (head,) = await heads(harness, "THPT-DX01", 1)
    await open_deadline(harness, Scope("all"))
    await reminder_at(harness, SEVEN_DAYS_BEFORE)
    await head.next_reply(15)
    await clerk.send("/hanchot 1", chat_id=OFFICE_CHAT_ID)
    card = await group_reply(clerk, "Hạn chót #1")
    await clerk.press("📆 Hạn chót", chat_id=OFFICE_CHAT_ID, message_id=card.message_id)
    prompt = await group_reply(clerk, "ngày giờ hạn chót")
    await clerk.send("17/12/2026 17:00", chat_id=OFFICE_CHAT_ID, reply_to=prompt.message_id)
    updated = await group_reply(clerk, "Đã cập nhật hạn chót #1")
    assert "17/12/2026 17:00" in updated.text
    changed = await head.next_reply(15)
    assert "Hạn chót thay đổi" in changed.text and "17/12/2026 17:00" in changed.text
    await reminder_at(harness, THREE_DAYS_BEFORE)  # 10 days before the new date: nothing
    await reminder_at(harness, datetime(2026, 12, 14, 8, 0, tzinfo=TZ))
    assert "còn 3 ngày" in (await head.next_reply(15)).text
    await clerk.press("🗑 Hủy hạn chót", chat_id=OFFICE_CHAT_ID, message_id=updated.message_id)
    confirm = await group_reply(clerk, "Hủy hạn chót #1", event="edit")
    await clerk.press(
        "🗑 Xác nhận hủy hạn chót", chat_id=OFFICE_CHAT_ID, message_id=confirm.message_id
    )
    cancelled = await group_reply(clerk, "Đã hủy hạn chót #1", event="edit")
    assert cancelled.labels == []
    assert "đã hủy hạn chót" in (await head.next_reply(15)).text
    await reminder_at(harness, datetime(2026, 12, 16, 8, 0, tzinfo=TZ))
    pressed = await head.callback_answer(await head.press("✅ Đã hoàn thành"))
    assert "đã được Văn phòng Sở hủy" in pressed["text"]
    await settle(harness, "deadline_reminder")
    reminders = [m for m in await head.transcript() if m["from_bot"] and "Nhắc hạn" in m["text"]]
    assert len(reminders) == 2


async def test_only_office_members_use_deadline_and_invitation_commands(
    harness: Harness, clerk: SimUser
):
    stranger = await harness.client.create_user("Khách")
    await harness.client.add_member(OFFICE_CHAT_ID, stranger)
    for command in ("/hanchot", "/tiendo", "/moi THPT-DX01"):
        await stranger.send(command, chat_id=OFFICE_CHAT_ID)
        assert "không có quyền" in (await group_reply(clerk, "quyền")).text
    await clerk.send("/hanchot", chat_id=OFFICE_CHAT_ID)
    menu = await group_reply(clerk, "hạn chót")
    for data in ("dl:0:new:", "dl:1:ok:", "iv:x:1", "dq:1"):
        pressed = await stranger.press_data(menu.message_id, data, chat_id=OFFICE_CHAT_ID)
        answer = await stranger.callback_answer(pressed)
        assert "không có quyền" in answer["text"] and answer["show_alert"]
    assert await harness.services.deadlines.repo.in_states("draft", "open") == []
    (teacher,) = await heads(harness, "THPT-DX01", 1, role="teacher")
    await teacher.send("/hanchot")
    assert "chưa hiểu lệnh" in (await teacher.next_reply()).text
