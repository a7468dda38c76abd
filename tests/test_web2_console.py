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


async def add_person(site, channel: str, chat_id: str, role: str, unit: str | None) -> None:
    services = site.services
    async with services.db.transaction() as tx:
        await services.reminders.people.save(
            tx, channel=channel, chat_id=chat_id, role=role, unit_code=unit, subscribed=True,
            now=services.clock.now(),
        )  # fmt: skip


async def test_a_clerk_creates_a_deadline_and_the_board_follows_the_heads(tmp_path, bundle):
    from bot.chat.ref import ChatRef

    async with running_site(tmp_path, bundle) as site:
        await add_person(site, "telegram", "501", "head", "THPT-DX01")
        await add_person(site, "zalo", "z-502", "head", "TH-ND01")
        clerk = await clerk_session(site)
        async with clerk:
            status, html = await get(clerk, site.url + "/vanphong/hanchot")
            form = {
                "csrf_token": token_of(html), "title": "Báo cáo sơ kết học kỳ I",
                "description": "Nộp bản scan có chữ ký.", "due": "2030-01-15T17:00",
                "reminders": "3, 1, 0", "scope": "list", "codes": "THPT-DX01, TH-ND01",
            }  # fmt: skip
            async with clerk.post(site.url + "/vanphong/hanchot", data=form) as response:
                assert response.status == 200
                html = await response.text()
                deadline_id = int(str(response.url).rsplit("/", 1)[1])
            assert re.search(r'id="board-not-done">2<', html)
            assert "Đang theo dõi" in html
            bad = dict(form, codes="KHONG-CO")
            async with clerk.post(site.url + "/vanphong/hanchot", data=bad) as response:
                assert response.status == 400 and "KHONG-CO" in await response.text()
            # a head presses "Đã hoàn thành" on Telegram
            outcome = await site.services.reminders.press(
                ChatRef("telegram", "501"), deadline_id, "done"
            )
            assert outcome.dialog == "deadline_done"
            status, html = await get(clerk, f"{site.url}/vanphong/hanchot/{deadline_id}")
            assert re.search(r'id="board-not-done">1<', html)
            assert re.search(r'id="board-on-time">1<', html)
            # a head on Zalo asks for help; the clerk answers from the page
            async with site.services.db.transaction() as tx:
                await site.services.reminders.finish_help(
                    tx, ChatRef("zalo", "z-502"), {"question": "Mẫu báo cáo ở đâu ạ?"},
                    {"deadline_id": str(deadline_id), "unit_code": "TH-ND01",
                     "unit_name": "Trường Tiểu học Nguyễn Du", "title": "Báo cáo"},
                )  # fmt: skip
            status, html = await get(clerk, f"{site.url}/vanphong/hanchot/{deadline_id}")
            assert "Mẫu báo cáo ở đâu ạ?" in html
            question = re.search(r'/traloi/(\d+)"', html).group(1)
            answer = {"csrf_token": token_of(html), "answer": "Mẫu ở trang web của Sở."}
            url = f"{site.url}/vanphong/hanchot/{deadline_id}/traloi/{question}"
            async with clerk.post(url, data=answer) as response:
                html = await response.text()
            assert "Đã trả lời lúc" in html
            counts = await site.services.outbox.repo.counts(kind="deadline_answer")
            assert counts == {"pending": 1}
            # a reminder now to the units not done: the Zalo head only
            url = f"{site.url}/vanphong/hanchot/{deadline_id}/nhac"
            async with clerk.post(url, data={"csrf_token": token_of(html)}) as response:
                html = await response.text()
            assert "Đã xếp 1 tin nhắc" in html
            async with clerk.post(
                site.url + "/vanphong/hanchot/tiendo", data={"csrf_token": token_of(html)}
            ) as response:
                assert "spreadsheetml" in response.headers["Content-Type"]
            url = f"{site.url}/vanphong/hanchot/{deadline_id}/dong"
            async with clerk.post(url, data={"csrf_token": token_of(html)}) as response:
                html = await response.text()
            assert 'id="deadline-state">Đã đóng<' in html
            status, html = await get(clerk, site.url + "/vanphong/nhatky?ai=staff:lan")
            assert "Gửi nhắc hạn chót ngay" in html and "Trả lời câu hỏi" in html


