"""Weekly outreach end to end: subscriptions, the push, holidays, quiet hours, restarts."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from bot.outreach.service import session_week
from sandbox.telegram import SimUser
from storage.db import to_db
from tests.conftest import TZ, Harness

WEEK = date(2026, 9, 7)  # the first school week: traffic safety
SUNDAY_EVENING = datetime(2026, 9, 6, 19, 0, tzinfo=TZ)
MONDAY_EVENING = datetime(2026, 9, 7, 18, 0, tzinfo=TZ)


async def add_people(h: Harness, roles: list[str]) -> list[tuple[SimUser, str]]:
    """Registered, subscribed people of these roles, straight into the database (fast)."""
    people = []
    async with h.services.db.transaction() as tx:
        for number, role in enumerate(roles):
            user = await h.client.create_user(f"Người {number}")
            await h.services.people.people.save(
                tx,
                channel="telegram",
                chat_id=user.id,
                role=role,
                unit_code="THPT-DX01",
                subscribed=True,
                now=h.clock.now(),
            )
            people.append((user, role))
    return people


async def wait_until_sent(h: Harness, expected: int, timeout: float = 30.0) -> dict:
    async def sent() -> int:
        return (await h.services.outbox.repo.counts(kind="outreach")).get("sent", 0)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await sent() < expected and loop.time() < deadline:  # noqa: ASYNC110 - polls the database
        await asyncio.sleep(0.1)
    return await h.services.outbox.repo.counts(kind="outreach")


async def test_the_week_s_push_reaches_each_person_once_with_their_version(harness: Harness):
    roles = ["teacher"] * 120 + ["head"] * 30 + ["parent"] * 100
    people = await add_people(harness, roles)
    harness.clock.set(SUNDAY_EVENING)
    assert await harness.services.outreach.tick() == 150  # teachers and unit heads
    assert await harness.services.outreach.tick() == 0  # planned once
    counts = await wait_until_sent(harness, 150)
    assert counts == {"sent": 150}
    harness.clock.set(MONDAY_EVENING)
    assert await harness.services.outreach.tick() == 100  # parents
    await wait_until_sent(harness, 250)
    item = harness.bundle.outreach[WEEK]
    for user, role in people[::25]:
        (message,) = [m for m in await user.transcript() if m["from_bot"]]
        assert item.title in message["text"]
        if role == "parent":
            assert "tài liệu cho buổi chào cờ" not in message["text"]
        else:
            assert "tài liệu cho buổi chào cờ" in message["text"]
        labels = [
            b["text"]
            for row in (message["reply_markup"] or {}).get("inline_keyboard", [])
            for b in row
        ]
        assert labels == (["✅ Đã phổ biến tại buổi chào cờ"] if role == "head" else [])
    stats = await harness.client.stats()
    assert stats["duplicates"] == 0 and stats["rate_limited"] == 0


async def test_holiday_weeks_and_the_grace_window_push_nothing(harness: Harness):
    await add_people(harness, ["teacher", "parent"])
    harness.clock.set(datetime(2027, 1, 31, 19, 0, tzinfo=TZ))  # the Sunday before Tết
    assert await harness.services.outreach.tick() == 0
    harness.clock.set(datetime(2026, 9, 7, 10, 1, tzinfo=TZ))  # Monday after the session
    assert await harness.services.outreach.tick() == 0  # too late for the staff version
    harness.clock.set(datetime(2026, 9, 6, 18, 59, tzinfo=TZ))  # a minute early
    assert await harness.services.outreach.tick() == 0


async def test_a_bot_down_at_push_time_pushes_after_restart_outside_quiet_hours(harness: Harness):
    people = await add_people(harness, ["teacher"] * 3)
    harness.clock.set(datetime(2026, 9, 6, 18, 0, tzinfo=TZ))
    await harness.stop()  # down before Sunday 19:00 ...
    harness.clock.set(datetime(2026, 9, 6, 22, 30, tzinfo=TZ))  # ... back at 22:30, quiet hours
    await harness.start()
    assert await harness.services.outreach.tick() == 3
    await asyncio.sleep(1.0)  # the sender is running: nothing may leave during quiet hours
    assert (await harness.services.outbox.repo.counts(kind="outreach")) == {"pending": 3}
    harness.clock.set(datetime(2026, 9, 7, 6, 31, tzinfo=TZ))
    harness.services.sender.notify()
    assert await wait_until_sent(harness, 3) == {"sent": 3}
    await harness.restart()
    assert await harness.services.outreach.tick() == 0  # still once per person and week
    for user, _ in people:
        assert len([m for m in await user.transcript() if m["from_bot"]]) == 1


async def test_a_person_who_blocked_the_bot_is_unsubscribed(harness: Harness):
    people = await add_people(harness, ["parent", "parent"])
    blocked, reachable = people[0][0], people[1][0]
    await blocked.block()
    harness.clock.set(MONDAY_EVENING)
    assert await harness.services.outreach.tick() == 2
    counts = await wait_until_sent(harness, 1)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while counts.get("blocked") != 1 and loop.time() < deadline:  # noqa: ASYNC110 - polls the database
        await asyncio.sleep(0.1)
        counts = await harness.services.outbox.repo.counts(kind="outreach")
    assert counts == {"sent": 1, "blocked": 1}
    person = await harness.services.people.people.get("telegram", blocked.id)
    assert (person.active, person.subscribed) == (False, False)
    assert (await harness.services.people.people.get("telegram", reachable.id)).subscribed


async def test_unit_heads_confirm_once_per_unit_and_week(harness: Harness):
    (head, _), (deputy, _), (teacher, _) = await add_people(harness, ["head", "head", "teacher"])
    harness.clock.set(SUNDAY_EVENING)
    await harness.services.outreach.tick()
    pushed = await head.next_reply(15)
    answer = await head.callback_answer(await head.press("✅ Đã phổ biến tại buổi chào cờ"))
    assert "Đã ghi nhận: Trường THPT Đồng Xoài" in answer["text"]
    await deputy.next_reply(15)
    again = await deputy.callback_answer(await deputy.press("✅ Đã phổ biến tại buổi chào cờ"))
    assert "đã xác nhận tuần này rồi" in again["text"]
    forged = await teacher.callback_answer(await _press_forged(teacher))
    assert "Chỉ thủ trưởng" in forged["text"]
    assert pushed.labels == ["✅ Đã phổ biến tại buổi chào cờ"]
    assert await harness.services.outreach.repo.confirmed_units(WEEK) == {"THPT-DX01"}


async def _press_forged(user: SimUser) -> str:
    """A teacher's weekly message has no confirm button: press one anyway."""
    message = await user.next_reply(15)
    assert message.labels == []
    return await user.press_data(message.message_id, "w:2026-09-07")


