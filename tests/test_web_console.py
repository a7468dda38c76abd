"""The office's console over HTTP: login, lock-out, TOTP, CSRF, roles, actions, version check."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest

from bot.office.staff import StaffError
from tests.web_helpers import (
    PASSWORD,
    get_token,
    login,
    receipt_of,
    running_site,
    submit_tip,
    token_of,
    totp_now,
)

WHAT = "Một nhóm học sinh bị chặn đánh ở con hẻm sau trường sau giờ học."


def csrf_of(html: str) -> str:
    return token_of(html)


async def test_every_console_page_redirects_to_the_login_form(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site, aiohttp.ClientSession() as session:
        for path in ("/vanphong/", "/vanphong/tin/1", "/vanphong/taikhoan", "/vanphong/tep/1"):
            async with session.get(site.url + path, allow_redirects=False) as response:
                assert response.status == 303
                assert response.headers["Location"].endswith("/vanphong/dangnhap")
        async with session.get(site.url + "/vanphong/dangnhap") as response:
            html = await response.text()
        assert 'name="username"' in html and 'name="password"' in html
        assert 'name="csrf_token"' in html


async def test_clerk_logs_in_takes_a_tip_replies_and_the_sender_sees_it(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site:
        await site.add_staff("lan", "clerk")
        async with aiohttp.ClientSession() as visitor:
            status, html = await submit_tip(visitor, site, WHAT, category="bao_luc_hoc_duong")
            assert status == 200
            code, passphrase = receipt_of(html)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as clerk:
            response = await login(clerk, site, "lan")
            assert response.status == 200 and str(response.url).endswith("/vanphong/")
            cookie = response.history[0].headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
            inbox = await response.text()
            assert code in inbox and "Chưa ai nhận" in inbox and "Khẩn" in inbox
            async with clerk.get(site.url + "/vanphong/", params={"code": code}) as found:
                page = await found.text()
            report_id = int(re.search(r'href="/vanphong/tin/(\d+)"', page).group(1))
            async with clerk.get(f"{site.url}/vanphong/tin/{report_id}") as response:
                html = await response.text()
            assert "ẩn danh" in html and WHAT in html
            for label in ("Tiếp nhận", "Đang xử lý", "Chuyển Công an", "Đã xử lý xong"):
                assert f">{label}</button>" in html
            assert ">Không đủ cơ sở</button>" in html and ">Spam</button>" in html
            assert "Ghi chú nội bộ" in html and "Trả lời người gửi" in html
            csrf = csrf_of(html)
            version = re.search(r'name="version" value="(\d+)"', html).group(1)
            url = f"{site.url}/vanphong/tin/{report_id}"
            take = {"csrf_token": csrf, "version": version}
            async with clerk.post(url + "/nhan", data=take) as response:
                html = await response.text()
                assert response.status == 200
            assert 'id="report-assignee">lan<' in html and "Đã tiếp nhận" in html
            version = re.search(r'name="version" value="(\d+)"', html).group(1)
            note = {"csrf_token": csrf, "version": version, "note": "Đã gọi cho hiệu trưởng."}
            async with clerk.post(url + "/ghichu", data=note) as response:
                html = await response.text()
            version = re.search(r'name="version" value="(\d+)"', html).group(1)
            reply = {"csrf_token": csrf, "version": version, "reply": "Cảm ơn bạn, Sở đang xử lý."}
            async with clerk.post(url + "/traloi", data=reply) as response:
                assert response.status == 200
            async with clerk.get(url + "/phieu") as response:
                sheet = await response.text()
            assert "Phiếu chuyển tin báo" in sheet and "/static/print.css" in sheet
        entries = await site.services.audit.log.latest(20)
        actions = {(e.actor, e.action) for e in entries}
        assert ("staff:lan", "report_claimed") in actions
        assert ("staff:lan", "report_reply") in actions
        assert ("staff:lan", "report_note") in actions
        assert ("staff:lan", "report_status") in actions
        async with aiohttp.ClientSession() as visitor:
            token = await get_token(visitor, site.url + "/tracuu")
            data = {"csrf_token": token, "code": code, "passphrase": passphrase}
            async with visitor.post(site.url + "/tracuu", data=data) as response:
                html = await response.text()
        assert "Cảm ơn bạn, Sở đang xử lý." in html
        assert "Đã gọi cho hiệu trưởng" not in html  # internal notes are never shown


async def test_a_post_without_csrf_token_or_from_elsewhere_is_refused(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site:
        await site.add_staff("lan", "clerk")
        async with aiohttp.ClientSession() as visitor:
            status, html = await submit_tip(visitor, site, WHAT)
            code, _ = receipt_of(html)
        report = await site.services.reports.reports.by_code(code)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as clerk:
            await login(clerk, site, "lan")
            url = f"{site.url}/vanphong/tin/{report.id}/trangthai"
            async with clerk.post(url, data={"action": "spam", "version": "0"}) as response:
                assert response.status == 403
            forged = {"action": "spam", "version": "0", "csrf_token": "x" * 64}
            async with clerk.post(url, data=forged) as response:
                assert response.status == 403
            page = await (await clerk.get(f"{site.url}/vanphong/tin/{report.id}")).text()
            good = {"action": "spam", "version": "0", "csrf_token": csrf_of(page)}
            for elsewhere in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
                async with clerk.post(url, data=good, headers=elsewhere) as response:
                    assert response.status == 403
            no_token = {"username": "lan", "password": PASSWORD}
            async with (
                aiohttp.ClientSession() as other,
                other.post(site.url + "/vanphong/dangnhap", data=no_token) as response,
            ):
                assert response.status == 403
        assert (await site.services.reports.reports.by_code(code)).status == "new"


async def test_two_staff_at_once_cannot_lose_an_update(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site:
        await site.add_staff("lan", "clerk")
        await site.add_staff("minh", "clerk")
        async with aiohttp.ClientSession() as visitor:
            _, html = await submit_tip(visitor, site, WHAT)
            code, _ = receipt_of(html)
        report = await site.services.reports.reports.by_code(code)
        url = f"{site.url}/vanphong/tin/{report.id}"
        jar1, jar2 = aiohttp.CookieJar(unsafe=True), aiohttp.CookieJar(unsafe=True)
        async with (
            aiohttp.ClientSession(cookie_jar=jar1) as a,
            aiohttp.ClientSession(cookie_jar=jar2) as b,
        ):
            await login(a, site, "lan")
            await login(b, site, "minh")
            page_a = await (await a.get(url)).text()
            page_b = await (await b.get(url)).text()
            version = re.search(r'name="version" value="(\d+)"', page_a).group(1)
            data = {"csrf_token": csrf_of(page_a), "version": version, "action": "forwarded"}
            async with a.post(url + "/trangthai", data=data) as response:
                assert response.status == 200
            data = {"csrf_token": csrf_of(page_b), "version": version, "action": "dismissed"}
            async with b.post(url + "/trangthai", data=data) as response:
                assert response.status == 409
                html = await response.text()
            assert "vừa được người khác cập nhật" in html
        assert (await site.services.reports.reports.by_code(code)).status == "forwarded"


async def test_a_viewer_sees_but_cannot_act(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site:
        await site.add_staff("xem", "viewer")
        async with aiohttp.ClientSession() as visitor:
            _, html = await submit_tip(visitor, site, WHAT)
            code, _ = receipt_of(html)
        report = await site.services.reports.reports.by_code(code)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as viewer:
            response = await login(viewer, site, "xem")
            assert code in await response.text()
            page = await (await viewer.get(f"{site.url}/vanphong/tin/{report.id}")).text()
            assert WHAT in page and ">Tiếp nhận</button>" not in page
            assert "Trả lời người gửi" not in page
            data = {"csrf_token": csrf_of(page), "version": "0", "action": "received"}
            url = f"{site.url}/vanphong/tin/{report.id}/trangthai"
            async with viewer.post(url, data=data) as response:
                assert response.status == 403
            url = f"{site.url}/vanphong/tin/{report.id}/traloi"
            async with viewer.post(url, data={**data, "reply": "xin chào"}) as response:
                assert response.status == 403
        assert (await site.services.reports.reports.by_code(code)).status == "new"


async def test_wrong_passwords_are_slowed_then_locked(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site:
        await site.add_staff("lan", "clerk")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            statuses = []
            for _ in range(5):
                response = await login(session, site, "lan", "sai-mat-khau-roi")
                statuses.append(response.status)
            assert statuses == [401, 401, 401, 401, 429]
            response = await login(session, site, "lan")  # the right one, while locked
            assert response.status == 429
            assert "tạm khóa" in await response.text()
        entries = await site.services.audit.log.latest(10)
        assert sum(e.action == "staff_login_failed" for e in entries) == 5


async def test_one_time_password_must_be_changed_and_admin_enrols_totp(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site:
        _, one_time = await site.staff.add("quantri", "Nguyễn Quản Trị", "admin", None, "cli")
        assert one_time
        with pytest.raises(StaffError):
            await site.staff.add("quantri", "Ai đó", "clerk", None, "cli")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as admin:
            response = await login(admin, site, "quantri", one_time)
            assert str(response.url).endswith("/vanphong/doimatkhau")
            html = await response.text()
            async with admin.get(site.url + "/vanphong/", allow_redirects=False) as r:
                assert r.headers["Location"].endswith("/vanphong/doimatkhau")
            data = {
                "csrf_token": csrf_of(html),
                "new_password": "mat-khau-moi-cua-toi",
                "repeat_password": "mat-khau-moi-cua-toi",
            }
            async with admin.post(site.url + "/vanphong/doimatkhau", data=data) as response:
                html = await response.text()
                assert str(response.url).endswith("/vanphong/totp")
            assert "<img" in html and "data:image/svg+xml;base64," in html
            secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1)
            bad = {"csrf_token": csrf_of(html), "code": "000000"}
            async with admin.post(site.url + "/vanphong/totp", data=bad) as response:
                assert response.status == 400
            good = {"csrf_token": csrf_of(html), "code": totp_now(secret)}
            async with admin.post(site.url + "/vanphong/totp", data=good) as response:
                assert str(response.url).endswith("/vanphong/")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as admin:
            response = await login(admin, site, "quantri", "mat-khau-moi-cua-toi")
            assert str(response.url).endswith("/vanphong/xacthuc")
            html = await response.text()
            data = {"csrf_token": csrf_of(html), "code": totp_now(secret)}  # already used
            async with admin.post(site.url + "/vanphong/xacthuc", data=data) as response:
                assert response.status == 401
            # a code is accepted once; forget the used step to play the next 30 seconds
            staff = await site.staff.repo.by_username("quantri")
            async with site.services.db.transaction() as tx:
                await site.staff.repo.set_totp(tx, staff.id, staff.totp_secret, site.staff.now())
            async with admin.post(site.url + "/vanphong/xacthuc", data=data) as response:
                assert str(response.url).endswith("/vanphong/")
            page = await (await admin.get(site.url + "/vanphong/taikhoan")).text()
            async with admin.post(
                site.url + "/vanphong/dangxuat-moi-noi", data={"csrf_token": csrf_of(page)}
            ) as response:
                assert str(response.url).endswith("/vanphong/dangnhap")
            async with admin.get(site.url + "/vanphong/", allow_redirects=False) as response:
                assert response.status == 303


async def test_staff_cli(tmp_path, bundle, monkeypatch, capsys):
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTQ_DATABASE_PATH", str(tmp_path / "cli.db"))
    monkeypatch.setenv("ANTQ_DATA_KEY_FILE", str(tmp_path / "cli.key"))

    def run(*args: str) -> int:
        return asyncio.get_running_loop().run_in_executor(None, main, list(args))

    assert await run("staff", "add", "hoa", "--name", "Lê Thị Hoa", "--role", "clerk") == 0
    out = capsys.readouterr().out
    assert "hoa" in out and re.search(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", out)
    assert await run("staff", "list") == 0
    assert "Lê Thị Hoa" in capsys.readouterr().out
    assert await run("staff", "disable", "hoa") == 0
    assert "đã khóa" in (await run("staff", "list") == 0 and capsys.readouterr().out)
    assert await run("staff", "reset", "hoa") == 0
    assert await run("staff", "disable", "khongco") == 1


async def test_behind_an_https_proxy_cookies_are_secure_and_redirects_public(tmp_path, bundle):
    async def login_cookie(site, headers: dict[str, str], status: int = 303) -> tuple[str, str]:
        async with aiohttp.ClientSession() as session:
            token = await get_token(session, site.url + "/vanphong/dangnhap")
            data = {"csrf_token": token, "username": "lan", "password": PASSWORD}
            async with session.post(
                site.url + "/vanphong/dangnhap", data=data, headers=headers, allow_redirects=False
            ) as response:
                assert response.status == status
                return response.headers.get("Set-Cookie", ""), response.headers.get("Location", "")

    public = "https://antq.example.gov.vn"
    async with running_site(tmp_path / "a", bundle, public_url=public) as site:
        await site.add_staff("lan", "clerk")
        cookie, location = await login_cookie(site, {})
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert location == public + "/vanphong/"
        await login_cookie(site, {"Origin": "http://127.0.0.1:1"}, 403)  # not the public origin
        await login_cookie(site, {"Origin": public})
    async with running_site(tmp_path / "b", bundle) as site:
        await site.add_staff("lan", "clerk")
        cookie, _ = await login_cookie(site, {"X-Forwarded-Proto": "https"})
        assert "Secure" in cookie
        cookie, _ = await login_cookie(site, {})
        assert "Secure" not in cookie


async def test_files_a_chat_channel_stored_are_shown_from_the_file_store(tmp_path, bundle):
    from datetime import UTC, datetime

    from bot.kernel.files import StoredFile
    from storage.reports import ReportFile
    from tests.web_helpers import jpeg_with_gps

    async with running_site(tmp_path, bundle) as site:
        await site.add_staff("lan", "clerk")
        services = site.services
        photo = await services.files.take(jpeg_with_gps(), kind="photo")
        pdf = await services.files.take(b"%PDF-1.4 bien ban", kind="document", file_name='a".pdf')
        assert isinstance(photo, StoredFile) and isinstance(pdf, StoredFile)
        now = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
        async with services.db.transaction() as tx:
            report_id = await services.reports.reports.insert(
                tx, code="TEL1-FILE", anonymous=True, channel=None, chat_id=None,
                category="bao_luc_hoc_duong", unit_code=None,
                body=services.cipher.encrypt_json({"what": WHAT}), passphrase_hash="h", now=now,
            )  # fmt: skip
            refs = [("photo", photo.id), ("document", pdf.id), ("photo", "AgACAgIAAxkB-old")]
            await services.reports.reports.add_files(
                tx,
                report_id,
                [ReportFile(kind, services.cipher.encrypt(ref)) for kind, ref in refs],
                added_by="sender",
                now=now,
            )
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as clerk:
            await login(clerk, site, "lan")
            async with clerk.get(f"{site.url}/vanphong/tin/{report_id}") as response:
                html = await response.text()
            links = re.findall(r'href="/vanphong/tep/(\d+)"', html)
            assert len(set(links)) == 2  # the old Telegram file id is named, not linked
            first, second = sorted(set(links), key=int)
            async with clerk.get(f"{site.url}/vanphong/tep/{first}") as response:
                assert response.headers["Content-Type"] == "image/jpeg"
                assert await response.read() == await services.files.read(photo.id)
            async with clerk.get(f"{site.url}/vanphong/tep/{second}") as response:
                assert response.headers["Content-Type"] == "application/octet-stream"
                assert response.headers["Content-Disposition"].startswith("attachment")
                assert '"a"' not in response.headers["Content-Disposition"]
                assert await response.read() == b"%PDF-1.4 bien ban"


async def test_a_channel_that_needs_its_administrator_shows_a_banner(tmp_path, bundle):
    """Zalo's dead refresh token (its sender's NeedsAdministrator) on every console page."""
    from types import SimpleNamespace

    async with running_site(tmp_path, bundle) as site:
        await site.add_staff("lan", "clerk")
        stopped = SimpleNamespace(needs_administrator="zalo-118", notify=lambda: None)
        site.services.senders["zalo"] = stopped  # type: ignore[assignment]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as clerk:
            await login(clerk, site, "lan")
            async with clerk.get(site.url + "/vanphong/") as response:
                html = await response.text()
        assert "Kênh Zalo đã dừng gửi" in html and "ANTQ_ZALO_REFRESH_TOKEN" in html