async def test_an_announcement_to_parents_of_one_area_previewed_counted_started_stopped(
    tmp_path, bundle
):
    from storage.zalo import InteractionRepository

    async with running_site(tmp_path, bundle) as site:
        for channel, chat, unit in (
            ("telegram", "601", "MN-HS01"), ("telegram", "602", "THPT-CVA"),
            ("zalo", "z-603", "MN-HS01"), ("zalo", "z-604", "THPT-CVA"),
            ("telegram", "605", "THPT-DX01"),  # another area
        ):  # fmt: skip
            await add_person(site, channel, chat, "parent", unit)
        await add_person(site, "telegram", "606", "head", "MN-HS01")  # not a parent
        async with site.services.db.transaction() as tx:
            await InteractionRepository(site.services.db).record(
                tx, "zalo", "z-603", site.services.clock.now()
            )
        clerk = await clerk_session(site)
        async with clerk:
            status, html = await get(clerk, site.url + "/vanphong/thongbao")
            form = aiohttp.FormData()
            form.add_field("csrf_token", token_of(html))
            form.add_field("text", "Họp phụ huynh <b>thứ Bảy</b> & nhận sổ liên lạc.")
            form.add_field("audience", "parents")
            form.add_field("area", "Phường Trấn Biên")
            form.add_field("channel", "")
            form.add_field("codes", "")
            async with clerk.post(site.url + "/vanphong/thongbao", data=form) as response:
                assert response.status == 200
                html = await response.text()
                url = str(response.url)
            assert 'id="ann-total">4 người nhận<' in html
            assert re.search(r'data-channel="telegram">.*?<td class="num">2</td>', html, re.S)
            zalo_row = re.search(r'data-channel="zalo">(.*?)</tr>', html, re.S).group(1)
            assert re.findall(r'<td class="num">(\d+)</td>', zalo_row) == ["2", "1"]
            assert "<b>thứ Bảy</b>" in html  # Telegram's preview keeps the markup
            zalo = re.search(r'data-piece="1">(.*?)</div>', html, re.S).group(1)
            assert "<b>" not in zalo and "thứ Bảy &amp; nhận" in zalo
            async with clerk.post(url + "/gui", data={"csrf_token": token_of(html)}) as response:
                html = await response.text()
            assert 'id="ann-state">Đang gửi<' in html and 'http-equiv="refresh"' in html
            assert 'id="ann-stop"' in html
            async with clerk.post(url + "/dung", data={"csrf_token": token_of(html)}) as response:
                html = await response.text()
            assert 'id="ann-state">Đã dừng / hủy<' in html
            assert 'id="f-cancelled">4<' in html and 'http-equiv="refresh"' not in html
            status, html = await get(clerk, site.url + "/vanphong/nhatky?ai=staff:lan")
            assert "Gửi thông báo" in html and "Dừng gửi thông báo" in html


STATS = [  # (local day and hour, category, anonymous, status, minutes to the first action, unit)
    ("2026-09-10 08:00", "ma_tuy", False, "resolved", 30, "THPT-DX01"),
    ("2026-09-20 09:00", "ma_tuy", True, "new", None, "THPT-DX01"),
    ("2026-10-05 10:00", "bao_luc_hoc_duong", False, "received", 90, "TH-ND01"),
    ("2026-10-06 10:00", "bao_luc_hoc_duong", False, "resolved", 150, "TH-ND01"),
    ("2026-11-11 15:00", "ma_tuy", True, "spam", None, None),
]


