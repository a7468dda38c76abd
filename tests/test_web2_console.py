"""The whole office in the console (issue 12) over HTTP: dashboard, announcements, deadlines,
units and invitations, outreach, statistics, exports, audit, staff and system."""

from __future__ import annotations

import re

import aiohttp

from tests.web_helpers import login, running_site, token_of


async def clerk_session(site, username: str = "lan", role: str = "clerk") -> aiohttp.ClientSession:
    await site.add_staff(username, role)
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    response = await login(session, site, username)
    assert response.status == 200, await response.text()
    return session


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as response:
        return response.status, await response.text()


async def test_the_dashboard_is_the_first_page_and_links_its_figures(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site:
        clerk = await clerk_session(site)
        async with clerk:
            status, html = await get(clerk, site.url + "/vanphong/")
            assert status == 200, html
            assert "Tổng quan phong trào" in html
            assert 'href="/vanphong/hopthu?unclaimed=1"' in html
            assert re.search(r'id="dash-open">0<', html)
            # part 1's inbox links still work
            async with clerk.get(site.url + "/vanphong/?status=new") as response:
                assert str(response.url).endswith("/vanphong/hopthu?status=new")
            assert token_of(html)


async def test_the_export_streams_a_workbook_and_the_audit_log_names_the_clerk(tmp_path, bundle):
    import io

    import openpyxl

    async with running_site(tmp_path, bundle) as site:
        clerk = await clerk_session(site)
        async with clerk:
            status, html = await get(clerk, site.url + "/vanphong/xuat")
            assert status == 200
            form = {"csrf_token": token_of(html), "tu": "2026-09-01", "den": "2026-12-31"}
            async with clerk.post(site.url + "/vanphong/xuat", data=form) as response:
                assert response.status == 200
                assert "spreadsheetml" in response.headers["Content-Type"]
                assert "attachment" in response.headers["Content-Disposition"]
                body = await response.read()
            book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
            assert len(book.sheetnames) >= 4
            async with clerk.post(site.url + "/vanphong/xuat", data={"tu": "2026-09-01"}) as r:
                assert r.status == 403  # no CSRF token
            status, html = await get(clerk, site.url + "/vanphong/nhatky?ai=staff:lan")
            assert "staff:lan" in html and "Xuất dữ liệu" in html
            status, html = await get(clerk, site.url + "/vanphong/nhatky?ai=nobody")
            assert "Không có mục nào" in html
