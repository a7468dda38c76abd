"""Findings F2, F4, F6, F8 of the outside review (../shared/REVIEW.md) and the newcomer's friction
list (its section 4): each test failed before its fix."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram.constants import ParseMode

from bot.chat.markup import utf16_length
from bot.chat.ref import ChatRef, Staff
from bot.deadlines.reminder_plan import PlanError
from bot.deadlines.service import Scope, parse_due
from bot.dialogs.engine import Attachment, DialogEngine, Incoming
from bot.kernel.outbox import OutgoingMessage
from bot.reports.receipts import UNFIT_WORDS, WORDS_FILE, load_words
from content import ContentError
from content.schema import DialogSpec
from sandbox.telegram import SimUser
from storage.units import Unit, UnitRepository
from tests.conftest import CLERK_ID, OFFICE_CHAT_ID, TZ, Harness
from tests.test_announcements import group_reply, people, settle
from tests.test_deadlines import heads, open_deadline
from tests.test_engine import SPEC, TODAY, press, text, units_source
from tests.test_reports import CODE, PASSPHRASE, submit_report, walk_to_evidence


@pytest.fixture
async def office(harness: Harness) -> SimUser:
    clerk = await harness.client.create_user("Hoa", user_id=CLERK_ID, username="hoa_vp")
    await harness.client.create_group("Văn phòng Sở", [clerk], chat_id=OFFICE_CHAT_ID)
    return clerk


async def bot_texts(user: SimUser) -> list[str]:
    return [m["text"] or "" for m in await user.transcript() if m["from_bot"]]


async def group_texts(clerk: SimUser) -> list[str]:
    messages = await clerk.transcript(chat_id=OFFICE_CHAT_ID)
    return [m["text"] or "" for m in messages if m["from_bot"]]


# ----------------------------------- F2: only a reply to the reply prompt reaches a reporter


async def test_f2_only_a_reply_to_the_stored_reply_prompt_reaches_the_reporter(
    harness: Harness, office: SimUser
):
    assert harness.services is not None and harness.app is not None
    reporter = await harness.user("Lan")
    code = await submit_report(reporter)
    posted = await group_reply(office, code)
    report = await harness.services.desk.reports.by_code(code)
    assert report is not None
    await settle(harness, f"report:{report.id}")
    before = len(await bot_texts(reporter))
    # the clerk discusses the report in the group, replying to its own message
    await office.send(
        "Nội bộ: @lan xem giúp, người này hay báo sai",
        chat_id=OFFICE_CHAT_ID,
        reply_to=posted.message_id,
    )
    # a bot message of the group quoting the code, even worded like the prompt
    fake = await harness.app.bot.send_message(
        OFFICE_CHAT_ID,
        f"✍️ Nhập nội dung trả lời cho tin báo {code} bằng cách trả lời (reply) tin nhắn này.",
        parse_mode=ParseMode.HTML,
    )
    await group_reply(office, "Nhập nội dung trả lời")
    await office.send("Nội bộ lần hai", chat_id=OFFICE_CHAT_ID, reply_to=fake.message_id)
    await asyncio.sleep(0.5)
    assert not [t for t in await group_texts(office) if "Đã lưu trả lời" in t]
    events = await harness.services.desk.reports.events(report.id, actions=["reply"])
    assert events == []
    # the real prompt: a too long answer is asked again, and a reply to the new prompt counts
    await office.press("💬 Trả lời", chat_id=OFFICE_CHAT_ID, message_id=posted.message_id)
    prompt = await group_reply(office, "Nhập nội dung trả lời")
    await office.send("x" * 3600, chat_id=OFFICE_CHAT_ID, reply_to=prompt.message_id)
    await group_reply(office, "tối đa")
    again = await group_reply(office, "Nhập nội dung trả lời")
    await office.send(
        "Đã liên hệ Công an phường.", chat_id=OFFICE_CHAT_ID, reply_to=again.message_id
    )
    await group_reply(office, "Đã lưu trả lời")
    await settle(harness, f"report:{report.id}")
    pushed = (await bot_texts(reporter))[before:]
    assert len(pushed) == 1 and "Đã liên hệ Công an phường." in pushed[0], pushed
    assert not any("Nội bộ" in text for text in pushed)


# ------------------------------------- F4: every office message fits, whatever was typed


MAXED = {
    "what": "Tôi & bạn <b> thấy chuyện lạ 🚨 " * 100,  # 3,000 characters, emoji count two
    "where": "Cổng & sân " * 27 + "abc",  # 300
    "location": {"latitude": 11.5349, "longitude": 106.8833},
    "occurred_on": "2026-11-25",
    "people": "Người A & B 🧑 " * 66 + "abcd",  # 1,000
    "contact_name": "Nguyễn Thị Lan " * 6 + "Nguyễn Thị",  # 100
    "contact_phone": "0912345678",
}


async def insert_report(harness: Harness, code: str, body: dict[str, Any], anonymous: bool):
    assert harness.services is not None
    services = harness.services
    async with services.db.transaction() as tx:
        report_id = await services.reports.reports.insert(
            tx, code=code, anonymous=anonymous, channel=None if anonymous else "telegram",
            chat_id=None if anonymous else "5", category="co_bac", unit_code=None,
            body=services.cipher.encrypt_json(body), passphrase_hash=None,
            now=harness.clock.now(),
        )  # fmt: skip
        report = await services.reports.reports.get_in(tx, report_id)
        assert report is not None
        await services.desk.announce(tx, report, body, [])
    return report


async def test_f4_a_report_at_every_maximum_reaches_the_office_and_so_does_its_reminder(
    harness: Harness, office: SimUser
):
    assert harness.services is not None
    desk = harness.services.desk
    named = await insert_report(harness, "AAAA-1111", MAXED, anonymous=False)
    tip_body = {**MAXED, "contact_name": None, "contact_phone": None}
    tip = await insert_report(harness, "BBBB-2222", tip_body, anonymous=True)
    desk.notify()
    assert await settle(harness, f"report:{named.id}") == {"sent": 1}
    assert await settle(harness, f"report:{tip.id}") == {"sent": 1}
    harness.clock.advance(timedelta(hours=25))
    assert await desk.reannounce_unclaimed() == 2
    assert await settle(harness, f"report:{named.id}") == {"sent": 2}
    assert await settle(harness, f"report:{tip.id}") == {"sent": 2}
    shown = [t for t in await group_texts(office) if "AAAA-1111" in t or "BBBB-2222" in t]
    assert len(shown) == 4
    for message in shown:
        assert utf16_length(message) <= 4096, utf16_length(message)
        assert "Tệp: 0" in message and "Người liên quan: Người A" in message
    named_texts = [t for t in shown if "AAAA-1111" in t]
    assert all(f"Người gửi: {MAXED['contact_name']}, 0912345678" in t for t in named_texts)
    assert sum("Nhắc lại" in t for t in shown) == 2
    stored = harness.services.cipher.decrypt_json(named.body)
    assert stored["what"] == MAXED["what"]  # the full text stays in the database


# ---------------------------------- F6: no row under a chat's pseudonym links it to a tip


async def dialog_rows(harness: Harness) -> list[tuple[str, str]]:
    assert harness.services is not None
    rows = await harness.services.db.fetch_all("SELECT owner, dialog FROM dialog_states")
    return [(str(owner), str(dialog)) for owner, dialog in rows]


async def send_tip(user: SimUser) -> tuple[str, str, Any]:
    """A tip up to its receipt, "Tôi đã lưu mã" not pressed yet."""
    await walk_to_evidence(user, "/togiac")
    await user.press("Bỏ qua")
    await user.next_reply()
    await user.press("✅ Gửi")
    receipt, ack = await user.replies(2)
    code = CODE.search(receipt.text).group(1)
    return code, PASSPHRASE.search(receipt.text).group(1), ack


async def test_f6_no_dialog_row_links_a_tipster_s_chat_to_the_tip(
    harness: Harness, office: SimUser
):
    assert harness.services is not None
    services = harness.services
    tipster = await harness.user("Phụng")
    code, passphrase, ack = await send_tip(tipster)
    assert await dialog_rows(harness) == []  # the receipt step is not filed under the chat
    await tipster.press("Tôi đã lưu mã", message_id=ack.message_id)
    assert "Cảm ơn" in (await tipster.next_reply()).text
    assert await dialog_rows(harness) == []
    # the follow-up of /tracuu holds the report id nowhere in the database
    await tipster.send("/tracuu")
    await tipster.next_reply()
    await tipster.send(code)
    await tipster.next_reply()
    assert await dialog_rows(harness) == []  # the passphrase step holds the code: not stored
    await tipster.send(passphrase)
    await tipster.replies(2)
    assert await dialog_rows(harness) == []
    state = await services.conversations.current(ChatRef("telegram", str(tipster.id)))
    assert state is not None and state.dialog == "followup_tip"
    # an abandoned receipt expires; so does any dialog row left for a day
    harness.clock.advance(timedelta(minutes=11))  # the same words are no duplicate any more
    other = await harness.user("Hùng")
    _, _, ack = await send_tip(other)
    writer = await harness.user("Mai")
    await writer.send("/togiac")
    await writer.replies(3)
    await writer.press("Lừa đảo qua mạng")
    await writer.next_reply()
    assert [dialog for _, dialog in await dialog_rows(harness)] == ["tip"]
    harness.clock.advance(timedelta(hours=25))
    await services.retention.purge()
    assert await dialog_rows(harness) == []
    late = await other.press("Tôi đã lưu mã", message_id=ack.message_id)
    assert "không còn hiệu lực" in (await other.callback_answer(late))["text"]
    assert await services.conversations.current(ChatRef("telegram", str(other.id))) is None


# ----------------------- F8: /xoadulieu leaves no chat id or contact behind, stops the queue


async def test_f8_deleting_my_data_clears_the_outbox_and_the_office_copies(
    harness: Harness, office: SimUser
):
    assert harness.services is not None
    services = harness.services
    lan = await harness.user("Lan")
    async with services.db.transaction() as tx:
        await services.people.people.save(
            tx, channel="telegram", chat_id=str(lan.id), role="teacher", unit_code="TH-ND01",
            subscribed=True, now=harness.clock.now(),
        )  # fmt: skip
    code = await submit_report(lan)
    report = await services.desk.reports.by_code(code)
    assert report is not None
    await services.desk.act(report.id, "received", Staff(f"office:{CLERK_ID}"))
    await settle(harness, f"report:{report.id}")
    assert "Đã tiếp nhận" in (await lan.next_reply()).text  # the status reached them
    async with services.db.transaction() as tx:  # an announcement queued for later today
        await services.outbox.enqueue(
            tx, channel="telegram", chat_id=str(lan.id), kind="announcement",
            message=OutgoingMessage(text="📣 Thông báo họp phụ huynh"), ref="announcement:9",
            not_before=harness.clock.now() + timedelta(hours=1),
        )  # fmt: skip
    await lan.send("/xoadulieu")
    await lan.next_reply()
    await lan.press("Xóa dữ liệu của tôi")
    assert "Đã xóa toàn bộ dữ liệu" in (await lan.next_reply()).text
    received = len(await bot_texts(lan))
    rows = await services.db.fetch_all("SELECT chat_id, state, payload, kind, ref FROM outbox")
    assert not [row for row in rows if str(lan.id) in str(row[0])]
    assert [row[1] for row in rows if row[3] == "announcement"] == ["cancelled"]
    assert [row[2] for row in rows if row[3] in ("announcement", "reporter_update")] == ["", ""]
    copies = [row[2] for row in rows if row[3] == "office_report"]
    assert copies
    for payload in copies:
        text = services.decode_outgoing(payload).text if payload else ""
        assert "Nguyễn Thị Lan" not in text and "0912345678" not in text
        assert not payload or "Không để lại liên hệ" in text
    harness.clock.advance(timedelta(hours=2))
    services.desk.notify()
    await asyncio.sleep(1.0)
    assert len(await bot_texts(lan)) == received  # nothing more reaches them


# ------------------------------------------- item 9: the newcomer's friction list, on a phone


@pytest.fixture
def demo(bundle) -> DialogEngine:
    keys = ("kind", "kind_label", "a", "b", "what", "what_label", "when", "when_label", "unit")
    texts = bundle.texts.with_extra({f"t.{key}": f"<{key}>" for key in keys})
    spec = DialogSpec.model_validate(SPEC)
    return DialogEngine({"demo": spec}, texts, lambda: TODAY, sources={"units": units_source})


async def test_item9_dates_typed_without_a_year_or_with_two_digits(demo: DialogEngine):
    start = await demo.start("demo")
    r = await demo.step(start.state, press(start, "<a>"))
    r = await demo.step(r.state, text("Chuyện xảy ra ở cổng trường"))
    assert r.state is not None and r.state.step == "when"
    for typed, day in [
        ("25/11", "2026-11-25"),  # this year
        ("25/11/26", "2026-11-25"),
        ("5-9", "2026-09-05"),
        ("27/11", "2025-11-27"),  # not come yet this year: a past event was last year
        ("25 / 11 / 2026", "2026-11-25"),
    ]:
        answered = await demo.step(r.state.model_copy(deep=True), text(typed))
        assert answered.state is not None and answered.state.answers.get("when") == day, typed
    refused = await demo.step(r.state.model_copy(deep=True), text("31/2"))
    assert refused.state is not None and refused.state.step == "when"


async def test_item9_the_summary_has_one_edit_button_and_the_back_button_is_last(
    harness: Harness, office: SimUser
):
    user = await harness.user("Lan")
    await user.send("/baocao")
    await user.replies(3)
    await user.press("Lừa đảo qua mạng")
    await user.next_reply()
    await user.send("Có người gọi điện lừa chuyển tiền học phí.")
    await user.next_reply()
    await user.press("Nơi khác (tôi sẽ mô tả)")
    location = await user.next_reply()
    assert location.labels[-1] == "« Quay lại"
    await user.send("Cổng trường THCS Tân Phú")
    location = await user.next_reply()
    assert location.labels == ["Bỏ qua", "« Quay lại"]  # typing 1 skips, as a person expects
    await user.send("1")
    await user.next_reply()
    await user.press("Hôm nay")
    await user.next_reply()
    await user.send("1")  # no people
    await user.next_reply()
    await user.send("1")  # no files
    await user.next_reply()
    await user.press("Không để lại")
    summary = await user.next_reply()
    assert summary.labels == ["✅ Gửi", "Hủy, không gửi", "✏️ Sửa", "« Quay lại"]
    assert "Nơi khác (tôi sẽ mô tả)" not in summary.text and "Nơi khác" in summary.text
    await user.send("sửa")  # typed: the word of the button
    fields = await user.next_reply()
    assert "mục nào" in fields.text and fields.labels[-1] == "« Quay lại"
    assert len(fields.labels) <= 10 and "✅ Gửi" not in fields.labels
    what = fields.labels.index("Nội dung") + 1
    await user.send(str(what))  # typed: the field's number
    assert "Chuyện gì đã xảy ra" in (await user.next_reply()).text
    await user.send("Có người gọi điện lừa chuyển tiền học phí, xưng là cô giáo.")
    summary = await user.next_reply()
    assert "xưng là cô giáo" in summary.text and "✏️ Sửa" in summary.labels
    await user.press("✏️ Sửa")
    await user.next_reply()
    await user.press("« Quay lại")  # from the list back to the summary
    summary = await user.next_reply()
    assert "✅ Gửi" in summary.labels
    await user.press("✅ Gửi")
    assert "Đã tiếp nhận tin báo" in (await user.next_reply()).text


def test_item9_a_due_date_typed_short_and_no_command_line_in_the_chat_s_error(bundle):
    now = datetime(2026, 12, 2, 9, 0, tzinfo=TZ).astimezone(UTC)
    local = datetime(2026, 12, 15, 17, 0, tzinfo=TZ)
    assert parse_due("15/12 17:00", TZ, now) == local.astimezone(UTC)
    assert parse_due("15/12/26 17h00", TZ, now) == local.astimezone(UTC)
    assert parse_due("15/12", TZ, now) == local.astimezone(UTC)  # 17:00 by default
    january = datetime(2027, 1, 10, 17, 0, tzinfo=TZ).astimezone(UTC)
    assert parse_due("10/01", TZ, now) == january  # in December: next January
    with pytest.raises(PlanError) as past:
        parse_due("01/12/26 08:00", TZ, now)
    said = bundle.texts.get(past.value.key, **past.value.params)
    assert "đã qua" in said and "tệp" not in said and "antq" not in said


async def test_item9_moi_pages_through_every_matching_unit(harness: Harness, office: SimUser):
    assert harness.services is not None
    extra = [Unit(f"THPT-X{n:02}", f"Trường THPT Số {n}", "THPT", "Xã Lộc Ninh") for n in range(10)]
    await UnitRepository(harness.services.db).upsert_all(extra)
    await office.send("/moi THPT", chat_id=OFFICE_CHAT_ID)
    first = await group_reply(office, "đơn vị có tên chứa")
    assert "Có 13 đơn vị" in first.text and "1–8 trong 13" in first.text
    assert len(first.labels) == 9 and first.labels[-1] == "Trang sau »"
    await office.press("Trang sau »", chat_id=OFFICE_CHAT_ID, message_id=first.message_id)
    second = await group_reply(office, "9–13 trong 13", event="edit")
    assert second.labels[-1] == "« Trang trước" and len(second.labels) == 6
    shown = set(first.labels[:-1]) | set(second.labels[:-1])
    assert len(shown) == 13  # every unit can be reached
    unit = second.labels[0]
    await office.press(unit, chat_id=OFFICE_CHAT_ID, message_id=second.message_id)
    issued = await group_reply(office, "Lời mời thủ trưởng đơn vị", event="edit")
    assert unit in issued.text


async def test_item9_a_head_lists_the_unit_s_pending_deadlines_with_viec(
    harness: Harness, office: SimUser
):
    assert harness.services is not None
    principal, other = (await heads(harness, "THPT-DX01", 1)) + (await heads(harness, "TH-ND01", 1))
    await open_deadline(harness, Scope("list", None, ("THPT-DX01",)), "Đăng ký thi đua")
    await open_deadline(harness, Scope("list", None, ("THPT-DX01",)), "Sơ kết học kỳ I")
    await principal.send("/viec")
    title, one, two = await principal.replies(3)
    assert "chưa báo hoàn thành" in title.text and "(2)" in title.text
    assert "Đăng ký thi đua" in one.text and "Sơ kết học kỳ I" in two.text
    assert one.labels == ["✅ Đã hoàn thành", "🆘 Cần hỗ trợ"]
    await principal.press("✅ Đã hoàn thành", message_id=one.message_id)
    await principal.next_reply()  # the optional note
    await principal.send("/huy")
    await principal.next_reply()
    await principal.send("/viec")
    title, left = await principal.replies(2)
    assert "(1)" in title.text and "Sơ kết học kỳ I" in left.text
    await other.send("/viec")
    assert "không còn việc nào" in (await other.next_reply()).text
    teacher = await harness.user("Giáo viên")
    await teacher.send("/viec")
    assert "dành cho thủ trưởng" in (await teacher.next_reply()).text
    assert "/viec" in harness.bundle.texts.get("help.head")


async def test_item9_a_wrong_code_is_asked_again_and_the_deletion_says_lookup_is_lost(
    harness: Harness, office: SimUser
):
    user = await harness.user("Lan")
    await user.send("/tracuu")
    await user.next_reply()
    await user.send("ZZZZ-ZZZZ")
    wrong, again = await user.replies(2)
    assert "Không tìm thấy" in wrong.text and "Nhập mã tra cứu" in again.text
    confirm = harness.bundle.texts.get("delete_data.confirm.prompt")
    assert "/tracuu" in confirm


async def test_item9_a_photo_sent_first_is_told_it_has_its_own_step(demo: DialogEngine):
    start = await demo.start("demo")
    r = await demo.step(start.state, press(start, "<a>"))
    photo = Attachment(kind="photo", file_id="p1")
    r = await demo.step(r.state, Incoming(kind="attachment", attachment=photo))
    assert r.state is not None and r.state.step == "what"
    assert "ảnh, tệp ở một bước sau" in r.replies[0].text


async def test_item9_tuannay_does_not_tell_to_type_tuannay(harness: Harness):
    assert harness.services is not None
    [teacher] = await people(harness, "teacher", 1)
    await teacher.send("/tuannay")
    item, quiz = await teacher.replies(2)
    assert "Câu hỏi tuần này" in quiz.text
    assert "Gõ /tuannay" not in item.text


def test_item9_no_passphrase_syllable_can_read_as_an_insult(tmp_path):
    assert not set(load_words()) & UNFIT_WORDS
    assert {"me", "thang"} <= UNFIT_WORDS
    words = [line for line in WORDS_FILE.read_text(encoding="utf-8").split() if line]
    path = tmp_path / "words.txt"
    path.write_text("\n".join([*words, "thang"]), encoding="utf-8")
    with pytest.raises(ContentError, match="insult"):
        load_words(path)