async def seed_reports(site) -> None:
    from datetime import datetime, timedelta

    from storage.db import to_db

    tz = site.services.clock.tz
    async with site.services.db.transaction() as tx:
        for number, (moment, category, anonymous, status, minutes, unit) in enumerate(STATS):
            created = datetime.strptime(moment, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
            first = to_db(created + timedelta(minutes=minutes)) if minutes else None
            await tx.execute(
                "INSERT INTO reports (code, anonymous, channel, chat_id, category, unit_code, "
                "status, body, created_at, updated_at, first_action_at, last_announced_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'x', ?, ?, ?, ?)",
                [f"TEST-{number:04d}", int(anonymous), None if anonymous else "telegram",
                 None if anonymous else str(700 + number), category, unit, status,
                 to_db(created), to_db(created), first, to_db(created)],
            )  # fmt: skip


def bars(html: str, chart: str) -> dict[tuple[str, str], str]:
    """(label, series) -> value of every bar of one inline SVG chart."""
    svg = re.search(rf'<svg[^>]*data-chart="{chart}".*?</svg>', html, re.S).group(0)
    return {
        (m.group(1), m.group(2) or ""): m.group(3)
        for m in re.finditer(
            r'<rect [^>]*data-label="([^"]*)"(?: data-series="([^"]*)")? data-value="([^"]*)"',
            svg,
        )
    }


async def test_the_statistics_charts_match_a_known_data_set(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site:
        await seed_reports(site)
        viewer = await clerk_session(site, "hoa", "viewer")
        async with viewer:
            url = site.url + "/vanphong/thongke?ky=ngay&tu=2026-09-01&den=2026-11-30"
            status, html = await get(viewer, url)
            assert status == 200, html
            assert "Thống kê từ 01/09/2026 đến 30/11/2026" in html
            assert 'id="total-reports">3 / 2<' in html
            categories = bars(html, "by-category")
            drugs = site.services.statistics._category("ma_tuy")
            violence = site.services.statistics._category("bao_luc_hoc_duong")
            assert categories[(drugs, "Tin báo")] == "1"
            assert categories[(drugs, "Tố giác ẩn danh")] == "2"
            assert categories[(violence, "Tin báo")] == "2"
            assert categories[(violence, "Tố giác ẩn danh")] == "0"
            months = bars(html, "by-month")
            assert months == {("09/2026", ""): "2", ("10/2026", ""): "2", ("11/2026", ""): "1"}
            statuses = bars(html, "status-time")
            assert statuses[("10/2026", "Đã tiếp nhận")] == "1"
            assert statuses[("11/2026", "Đã đóng, không xử lý")] == "1"
            assert 'id="median">1 giờ 30 phút<' in html and 'id="p90">2 giờ 30 phút<' in html
            first = bars(html, "first-action")
            assert (
                first[("Trung vị", "Giờ")] == "1.5"
                and first[("90% số tin trong vòng", "Giờ")] == "2.5"
            )
            # the scorecard sorted by reports, most first
            status, html = await get(viewer, url + "&sort=reports&dir=desc")
            order = re.findall(
                r'<tr data-unit="([^"]+)"><td>[^<]*</td><td>[^<]*</td><td class="num">(\d+)', html
            )
            assert order[0][1] == "2" and order[1][1] == "2" and order[2][1] == "0"
            assert 'href="?ky=ngay&amp;tu=2026-09-01&amp;den=2026-11-30&amp;sort=name' in html


async def upload_units(session, site, html: str, name: str, content: bytes):
    form = aiohttp.FormData()
    form.add_field("csrf_token", token_of(html))
    form.add_field("file", content, filename=name, content_type="text/csv")
    async with session.post(site.url + "/vanphong/donvi/nhap", data=form) as response:
        return response.status, await response.text()


async def test_units_import_refuses_a_bad_row_by_line_imports_a_good_file_and_invites(
    tmp_path, bundle
):
    from bot.chat.ref import ChatRef

    header = "Mã đơn vị,Tên đơn vị,Loại hình,Địa bàn\n"
    bad = header + "THCS-NEW1,Trường THCS Mới,THCS,Xã Mới\nTHCS-NEW2,,THCS,Xã Mới\n"
    good = header + "THCS-NEW1,Trường THCS Mới,THCS,Xã Mới\nTHCS-NEW2,Trường THCS Hai,THCS,Xã Mới\n"
    async with running_site(tmp_path, bundle) as site:
        clerk = await clerk_session(site)
        async with clerk:
            status, html = await get(clerk, site.url + "/vanphong/donvi")
            assert status == 200 and "THPT-DX01" in html
            status, html = await upload_units(clerk, site, html, "don_vi.csv", bad.encode())
            assert status == 400
            assert "Dòng 3, cột Tên đơn vị" in html
            assert await site.services.people.units.get("THCS-NEW1") is None  # all or nothing
            status, html = await upload_units(clerk, site, html, "don_vi.csv", good.encode())
            assert status == 200 and 'id="import-done"' in html
            assert (await site.services.people.units.get("THCS-NEW2")).name == "Trường THCS Hai"
            status, html = await get(clerk, site.url + "/vanphong/donvi/THCS-NEW2")
            url = site.url + "/vanphong/donvi/THCS-NEW2/moi"
            async with clerk.post(url, data={"csrf_token": token_of(html)}) as response:
                html = await response.text()
            code = re.search(r'id="invitation-code">([^<]+)<', html).group(1)
            assert f"mã mời {code}" in html and "<svg" in html and 'class="qr"' in html
            # a head types the code on Zalo
            chat = ChatRef("zalo", "z-777")
            redemption = await site.services.invitations.redeem(chat, code)
            assert redemption.dialog_context is not None
            async with site.services.db.transaction() as tx:
                await site.services.invitations.finish(
                    tx, chat, {"subscribe": "yes"}, redemption.dialog_context
                )
            status, html = await get(clerk, site.url + "/vanphong/donvi/THCS-NEW2")
            assert re.search(r'id="unit-heads">Zalo', html)
            assert "Đã dùng" in html
            # a second code, revoked
            async with clerk.post(url, data={"csrf_token": token_of(html)}) as response:
                html = await response.text()
            invitation = re.search(r"/vanphong/moi/(\d+)/thuhoi", html).group(1)
            revoke = f"{site.url}/vanphong/moi/{invitation}/thuhoi"
            async with clerk.post(revoke, data={"csrf_token": token_of(html)}) as response:
                html = await response.text()
            assert "Đã thu hồi" in html
            status, html = await get(clerk, site.url + "/vanphong/nhatky?ai=staff:lan")
            assert "Nhập danh sách đơn vị" in html and "Thu hồi lời mời" in html


async def test_the_outreach_calendar_and_a_week_per_role_and_channel(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site:
        viewer = await clerk_session(site, "hoa", "viewer")
        async with viewer:
            status, html = await get(viewer, site.url + "/vanphong/tuyentruyen")
            assert status == 200, html
            weeks = re.findall(r'data-week="([\d-]+)"', html)
            assert len(weeks) >= 30
            assert "Nghỉ:" in html  # holidays are marked
            week = re.search(r'href="/vanphong/tuyentruyen/([\d-]+)"', html).group(1)
            status, html = await get(viewer, f"{site.url}/vanphong/tuyentruyen/{week}")
            assert status == 200
            for name in ("staff", "head", "parents"):
                assert f'data-version="{name}"' in html
            assert "Bản cho phụ huynh" in html


async def test_staff_and_system_pages_are_for_admins(tmp_path, bundle):
    from storage.backup import backup_database

    async with running_site(tmp_path, bundle) as site:
        await site.staff.add("root", "Quản trị", "admin", "mat-khau-du-dai-2026", "cli")
        clerk = await clerk_session(site)
        async with clerk:
            for path in ("/vanphong/canbo", "/vanphong/hethong"):
                status, _ = await get(clerk, site.url + path)
                assert status == 403
        backup_database(site.database, tmp_path / "sao_luu.db")
        admin = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with admin:
            response = await login(admin, site, "root")
            html = await response.text()
            secret = re.search(r'id="totp-secret">([^<]+)<', html)
            assert secret, html[:3000]
            from tests.web_helpers import totp_now

            code = totp_now(secret.group(1))
            async with admin.post(
                site.url + "/vanphong/totp", data={"csrf_token": token_of(html), "code": code}
            ) as response:
                assert str(response.url).endswith("/vanphong/")
            status, html = await get(admin, site.url + "/vanphong/hethong")
            assert status == 200
            assert "sao_luu.db" in html and 'data-channel="zalo"' in html
            assert "reminders" in html  # a scheduled job
            status, html = await get(admin, site.url + "/vanphong/canbo")
            form = {"csrf_token": token_of(html), "username": "minh", "name": "Trần Minh",
                    "role": "viewer"}  # fmt: skip
            async with admin.post(site.url + "/vanphong/canbo", data=form) as response:
                html = await response.text()
            assert 'id="one-time-password"' in html and 'data-staff="minh"' in html
            url = site.url + "/vanphong/canbo/lan/khoa"
            async with admin.post(url, data={"csrf_token": token_of(html)}) as response:
                html = await response.text()
            row = re.search(r'data-staff="lan">(.*?)</tr>', html, re.S).group(1)
            assert "đã khóa" in row
            status, html = await get(admin, site.url + "/vanphong/nhatky?ai=staff:root")
            assert "Thêm tài khoản cán bộ" in html and "Khóa tài khoản cán bộ" in html


async def test_notices_in_the_console_badge_arrivals_and_a_dead_channel_banner(tmp_path, bundle):
    from types import SimpleNamespace

    from tests.web_helpers import submit_tip

    async with running_site(tmp_path, bundle) as site:
        clerk = await clerk_session(site)
        async with clerk:
            status, html = await get(clerk, site.url + "/vanphong/hanchot")
            assert 'id="unclaimed-badge"' not in html
            assert 'id="arrivals"' in html and 'data-latest="0"' in html
            async with aiohttp.ClientSession() as visitor:
                await submit_tip(visitor, site, "Có người lạ bán thuốc lá điện tử trước cổng.")
            status, html = await get(clerk, site.url + "/vanphong/hanchot")
            assert re.search(r'id="unclaimed-badge"[^>]*>1 chưa nhận<', html)
            async with clerk.get(site.url + "/vanphong/moi?sau=0") as response:
                assert len((await response.json())["rows"]) == 1
            dead = SimpleNamespace(needs_administrator="zalo-118", last_sent_at=None, stats={})
            site.services.senders["zalo"] = dead  # type: ignore[assignment]
            for path in ("/vanphong/", "/vanphong/thongke", "/vanphong/donvi"):
                status, html = await get(clerk, site.url + path)
                assert 'class="alarm" role="alert"' in html and "ANTQ_ZALO_REFRESH_TOKEN" in html


async def test_a_viewer_sees_every_section_but_cannot_act(tmp_path, bundle):
    async with running_site(tmp_path, bundle) as site:
        clerk = await clerk_session(site)
        async with clerk:
            status, html = await get(clerk, site.url + "/vanphong/hanchot")
            form = {
                "csrf_token": token_of(html), "title": "Nộp kế hoạch", "due": "2030-02-01T17:00",
                "scope": "all", "reminders": "1",
            }  # fmt: skip
            async with clerk.post(site.url + "/vanphong/hanchot", data=form) as response:
                deadline_url = str(response.url)
        viewer = await clerk_session(site, "hoa", "viewer")
        async with viewer:
            for path in ("/vanphong/", "/vanphong/thongbao", "/vanphong/hanchot", "/vanphong/donvi",
                         "/vanphong/tuyentruyen", "/vanphong/thongke", "/vanphong/xuat",
                         "/vanphong/nhatky", "/vanphong/donvi/THPT-DX01"):  # fmt: skip
                status, html = await get(viewer, site.url + path)
                assert status == 200, path
                assert 'method="post" action="/vanphong/dangxuat"' in html
                posts = re.findall(r'<form method="post" action="([^"]+)"', html)
                assert posts == ["/vanphong/dangxuat"], (path, posts)
            status, html = await get(viewer, deadline_url)
            assert status == 200 and "Nộp kế hoạch" in html
            assert not re.findall(r'action="/vanphong/hanchot/\d+/', html)
            csrf = token_of(html)
            for path in (
                deadline_url.removeprefix(site.url) + "/huy",
                "/vanphong/hanchot",
                "/vanphong/thongbao",
                "/vanphong/donvi/THPT-DX01/moi",
                "/vanphong/xuat",
            ):
                async with viewer.post(site.url + path, data={"csrf_token": csrf}) as response:
                    assert response.status == 403, path
            for path in ("/vanphong/canbo", "/vanphong/hethong"):
                status, _ = await get(viewer, site.url + path)
                assert status == 403


async def test_an_announcement_with_an_image_goes_into_the_file_store_without_metadata(
    tmp_path, bundle
):
    from tests.web_helpers import jpeg_with_gps

    async with running_site(tmp_path, bundle) as site:
        clerk = await clerk_session(site)
        async with clerk:
            status, html = await get(clerk, site.url + "/vanphong/thongbao")
            form = aiohttp.FormData()
            form.add_field("csrf_token", token_of(html))
            form.add_field("text", "Ảnh buổi chào cờ <i>tuần này</i>.")
            form.add_field("audience", "heads")
            form.add_field("image", jpeg_with_gps(), filename="IMG_0001.jpg",
                           content_type="image/jpeg")  # fmt: skip
            async with clerk.post(site.url + "/vanphong/thongbao", data=form) as response:
                assert response.status == 200
                html = await response.text()
                announcement_id = int(str(response.url).rsplit("/", 1)[1])
            assert "Kèm ảnh" in html
            announcement = await site.services.announcements.repo.get(announcement_id)
            stored = await site.services.files.read(announcement.photo_ref)
            assert b"ProbeCam" not in stored and b"GPS" not in stored
            bad = aiohttp.FormData()
            bad.add_field("csrf_token", token_of(html))
            bad.add_field("text", "Tệp lạ")
            bad.add_field("audience", "heads")
            bad.add_field("image", b"%PDF-1.4 not an image", filename="a.pdf",
                          content_type="application/pdf")  # fmt: skip
            async with clerk.post(site.url + "/vanphong/thongbao", data=bad) as response:
                assert response.status == 400
                assert "Không dùng được ảnh này" in await response.text()
            unpaired = aiohttp.FormData()
            unpaired.add_field("csrf_token", token_of(html))
            unpaired.add_field("text", "Chữ <b>đậm chưa đóng")
            unpaired.add_field("audience", "heads")
            async with clerk.post(site.url + "/vanphong/thongbao", data=unpaired) as response:
                assert response.status == 400
                assert "Định dạng chưa khớp" in await response.text()