async def test_subscribe_unsubscribe_this_week_and_archive(harness: Harness):
    stranger = await harness.user("Khách")
    await stranger.send("/dangky")
    assert "/start" in (await stranger.next_reply()).text
    ((teacher, _),) = await add_people(harness, ["teacher"])
    await teacher.send("/huydangky")
    assert "Đã hủy nhận" in (await teacher.next_reply()).text
    assert not (await harness.services.people.people.get("telegram", teacher.id)).subscribed
    await teacher.send("/dangky")
    subscribed = (await teacher.next_reply()).text
    assert "sẽ nhận" in subscribed and "tối Chủ nhật" in subscribed
    assert "phụ huynh" not in subscribed  # their own schedule only
    harness.clock.set(datetime(2026, 9, 9, 10, 0, tzinfo=TZ))  # a Wednesday
    assert session_week(harness.clock.today()) == WEEK
    await teacher.send("/tuannay")
    item = harness.bundle.outreach[WEEK]
    shown = await teacher.next_reply()
    assert item.title in shown.text and "tài liệu cho buổi chào cờ" in shown.text
    if item.quiz:
        assert "Câu hỏi tuần này" in (await teacher.next_reply()).text
    await teacher.send("/luutru")
    listing = await teacher.next_reply()
    assert len(listing.labels) == 1 and listing.labels[0].startswith("07/09/2026")
    await teacher.press(listing.labels[0])
    assert item.title in (await teacher.next_reply()).text


def test_timestamps_are_stored_in_utc():
    assert to_db(SUNDAY_EVENING) == "2026-09-06T12:00:00+00:00"
