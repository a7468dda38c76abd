"""The public pages over HTTP: headers, the tip and report forms, receipts, look-up, limits."""

from __future__ import annotations

import asyncio
import io
import re

import aiohttp
from PIL import Image

from storage.web import WebRepository
from tests.web_helpers import (
    jpeg_with_gps,
    receipt_of,
    running_site,
    submit_tip,
    token_of,
)

WHAT = "Có người bán thuốc lá điện tử trước cổng trường vào giờ tan học."


async def test_headers_are_strict_and_no_cookie_is_set(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site, aiohttp.ClientSession() as session:
        for path in ("/", "/togiac", "/baocao", "/tracuu", "/vanphong/dangnhap"):
            async with session.get(site.url + path) as response:
                assert response.status == 200
                headers = response.headers
                csp = headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
                assert "default-src 'self'" in csp and "base-uri 'none'" in csp
                assert headers["Referrer-Policy"] == "no-referrer"
                assert headers["X-Content-Type-Options"] == "nosniff"
                assert "Strict-Transport-Security" not in headers  # plain http here
                assert "Set-Cookie" not in headers
                html = await response.text()
                assert '<html lang="vi">' in html
                assert "<script>" not in html and " on" + "click=" not in html
                assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from elsewhere


async def test_hsts_and_public_origin_when_published_over_https(tmp_path, bundle):
    options = {"public_url": "https://antq.example.gov.vn"}
    async with (
        running_site(tmp_path, bundle, **options) as site,
        aiohttp.ClientSession() as s,
        s.get(site.url + "/vanphong/", allow_redirects=False) as response,
    ):
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        assert response.headers["Location"] == "https://antq.example.gov.vn/vanphong/dangnhap"


async def test_tip_gives_a_receipt_and_the_lookup_shows_it(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site, aiohttp.ClientSession() as session:
        async with session.get(site.url + "/togiac") as response:
            html = await response.text()
        assert "113" in html and "114" in html and "115" in html and "111" in html
        assert html.index("113") < html.index('name="what"')  # emergency numbers first
        assert 'type="file"' in html and 'list="units"' in html
        assert "Trường THPT Đồng Xoài" in html  # the units to choose from
        status, html = await submit_tip(session, site, WHAT)
        assert status == 200, html
        code, passphrase = receipt_of(html)
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", code)
        assert "Mật khẩu" in html and "Tôi đã lưu mã" in html
        report = await site.services.reports.reports.by_code(code)
        assert report is not None and report.anonymous
        assert report.channel is None and report.chat_id is None
        assert report.unit_code == "THPT-DX01"

        token = token_of(await (await session.get(site.url + "/tracuu")).text())
        data = {"csrf_token": token, "code": code.lower(), "passphrase": passphrase}
        async with session.post(site.url + "/tracuu", data=data) as response:
            html = await response.text()
            assert response.status == 200
        assert "Chưa có trả lời" in html and code in html


async def test_a_quick_person_is_not_refused_and_a_robot_is_held_back(tmp_path, bundle):
    async with (
        running_site(tmp_path, bundle, min_fill_seconds=1.0) as site,
        aiohttp.ClientSession() as session,
    ):
        token = token_of(await (await session.get(site.url + "/togiac")).text())
        form = {"csrf_token": token, "category": "khac", "what": WHAT}
        async with session.post(site.url + "/togiac", data=form) as response:
            html = await response.text()
            assert response.status == 400  # too quick: shown again, nothing lost
        assert WHAT in html and "quá nhanh" in html
        await asyncio.sleep(1.1)
        form["csrf_token"] = token_of(html)
        async with session.post(site.url + "/togiac", data=form) as response:
            assert response.status == 200  # the same person a second later
            receipt_of(await response.text())
        async with session.post(site.url + "/togiac", data={"what": WHAT}) as response:
            assert response.status == 403  # no form token at all


async def test_limits_hold_back_many_submissions_from_one_address(tmp_path, bundle):
    async with (
        running_site(tmp_path, bundle, submissions_per_hour=2) as site,
        aiohttp.ClientSession() as session,
    ):
        for number in range(2):
            status, _ = await submit_tip(session, site, f"{WHAT} Lần {number}.")
            assert status == 200
        status, html = await submit_tip(session, site, f"{WHAT} Lần ba.")
        assert status == 429 and "thử lại sau" in html
        other = {"X-Forwarded-For": "198.51.100.20"}  # another visitor behind the proxy
        status, _ = await submit_tip(session, site, f"{WHAT} Người khác.", headers=other)
        assert status == 200


async def test_image_is_stored_without_exif_or_gps_and_other_files_are_refused(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site, aiohttp.ClientSession() as session:
        original = jpeg_with_gps()
        assert b"ProbeCam" in original
        assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
        status, html = await submit_tip(
            session, site, WHAT, images=[("IMG_20261130_GPS.jpg", original, "image/jpeg")]
        )
        assert status == 200, html
        code, _ = receipt_of(html)
        report = await site.services.reports.reports.by_code(code)
        assert report is not None
        repo = WebRepository(site.services.db)
        files = await repo.report_files(report.id)
        assert len(files) == 1
        ref = site.services.cipher.decrypt(files[0][2])
        info = await site.services.files.info(ref)  # in the bot's file store, like a chat's
        assert info is not None and info.file_name == "anh-1.jpg"
        stored = await site.services.files.read(ref)
        assert b"ProbeCam" not in stored and b"Exif" not in stored
        cleaned = Image.open(io.BytesIO(stored))
        assert not cleaned.getexif() and not cleaned.getexif().get_ifd(0x8825)
        assert cleaned.size == (64, 48)
        raw = site.database.read_bytes()
        wal = site.database.with_name(site.database.name + "-wal")
        assert b"ProbeCam" not in raw and (not wal.exists() or b"ProbeCam" not in wal.read_bytes())

        pdf = b"%PDF-1.4\n1 0 obj<</Author (Nguyen Van A)>>endobj\n"
        status, html = await submit_tip(
            session, site, WHAT + " Kèm tài liệu.", images=[("bao-cao.pdf", pdf, "application/pdf")]
        )
        assert status == 400
        assert "Ảnh thứ 1 không được nhận" in html and "PDF" in html


async def test_report_under_a_name_needs_contact_and_is_looked_up_with_its_passphrase(
    tmp_path, bundle
):
    async with running_site(tmp_path, bundle) as site, aiohttp.ClientSession() as session:
        async with session.get(site.url + "/baocao") as response:
            html = await response.text()
        for kind, name in (("tel", "contact_phone"), ("email", "contact_email")):
            assert f'name="{name}" type="{kind}"' in html
        assert '<label for="contact_phone">' in html
        status, html = await submit_tip(session, site, WHAT, path="/baocao")
        assert status == 400 and "họ và tên" in html
        status, html = await submit_tip(
            session,
            site,
            WHAT,
            path="/baocao",
            contact_name="Trần Thị Hoa",
            contact_phone="0912 345 678",
        )
        assert status == 200, html
        code, passphrase = receipt_of(html)
        report = await site.services.reports.reports.by_code(code)
        assert report is not None and not report.anonymous and report.channel == "web"
        body = site.services.cipher.decrypt_json(report.body)
        assert body["contact_name"] == "Trần Thị Hoa"
        token = token_of(await (await session.get(site.url + "/tracuu")).text())
        wrong = {"csrf_token": token, "code": code, "passphrase": "sai-mat-khau"}
        async with session.post(site.url + "/tracuu", data=wrong) as response:
            assert response.status == 404
        right = {"csrf_token": token, "code": code, "passphrase": passphrase}
        async with session.post(site.url + "/tracuu", data=right) as response:
            assert response.status == 200


async def test_failed_lookups_are_limited_like_the_chat(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site, aiohttp.ClientSession() as session:
        token = token_of(await (await session.get(site.url + "/tracuu")).text())
        statuses = []
        for _ in range(6):
            data = {"csrf_token": token, "code": "AAAA-BBBB", "passphrase": "khong-dung"}
            async with session.post(site.url + "/tracuu", data=data) as response:
                statuses.append(response.status)
        assert statuses == [404] * 5 + [429]


async def test_retention_erases_the_images_of_a_web_report(tmp_path, bundle):

    async with running_site(tmp_path, bundle) as site, aiohttp.ClientSession() as session:
        images = [("anh.jpg", jpeg_with_gps(), "image/jpeg")]
        status, html = await submit_tip(session, site, WHAT, images=images)
        code, _ = receipt_of(html)
        report = await site.services.reports.reports.by_code(code)
        repo = WebRepository(site.services.db)
        (row,) = await repo.report_files(report.id)
        ref = site.services.cipher.decrypt(row[2])
        assert await site.services.files.info(ref) is not None
        async with site.services.db.transaction() as tx:
            await tx.execute(
                "UPDATE reports SET status = 'resolved', updated_at = ? WHERE id = ?",
                ["2000-01-01T00:00:00+00:00", report.id],
            )
        assert await site.services.retention.purge() == 1
        assert await repo.report_files(report.id) == []
        assert await site.services.files.info(ref) is None
        assert not site.services.files.path(ref).exists()
