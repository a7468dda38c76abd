"""Findings F2, F4, F6, F8 of the outside review (../shared/REVIEW.md) and the newcomer's friction
list (its section 4): each test failed before its fix."""

from __future__ import annotations

import asyncio

import pytest
from telegram.constants import ParseMode

from sandbox.telegram import SimUser
from tests.conftest import CLERK_ID, OFFICE_CHAT_ID, Harness
from tests.test_announcements import group_reply, settle
from tests.test_reports import submit_report


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
