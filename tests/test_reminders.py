"""Deadline reminders planned from the database: once per slot, restarts, quiet hours, changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.deadlines.reminder_plan import Offset, PlanError, Schedule, format_plan, parse_plan
from bot.deadlines.service import Scope
from bot.kernel.services import Services
from content import Content
from tests.conftest import OFFICE_CHAT_ID, TZ
from tests.world import DUE, World, open_world


@pytest.fixture
async def world(tmp_path: Path, bundle: Content) -> AsyncIterator[World]:
    async for opened in open_world(tmp_path, bundle):
        yield opened


SLOTS = [  # the default plan: 7, 3, 1 days before at 08:00, the day itself at 07:00
    (datetime(2026, 12, 3, 8, 0, tzinfo=TZ), "còn 7 ngày"),
    (datetime(2026, 12, 7, 8, 0, tzinfo=TZ), "còn 3 ngày"),
    (datetime(2026, 12, 9, 8, 0, tzinfo=TZ), "còn 1 ngày"),
    (datetime(2026, 12, 10, 7, 0, tzinfo=TZ), "hôm nay là hạn chót, trước 17:00"),
]


# ------------------------------------------------------------------------------ the plan


def test_reminder_plans_are_read_and_written_back():
    plan = parse_plan("7 08:00, 3, 1 8h30; 0")
    assert plan == (
        Offset(7, time(8, 0)),
        Offset(3, time(8, 0)),
        Offset(1, time(8, 30)),
        Offset(0, time(7, 0)),
    )
    assert format_plan(plan) == "7 08:00, 3 08:00, 1 08:30, 0 07:00"
    for bad in ("", "7, 7", "tomorrow", "7 25:00", "200"):
        with pytest.raises(PlanError):
            parse_plan(bad)


def test_the_slot_of_a_day():
    schedule = Schedule(DUE.astimezone(UTC), parse_plan("7, 3, 1, 0"), time(8, 0), 2, TZ)
    assert [s.moment.astimezone(TZ) for s in schedule.before_due()] == [m for m, _ in SLOTS]
    assert schedule.slot_on(date(2026, 12, 4)) is None
    overdue = schedule.slot_on(date(2026, 12, 12))
    assert overdue is not None and overdue.days_late == 2
    assert overdue.moment == datetime(2026, 12, 12, 8, 0, tzinfo=TZ)
    assert schedule.slot_on(date(2026, 12, 13)) is None  # past the overdue window
    early = Schedule(datetime(2026, 12, 10, 6, 0, tzinfo=TZ), parse_plan("0"), time(8, 0), 2, TZ)
    assert early.slot_on(date(2026, 12, 10)) is None  # 07:00 would be after the due time


# ------------------------------------------------------------------------- the reminders


async def test_each_reminder_of_a_deadline_is_planned_once_for_heads_of_units_not_done(
    world: World,
):
    await world.head(1, "THPT-DX01")
    await world.head(2, "THPT-DX01")  # a deputy
    await world.head(3, "TH-ND01")
    await world.head(4, "THPT-DX01", role="teacher")  # not reminded
    await world.head(5, "MN-HS01")  # a head of a unit the deadline does not concern
    await world.deadline(Scope("list", None, ("THPT-DX01", "TH-ND01")))
    assert await world.at(datetime(2026, 12, 3, 7, 59, tzinfo=TZ)) == 0  # a minute early
    for moment, left in SLOTS:
        assert await world.at(moment + timedelta(minutes=1)) == 3
        assert await world.at(moment + timedelta(hours=3)) == 0  # same day: once
        rows = await world.rows()
        assert {chat for chat, *_ in rows[-3:]} == {1, 2, 3}
        assert all(left in text and "Đăng ký" in text for _, _, text, _ in rows[-3:])
    assert await world.at(datetime(2026, 12, 4, 8, 1, tzinfo=TZ)) == 0  # not a reminder day
    assert len(await world.rows()) == 12
    texts = [text for _, _, text, _ in await world.rows()]
    assert "10/12/2026 17:00" in texts[0]


async def test_done_stops_the_reminders_of_the_whole_unit_and_drops_what_is_pending(
    world: World,
):
    await world.head(1, "THPT-DX01")
    await world.head(2, "THPT-DX01")
    await world.head(3, "TH-ND01")
    deadline = await world.deadline(Scope("list", None, ("THPT-DX01", "TH-ND01")))
    await world.at(SLOTS[0][0])
    from bot.chat.ref import ChatRef

    outcome = await world.services.reminders.press(ChatRef("telegram", str(1)), deadline, "done")
    assert "Đã ghi nhận" in outcome.notice and outcome.dialog == "deadline_done"
    states = {(chat, state) for chat, state, *_ in await world.rows()}
    assert states == {(1, "cancelled"), (2, "cancelled"), (3, "pending")}  # nothing left sent
    again = await world.services.reminders.press(ChatRef("telegram", str(2)), deadline, "done")
    assert "đã báo hoàn thành" in again.notice and again.dialog is None
    for moment, _ in SLOTS[1:]:
        assert await world.at(moment) == 1  # only the other unit
    assert {chat for chat, *_ in (await world.rows())[3:]} == {3}


async def test_a_restart_across_a_reminder_time_neither_repeats_nor_skips(world: World):
    await world.head(1, "THPT-DX01")
    await world.deadline(Scope("all"))
    world.clock.set(datetime(2026, 12, 3, 7, 30, tzinfo=TZ))
    await world.services.close()  # down before 08:00 ...
    world.clock.set(datetime(2026, 12, 3, 13, 0, tzinfo=TZ))  # ... back in the afternoon
    world.services = await Services.open(world.settings(), world.bundle, world.clock)
    assert await world.services.reminders.tick() == 1  # the missed one, the same day
    await world.restart()
    assert await world.services.reminders.tick() == 0  # not again
    world.clock.set(datetime(2026, 12, 7, 7, 0, tzinfo=TZ))
    await world.restart()
    world.clock.set(datetime(2026, 12, 8, 9, 0, tzinfo=TZ))  # down through the 3-day reminder
    assert await world.services.reminders.tick() == 0  # a day late: skipped, not sent now
    assert await world.at(datetime(2026, 12, 9, 8, 0, tzinfo=TZ)) == 1
    assert [("còn 7 ngày" in t, "còn 1 ngày" in t) for *_, t, _ in await world.rows()] == [
        (True, False),
        (False, True),
    ]


async def test_quiet_hours_hold_a_reminder_and_a_late_evening_start_skips_it(world: World):
    await world.head(1, "THPT-DX01")
    await world.deadline(Scope("all"), plan="1 06:00")
    assert await world.at(datetime(2026, 12, 9, 6, 0, tzinfo=TZ)) == 1
    (row,) = await world.rows()
    assert row[3] == "2026-12-08T23:30:00+00:00"  # held until 06:30 local
    other = await world.deadline(Scope("all"), due=datetime(2026, 12, 20, 17, 0, tzinfo=TZ))
    assert other
    assert await world.at(datetime(2026, 12, 13, 22, 30, tzinfo=TZ)) == 0  # 7 days before,
    assert len(await world.rows()) == 1  # but only quiet hours are left of that day


async def test_overdue_units_are_reminded_daily_and_the_office_gets_one_digest(world: World):
    await world.head(1, "THPT-DX01")
    await world.head(3, "TH-ND01")
    deadline = await world.deadline(Scope("list", None, ("THPT-DX01", "TH-ND01", "MN-HS01")))
    from bot.chat.ref import ChatRef

    world.clock.set(datetime(2026, 12, 10, 12, 0, tzinfo=TZ))
    await world.services.reminders.press(ChatRef("telegram", str(3)), deadline, "done")
    assert await world.at(datetime(2026, 12, 11, 8, 0, tzinfo=TZ)) == 2  # unit A, and a digest
    assert await world.at(datetime(2026, 12, 11, 18, 0, tzinfo=TZ)) == 0
    overdue = [row for row in await world.rows() if "Quá hạn" in row[2]]
    assert [(chat, "đã qua 1 ngày" in text) for chat, _, text, _ in overdue] == [(1, True)]
    (digest,) = await world.rows("deadline_digest")
    assert digest[0] == OFFICE_CHAT_ID
    assert "Trường THPT Đồng Xoài" in digest[2] and "Trường Mầm non Hoa Sen" in digest[2]
    assert "Nguyễn Du" not in digest[2] and "2/3" in digest[2]
    assert await world.at(datetime(2026, 12, 12, 8, 0, tzinfo=TZ)) == 2
    await world.restart()
    assert await world.services.reminders.tick() == 0
    assert len(await world.rows("deadline_digest")) == 2
    late = world.services.settings.deadline_overdue_days
    beyond = datetime.combine(DUE.date() + timedelta(days=late + 1), time(8, 0), TZ)
    assert await world.at(beyond) == 0


async def test_a_changed_due_date_replans_what_is_pending_and_tells_the_reminded(world: World):
    await world.head(1, "THPT-DX01")
    await world.head(3, "TH-ND01")
    deadline = await world.deadline(Scope("all"), plan="7 06:00, 3, 1, 0")
    world.clock.set(datetime(2026, 12, 3, 6, 0, tzinfo=TZ))
    assert await world.services.reminders.tick() == 2  # held by quiet hours until 06:30
    async with world.services.db.transaction() as tx:  # one of them went out already
        await tx.execute("UPDATE outbox SET state = 'sent' WHERE chat_id = 1")
    new_due = datetime(2026, 12, 10, 9, 0, tzinfo=TZ)  # the same day, another time
    await world.services.deadlines.update(deadline, due_at=new_due.astimezone(UTC))
    rows = sorted(await world.rows())
    assert [(chat, state) for chat, state, *_ in rows] == [
        (1, "sent"),
        (3, "cancelled"),  # the old text
        (3, "pending"),  # planned again, with the new due time
    ]
    assert "10/12/2026 09:00" in rows[2][2] and "17:00" in rows[1][2]
    (notice,) = await world.rows("deadline_changed")
    assert notice[0] == 1 and "Hạn chót mới" in notice[2] and "10/12/2026 09:00" in notice[2]
    assert await world.services.reminders.tick() == 0  # and nothing twice


async def test_cancelling_a_deadline_drops_what_is_pending(world: World):
    await world.head(1, "THPT-DX01")
    await world.head(3, "TH-ND01")
    deadline = await world.deadline(Scope("all"), plan="7 06:00")
    world.clock.set(datetime(2026, 12, 3, 6, 0, tzinfo=TZ))
    await world.services.reminders.tick()
    async with world.services.db.transaction() as tx:
        await tx.execute("UPDATE outbox SET state = 'sent' WHERE chat_id = 1")
    assert await world.services.deadlines.cancel(deadline)
    assert sorted((c, s) for c, s, *_ in await world.rows()) == [(1, "sent"), (3, "cancelled")]
    (notice,) = await world.rows("deadline_changed")
    assert notice[0] == 1 and "đã hủy hạn chót" in notice[2]
    assert await world.at(datetime(2026, 12, 10, 7, 0, tzinfo=TZ)) == 0
    assert not await world.services.deadlines.cancel(deadline)


def test_deadline_settings_are_checked_with_one_line_each(bundle: Content, monkeypatch):
    from pydantic import ValidationError

    from bot.kernel.config import Settings, describe_errors

    for name, value in {
        "ANTQ_BOT_USERNAME": "not a name!",
        "ANTQ_DEADLINE_REMINDERS": "tomorrow",
        "ANTQ_DEADLINE_OVERDUE_AT": "8 am",
        "ANTQ_DEADLINE_OVERDUE_DAYS": "-1",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    lines = describe_errors(caught.value, bundle.texts)
    assert [line.split(":")[0] for line in lines] == [
        "ANTQ_BOT_USERNAME",
        "ANTQ_DEADLINE_REMINDERS",
        "ANTQ_DEADLINE_OVERDUE_AT",
        "ANTQ_DEADLINE_OVERDUE_DAYS",
    ]
    assert "antq_dongnai_bot" in lines[0] and "7 08:00" in lines[1] and "08:00" in lines[2]
    monkeypatch.setenv("ANTQ_BOT_USERNAME", "@antq_dongnai_bot")
    for name in (
        "ANTQ_DEADLINE_REMINDERS",
        "ANTQ_DEADLINE_OVERDUE_AT",
        "ANTQ_DEADLINE_OVERDUE_DAYS",
    ):
        monkeypatch.delenv(name)
    assert Settings(_env_file=None).bot_username == "antq_dongnai_bot"
