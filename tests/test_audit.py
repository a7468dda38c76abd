"""The audit log: an entry for each office action, /nhatky for office members, append-only."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from bot.chat.ref import Staff
from bot.deadlines.service import Scope
from handlers.telegram.links import start_links
from sandbox.telegram import SimUser
from storage.audit import AuditLog
from tests.conftest import CLERK_ID, OFFICE_CHAT_ID, Harness
from tests.test_announcements import group_reply, people
from tests.test_onboarding import finish_from_unit, start_until_unit
from tests.test_reports import submit_report

CLERK = Staff(actor=f"office:{CLERK_ID}", name="Trần Thị Hoa")


@pytest.fixture
async def office(harness: Harness) -> SimUser:
    clerk = await harness.client.create_user("Hoa", user_id=CLERK_ID)
    await harness.client.create_group("Văn phòng Sở", [clerk], chat_id=OFFICE_CHAT_ID)
    return clerk


async def entries(h: Harness) -> list[tuple[str, str, str | None, str | None]]:
    assert h.services is not None
    rows = await AuditLog(h.services.db).latest(1000)
    return [(e.actor, e.action, e.subject, e.details) for e in reversed(rows)]


async def test_every_office_action_is_recorded_without_personal_content(
    harness: Harness, office: SimUser
):
    services = harness.services
    assert services is not None
    clerk = f"office:{CLERK_ID}"
    reporter = await harness.user("Minh")
    code = await submit_report(reporter)
    report = await services.desk.reports.by_code(code)
    assert report is not None
    await services.desk.act(report.id, "received", CLERK)
    await services.desk.act(report.id, "received", CLERK)  # pressed twice: one entry
    await services.desk.reply(code, CLERK, "Nội dung trả lời riêng tư")
    await services.desk.act(report.id, "resolved", CLERK)

    await people(harness, "head", 3)
    announcements = services.announcements
    await announcements.draft(CLERK, str(OFFICE_CHAT_ID), "Thông báo họp", None)
    (draft,) = await announcements.repo.in_state("draft")
    await announcements.press(draft.id, "r", "heads", CLERK)
    await announcements.press(draft.id, "z", "all", CLERK)
    await announcements.press(draft.id, "ok", "", CLERK)
    await announcements.press(draft.id, "stop", "", CLERK)

    invitation = await services.invitations.issue_one("THPT-DX01", CLERK, start_links("antq_bot"))
    assert invitation.buttons
    invitation_id = int(invitation.buttons[0].data.split(":")[-1])
    await services.invitations.revoke(invitation_id, CLERK)

    deadlines = services.deadlines
    deadline_id = await deadlines.create_draft(clerk)
    due = harness.clock.now() + timedelta(days=10)
    await deadlines.update(deadline_id, title="Báo cáo", due_at=due, actor=clerk)
    await deadlines.update(deadline_id, scope=Scope("all"), actor=clerk)
    assert await deadlines.open(deadline_id, actor=clerk) is None
    board = await services.deadline_desk.board_file(CLERK)  # /tiendo's Excel file
    assert board is not None
    await deadlines.update(deadline_id, due_at=due + timedelta(days=1), actor=clerk)
    assert await deadlines.cancel(deadline_id, actor=clerk)

    parent = await harness.user("Lan")
    await start_until_unit(parent)
    await finish_from_unit(parent)
    await parent.send("/xoadulieu")
    await parent.next_reply()
    await parent.press("Xóa dữ liệu của tôi")
    assert "Đã xóa" in (await parent.next_reply()).text

    recorded = await entries(harness)
    assert recorded == [
        (clerk, "report_status", code, "new>received"),
        (clerk, "report_reply", code, None),
        (clerk, "report_status", code, "received>resolved"),
        (clerk, "announcement_sent", f"announcement:{draft.id}", "heads, all"),
        (clerk, "announcement_stopped", f"announcement:{draft.id}", None),
        (clerk, "invitation_created", "THPT-DX01", f"invitation:{invitation_id}"),
        (clerk, "invitation_revoked", "THPT-DX01", f"invitation:{invitation_id}"),
        (clerk, "deadline_created", f"deadline:{deadline_id}", None),
        (clerk, "deadline_changed", f"deadline:{deadline_id}", "title, due_at"),
        (clerk, "deadline_changed", f"deadline:{deadline_id}", "units"),
        (clerk, "deadline_opened", f"deadline:{deadline_id}", None),
        (clerk, "export", board[1], "1"),
        (clerk, "deadline_changed", f"deadline:{deadline_id}", "due_at"),
        (clerk, "deadline_cancelled", f"deadline:{deadline_id}", None),
        ("person", "data_deleted", None, None),
    ]
    flat = " ".join(str(part) for entry in recorded for part in entry)
    assert "riêng tư" not in flat and str(parent.id) not in flat

    # /nhatky shows them, newest first, to office members
    await office.send("/nhatky", chat_id=OFFICE_CHAT_ID)
    shown = await group_reply(office, "Nhật ký")
    assert shown.text.index("Xóa dữ liệu") < shown.text.index("Đổi tình trạng")
    assert "Đã tiếp nhận → Đã xử lý xong" in shown.text and code in shown.text
    assert "Trần Thị Hoa" in shown.text  # who acted, by name rather than by id


async def test_a_non_member_may_not_read_the_log(harness: Harness, office: SimUser):
    stranger = await harness.user("Khách")
    await harness.client.add_member(OFFICE_CHAT_ID, stranger)
    await stranger.send("/nhatky", chat_id=OFFICE_CHAT_ID)
    refused = await stranger.next_reply(10, chat_id=OFFICE_CHAT_ID)
    assert "Chỉ cán bộ" in refused.text or "không có quyền" in refused.text
    assert "Nhật ký" not in refused.text


async def test_entries_cannot_be_changed_or_deleted(harness: Harness):
    services = harness.services
    assert services is not None
    log = AuditLog(services.db)
    async with services.db.transaction() as tx:
        await log.record(tx, at=harness.clock.now(), actor="cli", action="export")
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.DatabaseError):
            async with services.db.transaction() as tx:
                await tx.execute(sql)
    assert len(await log.latest()) == 1
    assert not [name for name in dir(log) if name.startswith(("update", "delete", "remove"))]
