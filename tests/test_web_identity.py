"""What a visitor leaves behind: nothing. No address, forwarded-for, user agent or referrer in the
database (WAL included), in any file beside it, or in any log line."""

from __future__ import annotations

import logging

import aiohttp

from bot.kernel.startup import configure_logging
from tests.web_helpers import get_token, login, receipt_of, running_site, submit_tip

ADDRESS = "203.0.113.77"
AGENT = "DistinctiveAgent/9.9 (probe-7f3a9c)"
REFERRER = "https://referrer.example/trang-bi-mat"
PROBES = [ADDRESS.encode(), b"DistinctiveAgent", b"probe-7f3a9c", b"referrer.example"]


async def test_a_visitor_leaves_no_address_agent_or_referrer_anywhere(
    tmp_path, bundle, caplog, capfd
):
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    headers = {
        "X-Forwarded-For": f"{ADDRESS}, 10.0.0.1",
        "X-Real-IP": ADDRESS,
        "User-Agent": AGENT,
        "Referer": REFERRER,
        "Forwarded": f"for={ADDRESS};proto=https",
    }
    async with running_site(tmp_path, bundle) as site:
        await site.add_staff("lan", "clerk")
        async with aiohttp.ClientSession(headers=headers) as visitor:
            what = "Có đối tượng lạ thường xuyên rủ học sinh chơi cá độ bóng đá qua mạng."
            status, html = await submit_tip(visitor, site, what, headers=headers)
            assert status == 200
            code, passphrase = receipt_of(html)
            assert len(visitor.cookie_jar) == 0  # no cookie at all for a visitor
            token = await get_token(visitor, site.url + "/tracuu")
            for secret in ("sai-roi", passphrase):
                data = {"csrf_token": token, "code": code, "passphrase": secret}
                async with visitor.post(site.url + "/tracuu", data=data) as response:
                    await response.read()
            async with visitor.get(site.url + "/khong-co-trang-nay") as response:
                assert response.status == 404
        staff_headers = {k: v for k, v in headers.items() if k != "Referer"}  # else: 403
        async with aiohttp.ClientSession(
            headers=staff_headers, cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as clerk:
            await login(clerk, site, "lan", "sai-mat-khau-nhe")
            response = await login(clerk, site, "lan")
            assert code in await response.text()
        await site.services.db.fetch_one("SELECT COUNT(*) FROM reports")
        files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
        assert site.database.with_name(site.database.name + "-wal") in files
        for path in files:
            data = path.read_bytes()
            for probe in PROBES:
                assert probe not in data, f"{probe!r} found in {path.name}"
    captured = capfd.readouterr()
    logged = caplog.text + captured.out + captured.err
    assert logged  # something was logged (at DEBUG), and none of it identifies the visitor
    for probe in PROBES:
        assert probe.decode() not in logged
