"""The pages in a real browser: Debian's chromium driven by Playwright (no browser download).

A tip from a phone with JavaScript off, its receipt, a clerk who logs in, finds it, takes it and
replies, and the reply at /tracuu; a report with an image; an admin's TOTP enrolment; the
inbox's new arrivals. Screenshots of the main pages go to docs/screenshots/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from storage.web import WebRepository
from tests.web_helpers import PASSWORD, jpeg_with_gps, running_site, totp_now

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
WHAT = "Có nhóm người lạ đứng trước cổng trường mời học sinh thử thuốc lá điện tử vào giờ tan học."

if shutil.which("chromium") is None and not Path(CHROMIUM).exists():  # pragma: no cover
    raise RuntimeError("chromium is missing: apt-get install -y chromium (.ci/run does it)")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def shot(page: Page, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


async def no_horizontal_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


async def staff_login(page: Page, url: str, username: str, password: str = PASSWORD) -> None:
    await page.goto(url + "/vanphong/")
    assert page.url.endswith("/vanphong/dangnhap")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")


async def test_tip_without_javascript_then_a_clerk_replies_and_the_sender_reads_it(
    tmp_path, bundle, browser
):
    async with running_site(tmp_path, bundle, min_fill_seconds=2.0) as site:
        await site.add_staff("lan", "clerk")
        phone = await browser.new_context(viewport=PHONE, java_script_enabled=False, locale="vi-VN")
        page = await phone.new_page()
        await page.goto(site.url + "/")
        await no_horizontal_scroll(page)
        await shot(page, "01-home-phone")
        await page.goto(site.url + "/togiac")
        await no_horizontal_scroll(page)
        await shot(page, "02-togiac-phone")
        text = await page.inner_text("main")
        assert text.index("113") < text.index("Chuyện gì đã xảy ra?")
        await page.select_option("select[name=category]", "ma_tuy")
        await page.fill("textarea[name=what]", WHAT)
        await page.fill("input[name=unit]", "Trường THPT Đồng Xoài")
        await page.fill("textarea[name=people]", "Hai thanh niên đi xe máy màu đen.")
        await page.wait_for_timeout(2100)  # a person takes at least this long
        await page.click("button[type=submit]")
        await page.wait_for_selector("#receipt-code")
        await no_horizontal_scroll(page)
        code = (await page.inner_text("#receipt-code")).strip()
        passphrase = (await page.inner_text("#receipt-passphrase")).strip()
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", code)
        body = await page.inner_text("main")
        assert "Mật khẩu" in body and "Tôi đã lưu mã" in body
        assert await page.is_hidden("#print-button")  # the print button needs JavaScript
        await shot(page, "03-receipt-phone")

        desk = await browser.new_context(viewport=DESKTOP, locale="vi-VN")
        clerk = await desk.new_page()
        await clerk.goto(site.url + "/vanphong/dangnhap")
        await shot(clerk, "10-login-desktop")
        await staff_login(clerk, site.url, "lan")
        await clerk.wait_for_selector("table.inbox")
        assert await clerk.locator("tr.unclaimed.urgent").count() == 1
        await shot(clerk, "11-inbox-desktop")
        await clerk.fill("input[name=code]", code.lower())
        await clerk.click("form.filters button[type=submit]")
        await clerk.click(f"text={code}")
        await clerk.wait_for_selector("#report-status")
        assert "ẩn danh" in await clerk.inner_text("main")
        await clerk.click("button:has-text('Tôi xử lý')")
        await clerk.wait_for_selector("#report-assignee:has-text('lan')")
        assert await clerk.inner_text("#report-status") == "Đã tiếp nhận"
        await clerk.fill("textarea[name=note]", "Đã báo Ban giám hiệu kiểm tra khu vực cổng.")
        await clerk.click("button:has-text('Lưu ghi chú')")
        await clerk.get_by_label("Trả lời người gửi").fill("Cảm ơn bạn. Sở đã chuyển nhà trường.")
        await clerk.click("button:has-text('Gửi trả lời')")
        await clerk.wait_for_selector("text=trả lời người gửi")
        await clerk.click("button:has-text('Chuyển Công an')")
        await clerk.wait_for_selector("#report-status:has-text('Đã chuyển cơ quan Công an')")
        await shot(clerk, "12-report-desktop")
        await clerk.click("text=Phiếu chuyển tin báo")
        await clerk.emulate_media(media="print")
        await shot(clerk, "13-handover-print")
        await clerk.emulate_media(media="screen")

        await page.goto(site.url + "/tracuu")
        await page.fill("input[name=code]", code)
        await page.fill("input[name=passphrase]", passphrase)
        assert await page.get_attribute("input[name=passphrase]", "type") == "password"
        await page.click("button[type=submit]")
        await page.wait_for_selector("#status")
        result = await page.inner_text("main")
        assert "Cảm ơn bạn. Sở đã chuyển nhà trường." in result
        assert "Đã chuyển cơ quan Công an" in result
        assert "Ban giám hiệu" not in result  # the internal note stays inside
        await no_horizontal_scroll(page)
        await shot(page, "04-tracuu-result-phone")
        await phone.close()
        await desk.close()


async def test_report_with_an_image_from_a_phone_is_stored_without_exif(tmp_path, bundle, browser):
    image = tmp_path / "IMG_0042.jpg"
    image.write_bytes(jpeg_with_gps())
    async with running_site(tmp_path / "site", bundle) as site:
        phone = await browser.new_context(viewport=PHONE, locale="vi-VN")
        page = await phone.new_page()
        await page.goto(site.url + "/baocao")
        await no_horizontal_scroll(page)
        await shot(page, "05-baocao-phone")
        await page.fill("textarea[name=what]", WHAT)
        await page.fill("input[name=where_text]", "Quán nước đối diện cổng sau")
        await page.set_input_files("input[name=images]", str(image))
        await page.get_by_label("Họ và tên").fill("Phạm Văn Bình")
        await page.get_by_label("Số điện thoại").fill("0987 654 321")
        await page.click("button[type=submit]")
        await page.wait_for_selector("#receipt-code")
        code = (await page.inner_text("#receipt-code")).strip()
        assert await page.is_visible("#print-button")  # with JavaScript, a print button
        report = await site.services.reports.reports.by_code(code)
        assert report is not None and not report.anonymous
        repo = WebRepository(site.services.db)
        (file_row,) = await repo.report_files(report.id)
        ref = site.services.cipher.decrypt(file_row[2])
        stored = await site.services.files.read(ref)  # the bot's file store
        assert b"ProbeCam" not in stored and b"Exif" not in stored and stored[:3] == b"\xff\xd8\xff"
        await phone.close()


async def test_admin_enrols_totp_and_sees_new_arrivals_without_reloading(tmp_path, bundle, browser):
    async with running_site(tmp_path, bundle, poll_seconds=0.5) as site:
        await site.add_staff("quantri", "admin")
        await site.add_staff("xem", "viewer")
        async with __import__("aiohttp").ClientSession() as visitor:
            from tests.web_helpers import submit_tip

            await submit_tip(visitor, site, WHAT, category="co_bac")
        desk = await browser.new_context(viewport=DESKTOP, locale="vi-VN")
        admin = await desk.new_page()
        await staff_login(admin, site.url, "quantri")
        await admin.wait_for_selector("#totp-secret")
        secret = await admin.inner_text("#totp-secret")
        assert await admin.locator("img[src^='data:image/svg+xml']").count() == 1
        await shot(admin, "14-totp-enrol-desktop")
        await admin.fill("input[name=code]", totp_now(secret))
        await admin.click("button[type=submit]")
        await admin.wait_for_selector("table.inbox")
        async with __import__("aiohttp").ClientSession() as visitor:
            from tests.web_helpers import submit_tip

            await submit_tip(visitor, site, WHAT + " Lần hai, ở cổng sau.", category="khac")
        await admin.wait_for_selector("tr.fresh", timeout=10_000)
        assert await admin.is_visible("#new-arrivals")
        assert await admin.locator("table.inbox tbody tr").count() == 2

        viewer_context = await browser.new_context(viewport=DESKTOP, locale="vi-VN")
        viewer = await viewer_context.new_page()
        await staff_login(viewer, site.url, "xem")
        await viewer.wait_for_selector("table.inbox")
        await viewer.click("table.inbox tbody tr:first-child a")
        await viewer.wait_for_selector("#report-status")
        assert await viewer.locator("button:has-text('Tiếp nhận')").count() == 0
        assert "chỉ xem" in await viewer.inner_text("main")
        await shot(viewer, "15-report-viewer-desktop")
        await desk.close()
        await viewer_context.close()
