"""The whole office in a real browser (Debian's chromium, Playwright, no download): a deadline
for two units whose board follows the heads, an announcement to the parents of one area
previewed, counted, started and stopped, a units file refused by its line then imported, the
invitation sheet, outreach, statistics and the health page. Screenshots 20- and up."""

from __future__ import annotations

import re

from playwright.async_api import Page

from bot.chat.ref import ChatRef
from tests.test_web2_console import STATS, add_person, seed_reports
from tests.test_web_browser import DESKTOP, PHONE, browser, no_horizontal_scroll, shot, staff_login
from tests.web_helpers import running_site, totp_now

__all__ = ["browser"]  # the fixture


async def text_of(page: Page, selector: str) -> str:
    return (await page.inner_text(selector)).strip()


async def test_a_clerk_runs_the_office_from_the_console(tmp_path, bundle, browser):
    async with running_site(tmp_path, bundle) as site:
        await site.add_staff("lan", "clerk")
        await add_person(site, "telegram", "501", "head", "THPT-DX01")
        await add_person(site, "zalo", "z-502", "head", "TH-ND01")
        for channel, chat, unit in (
            ("telegram", "601", "MN-HS01"), ("telegram", "602", "THPT-CVA"),
            ("zalo", "z-603", "MN-HS01"), ("telegram", "605", "THPT-DX01"),
        ):  # fmt: skip
            await add_person(site, channel, chat, "parent", unit)
        await seed_reports(site)
        context = await browser.new_context(viewport=DESKTOP, locale="vi-VN")
        page = await context.new_page()
        await staff_login(page, site.url, "lan")
        await page.wait_for_selector("text=Tổng quan phong trào")
        assert await text_of(page, "#dash-open") == "2"  # STATS: new and received are open

        # a deadline for two units
        await page.click("nav.console-nav >> text=Hạn chót")
        await page.fill("#dl-title", "Báo cáo sơ kết học kỳ I")
        await page.fill("#dl-description", "Nộp bản scan có chữ ký của thủ trưởng.")
        await page.fill("#dl-due", "2030-01-15T17:00")
        await page.check("#dl-s-list")
        await page.fill("#dl-codes", "THPT-DX01, TH-ND01")
        await page.click("#deadline-create")
        await page.wait_for_selector("#board-not-done")
        assert await text_of(page, "#board-not-done") == "2"
        deadline_id = int(page.url.rsplit("/", 1)[1])
        # the Telegram head presses "Đã hoàn thành", then the Zalo head does
        await site.services.reminders.press(ChatRef("telegram", "501"), deadline_id, "done")
        await page.reload()
        assert await text_of(page, "#board-not-done") == "1"
        assert await text_of(page, "#board-on-time") == "1"
        await site.services.reminders.press(ChatRef("zalo", "z-502"), deadline_id, "done")
        await page.reload()
        assert await text_of(page, "#board-not-done") == "0"
        assert await text_of(page, "#board-on-time") == "2"
        await shot(page, "23-deadline-board-desktop")

        # an announcement to the parents of one area
        await page.click("nav.console-nav >> text=Thông báo")
        await page.fill("#ann-text", "Mời phụ huynh dự họp <b>sáng thứ Bảy</b> tại trường.")
        await page.check("#ann-a-parents")
        await page.select_option("#ann-area", "Phường Trấn Biên")
        await page.click("#ann-preview")
        await page.wait_for_selector("#ann-total")
        assert await text_of(page, "#ann-total") == "3 người nhận"
        assert await page.locator("#preview-telegram b").last.inner_text() == "sáng thứ Bảy"
        await shot(page, "21-announcement-preview-desktop")
        await page.click("#ann-send")
        await page.wait_for_selector("#ann-stop")
        assert await text_of(page, "#ann-state") == "Đang gửi"
        await shot(page, "22-announcement-progress-desktop")
        await page.click("#ann-stop")
        await page.wait_for_selector("#ann-state:has-text('Đã dừng')")
        assert await text_of(page, "#f-cancelled") == "3"

        # a units file refused by its line, then a good one, then an invitation sheet
        header = "Mã đơn vị,Tên đơn vị,Loại hình,Địa bàn\n"
        bad = header + "THCS-NEW1,Trường THCS Mới,THCS,Xã Mới\nTHCS-NEW2,,THCS,Xã Mới\n"
        await page.click("nav.console-nav >> text=Đơn vị")
        await page.set_input_files(
            "#u-file", files=[{"name": "don_vi.csv", "mimeType": "text/csv",
                               "buffer": bad.encode()}]
        )  # fmt: skip
        await page.click("#units-import")
        await page.wait_for_selector("#import-problems")
        assert "Dòng 3, cột Tên đơn vị" in await text_of(page, "#import-problems")
        await shot(page, "24-units-import-refused-desktop")
        good = bad.replace("THCS-NEW2,,", "THCS-NEW2,Trường THCS Hai,")
        await page.set_input_files(
            "#u-file", files=[{"name": "don_vi.csv", "mimeType": "text/csv",
                               "buffer": good.encode()}]
        )  # fmt: skip
        await page.click("#units-import")
        await page.wait_for_selector("#import-done")
        await page.goto(site.url + "/vanphong/donvi/THCS-NEW2")
        await page.click("#issue-invitation")
        await page.wait_for_selector("#invitation-code")
        code = await text_of(page, "#invitation-code")
        assert await text_of(page, "#invitation-typed") == f"mã mời {code}"
        assert await page.locator(".invite-sheet svg").count() == 1
        assert await page.is_visible("button[data-print]")  # shown by the script
        await page.emulate_media(media="print")
        await shot(page, "25-invitation-sheet-print")
        await page.emulate_media(media="screen")

        await page.goto(site.url + "/vanphong/tuyentruyen")
        await page.wait_for_selector("#weeks")
        await shot(page, "26-outreach-desktop", full_page=False)
        await page.goto(site.url + "/vanphong/thongke?ky=ngay&tu=2026-09-01&den=2026-11-30")
        await page.wait_for_selector("svg[data-chart=by-category]")
        values = await page.eval_on_selector_all(
            "svg[data-chart=by-month] rect[data-value]",
            "rects => rects.map(r => r.getAttribute('data-value'))",
        )
        assert values == ["2", "2", "1"] and len(STATS) == 5
        await shot(page, "27-statistics-desktop")
        await page.goto(site.url + "/vanphong/")
        await shot(page, "20-dashboard-desktop")
        await context.close()

        phone = await browser.new_context(viewport=PHONE, locale="vi-VN")
        small = await phone.new_page()
        await staff_login(small, site.url, "lan")
        await small.wait_for_selector("text=Tổng quan phong trào")
        await shot(small, "29-dashboard-phone")
        await phone.close()


async def test_an_admin_sees_the_health_page(tmp_path, bundle, browser):
    async with running_site(tmp_path, bundle) as site:
        await site.add_staff("root", "admin")
        context = await browser.new_context(viewport=DESKTOP, locale="vi-VN")
        page = await context.new_page()
        await staff_login(page, site.url, "root")
        secret = await text_of(page, "#totp-secret")
        await page.fill("input[name=code]", totp_now(secret))
        await page.click("button[type=submit]")
        await page.wait_for_selector("text=Tổng quan phong trào")
        await page.click("nav.console-nav >> text=Hệ thống")
        await page.wait_for_selector("#health-channels")
        assert "không rõ" in await text_of(page, "#last-backup")
        await shot(page, "28-system-desktop")
        await page.click("nav.console-nav >> text=Cán bộ")
        await page.fill("#st-username", "minh")
        await page.fill("#st-name", "Trần Minh")
        await page.select_option("#st-role", "viewer")
        await page.click("#staff-add")
        await page.wait_for_selector("#one-time-password")
        assert re.fullmatch(
            r"[a-z0-9]{4}(-[a-z0-9]{4}){3}", await text_of(page, "#one-time-password")
        )
        await context.close()
        assert no_horizontal_scroll  # imported for the phone checks of part 1
