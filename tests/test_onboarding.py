"""Onboarding and the basic commands, through the real PTB stack talking HTTP to the sandbox."""

from __future__ import annotations

import logging

import pytest

from sandbox.telegram import SimUser
from sandbox.telegram.client import BotMessage
from tests.conftest import Harness

CONSENT = "Tôi đồng ý"
TEACHER = "Giáo viên, nhân viên"


async def stored_person(h: Harness, user: SimUser):
    assert h.services is not None
    return await h.services.people.people.get("telegram", user.id)


async def open_dialog(h: Harness, user: SimUser):
    assert h.services is not None
    from bot.chat.ref import ChatRef
    from handlers.telegram.context import CHANNEL

    return await h.services.conversations.current(ChatRef(CHANNEL, str(user.id)))


async def start_until_unit(user: SimUser) -> BotMessage:
    await user.send("/start")
    welcome, consent = await user.replies(2)
    assert "Toàn dân bảo vệ an ninh Tổ quốc" in welcome.text
    assert "Luật Bảo vệ dữ liệu cá nhân năm 2025" in consent.text
    await user.press(CONSENT)
    role = await user.next_reply()
    assert "Bạn đăng ký với vai trò nào?" in role.text
    await user.press(TEACHER)
    unit = await user.next_reply()
    assert "trường hoặc đơn vị nào" in unit.text
    return unit


async def finish_from_unit(user: SimUser) -> None:
    await user.send("nguyen du")
    found = await user.next_reply()
    assert found.labels == ["Trường Tiểu học Nguyễn Du", "« Quay lại"]
    await user.press("Trường Tiểu học Nguyễn Du")
    subscribe = await user.next_reply()
    assert "bài tuyên truyền hằng tuần" in subscribe.text
    await user.press("Có, gửi cho tôi")
    done, help_text = await user.replies(2)
    assert "Đã lưu thông tin" in done.text and "Trường Tiểu học Nguyễn Du" in done.text
    assert "/xoadulieu" in help_text.text


async def test_onboarding_by_polling_stores_the_person(harness: Harness):
    user = await harness.user()
    await start_until_unit(user)
    await finish_from_unit(user)
    person = await stored_person(harness, user)
    assert person is not None
    assert (person.role, person.unit_code, person.subscribed) == ("teacher", "TH-ND01", True)
    assert person.consent_at == harness.clock.now()
    assert await open_dialog(harness, user) is None


async def test_onboarding_by_webhook(webhook_harness: Harness):
    user = await webhook_harness.user("Minh")
    await start_until_unit(user)
    await finish_from_unit(user)
    assert (await stored_person(webhook_harness, user)).role == "teacher"


async def test_unit_list_pages_through_all_units(harness: Harness):
    user = await harness.user()
    first = await start_until_unit(user)
    assert len(first.labels) == 6 + 2  # six units, then "next page" and "back"
    await user.press("Trang sau »")
    second = await user.next_reply()
    assert second.labels == ["Trường Tiểu học Nguyễn Du", "« Trang trước", "« Quay lại"]


async def test_declining_consent_stores_nothing(harness: Harness):
    user = await harness.user()
    await user.send("/start")
    await user.replies(2)
    await user.press("Không đồng ý")
    declined = await user.next_reply()
    assert "không lưu thông tin đăng ký nào" in declined.text
    assert await stored_person(harness, user) is None
    assert await open_dialog(harness, user) is None


async def test_restart_in_the_middle_of_onboarding_resumes(harness: Harness):
    user = await harness.user()
    await start_until_unit(user)
    await harness.restart()
    await finish_from_unit(user)
    assert (await stored_person(harness, user)).unit_code == "TH-ND01"


async def test_cancel_in_the_middle_and_when_idle(harness: Harness):
    user = await harness.user()
    await start_until_unit(user)
    await user.send("/huy")
    assert "Đã hủy" in (await user.next_reply()).text
    assert await open_dialog(harness, user) is None
    assert await stored_person(harness, user) is None
    await user.send("/huy")
    assert "không có thao tác nào" in (await user.next_reply()).text


async def test_help_depends_on_role(harness: Harness):
    user = await harness.user()
    await user.send("/trogiup")
    unregistered = await user.next_reply()
    assert "/start" in unregistered.text and "/xoadulieu" not in unregistered.text
    await start_until_unit(user)
    await finish_from_unit(user)
    await user.send("/trogiup")
    teacher = await user.next_reply()
    assert "giáo viên" in teacher.text and "/xoadulieu" in teacher.text


async def test_delete_my_data_after_confirmation(harness: Harness):
    user = await harness.user()
    await start_until_unit(user)
    await finish_from_unit(user)
    await user.send("/xoadulieu")
    confirm = await user.next_reply()
    assert "không thể hoàn tác" in confirm.text
    await user.press("Không xóa")
    assert "giữ nguyên" in (await user.next_reply()).text
    assert await stored_person(harness, user) is not None
    await user.send("/xoadulieu")
    await user.next_reply()
    await user.press("Xóa dữ liệu của tôi")
    assert "Đã xóa toàn bộ dữ liệu" in (await user.next_reply()).text
    assert await stored_person(harness, user) is None
    await user.send("/xoadulieu")
    assert "không lưu dữ liệu nào" in (await user.next_reply()).text


