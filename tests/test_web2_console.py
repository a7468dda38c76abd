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
