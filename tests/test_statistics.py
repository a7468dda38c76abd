"""/thongke: figures of a known data set, the periods people write, and who may ask."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.kernel.clock import ManualClock
from bot.kernel.crypto import Cipher
from bot.office.statistics import StatisticsDesk, StatisticsError, percentile
from storage.db import Database
from storage.reports import ReportRepository
from tests.conftest import CLERK_ID, OFFICE_CHAT_ID, TZ, Harness
from tests.test_announcements import group_reply
from tests.test_export import NOW, build, local


@pytest.fixture
async def desk(tmp_path, bundle):
    db = await Database.open(tmp_path / "antq.db")
    cipher = Cipher([Cipher.generate_key()])
    await build(db, cipher)
    reports = ReportRepository(db)
    async with db.transaction() as tx:  # nine more reports, first handled after 1..9 hours
        for hours in range(1, 10):
            created = local(2026, 12, 1, 8, 0)
            report = await reports.insert(
                tx, code=f"DDDD-000{hours}", anonymous=False, channel="telegram", chat_id=hours,
                category="co_bac", unit_code="A", body=cipher.encrypt_json({"what": "x"}),
                passphrase_hash=None, now=created,
            )  # fmt: skip
            await reports.touch_first_action(tx, report, created + timedelta(hours=hours))
    try:
        yield StatisticsDesk(db, bundle, ManualClock(TZ, NOW))
    finally:
        await db.close()


def test_percentile_is_nearest_rank():
    assert percentile([30, 60, 120], 0.9) == 120
    assert percentile(list(range(1, 11)), 0.9) == 9
    assert percentile([5], 0.5) == 5


async def test_figures_of_the_school_year(desk):
    text = await desk.text("năm học")
    assert "Thống kê từ 01/09/2026 đến 20/12/2026" in text
    assert "Tin báo: <b>10</b> · Tố giác ẩn danh: <b>1</b>" in text
    assert "• Bạo lực học đường: 1 / 0" in text
    assert "• Ma túy, thuốc lá điện tử và chất kích thích: 0 / 1" in text
    assert "• Cờ bạc, cá độ: 9 / 0" in text  # the report of 31/08 is outside the period
    assert "• Mới gửi, chờ tiếp nhận: 10" in text and "• Đã xử lý xong: 1" in text
    assert text.index("• Trường A: 10") < text.index("• Trường B: 1")
    # delays 30 min, 1 h .. 9 h: median 4 h 30, 90th percentile (nearest rank) 8 h
    assert "trung vị 4 giờ 30 phút; 90% tin được xử lý trong 8 giờ 0 phút (10 tin" in text
    assert "đã gửi 12/15 tin (80%); người dùng chặn trợ lý 2, lỗi 1, đang chờ gửi 0" in text
    assert "Đơn vị xác nhận đã phổ biến: 3/4 lượt (75%)" in text
    assert "hoàn thành đúng hạn 2/4 lượt đơn vị (50%)" in text
    assert "• Trường A: 1/2 (50%)" in text and "• Trường B: 1/2 (50%)" in text


async def test_periods_people_write(desk):
    assert (desk.period("tuần này").first, desk.period("tuan nay").last) == (
        date(2026, 12, 14), date(2026, 12, 20),
    )  # fmt: skip
    assert desk.period("").first == desk.period("Tháng này").first == date(2026, 12, 1)
    assert desk.period("01/10/2026 31/10/2026").last == date(2026, 10, 31)
    october = await desk.text("01/10/2026 31/10/2026")
    assert "Tin báo: <b>1</b> · Tố giác ẩn danh: <b>0</b>" in october
    assert "trung vị 30 phút" in october
    assert "hoàn thành đúng hạn 1/2 lượt đơn vị (50%)" in october  # only deadline 1 was due
    for bad in ("hôm qua", "31/10/2026 01/10/2026", "32/10/2026 01/11/2026", "01/10/2026"):
        with pytest.raises(StatisticsError):
            desk.period(bad)


async def test_only_office_members_get_figures(harness: Harness):
    clerk = await harness.client.create_user("Hoa", user_id=CLERK_ID)
    stranger = await harness.user("Khách")
    await harness.client.create_group("Văn phòng Sở", [clerk, stranger], chat_id=OFFICE_CHAT_ID)
    await stranger.send("/thongke", chat_id=OFFICE_CHAT_ID)
    refused = await stranger.next_reply(10, chat_id=OFFICE_CHAT_ID)
    assert "không có quyền" in refused.text and "Thống kê" not in refused.text
    await clerk.send("/thongke tuần này", chat_id=OFFICE_CHAT_ID)
    shown = await group_reply(clerk, "Thống kê từ")
    assert "Tin báo: 0 · Tố giác ẩn danh: 0" in shown.text
    await clerk.send("/thongke hôm qua", chat_id=OFFICE_CHAT_ID)
    assert "Cách dùng" in (await group_reply(clerk, "Không hiểu khoảng thời gian")).text