async def test_registered_person_is_welcomed_back_and_can_update(harness: Harness):
    user = await harness.user()
    await start_until_unit(user)
    await finish_from_unit(user)
    await user.send("/start")
    back = await user.next_reply()
    assert "Chào mừng bạn trở lại" in back.text and "Nguyễn Du" in back.text
    await user.send("/capnhat")
    assert "Thông báo về dữ liệu cá nhân" in (await user.next_reply()).text


async def test_commands_are_published_in_vietnamese(harness: Harness):
    published = await harness.client.commands()
    private = next(entry for entry in published if entry["scope"]["type"] == "all_private_chats")
    names = {c["command"]: c["description"] for c in private["commands"]}
    assert names["xoadulieu"] == "Xóa dữ liệu của tôi"
    assert {"start", "trogiup", "huy"} <= set(names)


# ------------------------------------------------------------------------------ bad input


async def test_sticker_voice_and_photo_where_a_choice_is_expected(harness: Harness):
    user = await harness.user()
    await user.send("/start")
    await user.replies(2)
    await user.press(CONSENT)
    await user.next_reply()
    for send in (user.send_sticker, user.send_voice, user.send_photo):
        await send()
        reply = await user.next_reply()
        assert "Vui lòng chọn một nút" in reply.text
        assert "Bạn đăng ký với vai trò nào?" in reply.text
    await user.press(TEACHER)
    assert "trường hoặc đơn vị nào" in (await user.next_reply()).text


async def test_ten_thousand_characters_keep_what_was_entered(harness: Harness):
    user = await harness.user()
    await start_until_unit(user)
    await user.send("x" * 10_000)
    reply = await user.next_reply()
    assert "quá dài" in reply.text and "trường hoặc đơn vị nào" in reply.text
    state = await open_dialog(harness, user)
    assert state.step == "unit" and state.answers["role"] == "teacher"
    await finish_from_unit(user)


async def test_old_button_forged_data_and_double_press(harness: Harness):
    user = await harness.user()
    await user.send("/start")
    _, consent = await user.replies(2)
    await user.press(CONSENT)
    role_prompt = await user.next_reply()
    await user.press_data(consent.message_id, consent.buttons[0][0].data)  # pressed again
    again = await user.next_reply()
    assert "câu hỏi trước" in again.text and "Bạn đăng ký với vai trò nào?" in again.text
    await user.press_data(role_prompt.message_id, "d:999:o1")
    assert "câu hỏi trước" in (await user.next_reply()).text
    await user.press_data(role_prompt.message_id, "not-a-dialog-button")
    assert (await open_dialog(harness, user)).step == "role"
    await user.press_data(role_prompt.message_id, f"d:{(await open_dialog(harness, user)).seq}:o77")
    assert "không hợp lệ" in (await user.next_reply()).text
    state = await open_dialog(harness, user)
    assert state.step == "role" and state.answers == {"consent": True}


async def test_a_command_in_the_middle_of_a_dialog_repeats_the_question(harness: Harness):
    user = await harness.user()
    await start_until_unit(user)
    for command in ("/start", "/xoadulieu", "/khongco"):
        await user.send(command)
        reply = await user.next_reply()
        assert "trả lời dở" in reply.text and "trường hoặc đơn vị nào" in reply.text
    assert (await open_dialog(harness, user)).step == "unit"


async def test_text_from_someone_new_greets_and_offers_onboarding(harness: Harness):
    user = await harness.user()
    await user.send("xin chào")
    welcome, consent = await user.replies(2)
    assert "Toàn dân bảo vệ an ninh Tổ quốc" in welcome.text
    assert consent.labels[:2] == [CONSENT, "Không đồng ý"]
    assert (await open_dialog(harness, user)).dialog == "onboarding"


async def test_text_without_a_dialog_points_to_help(harness: Harness):
    user = await harness.user()
    await start_until_unit(user)
    await finish_from_unit(user)
    await user.send("xin chào")
    assert "/trogiup" in (await user.next_reply()).text
    await user.send("/lenhla")
    assert "chưa hiểu lệnh" in (await user.next_reply()).text


async def test_commands_can_be_typed_without_the_slash(harness: Harness):
    user = await harness.user()
    await start_until_unit(user)
    await finish_from_unit(user)
    await user.send("Tra cứu")
    lookup = await user.next_reply()
    assert (await open_dialog(harness, user)).dialog == "lookup", lookup.text
    await user.send("hủy")
    assert "Đã hủy" in (await user.next_reply()).text
    assert await open_dialog(harness, user) is None


async def test_a_failure_is_explained_and_nothing_entered_is_lost(
    harness: Harness, caplog: pytest.LogCaptureFixture
):
    user = await harness.user()
    await start_until_unit(user)
    await harness.client.set_fault("sendMessage", "500", count=1)
    with caplog.at_level(logging.INFO):
        await user.send("nguyen du")
        reply = await user.next_reply()
    assert "vừa gặp sự cố" in reply.text and "vẫn được giữ nguyên" in reply.text
    assert "nguyen du" not in caplog.text
    state = await open_dialog(harness, user)
    assert state.step == "unit" and state.answers["role"] == "teacher"
