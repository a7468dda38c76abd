"""Staff notices on Zalo (issue 11, item 9), over HTTP: a clerk links their Zalo from the console
with a one-time code typed to the fake OA, then gets a short message with an `oa.open.url` button
to the report's console page when a report arrives or stays unclaimed; viewers, disabled or
unlinked accounts get none."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.chat.reply import Button, Reply
from bot.office.notices import KIND, code_hash, new_code, normalize
from bot.office.staff import StaffService
from content import Content
from handlers.telegram.render import keyboard_of
from handlers.web.app import STATE
from handlers.web.security import PublicOrigin
from tests.web_helpers import PASSWORD, get_token, token_of
from tests.zalo_world import PUBLIC_URL, Person, ZaloWorld, open_zalo_world

WHAT = "Có người lạ rủ học sinh lớp 9A vào quán net Hoa Mai sau giờ học buổi chiều."
LINK_CODE = re.compile(r'id="staff-link-code">mã cán bộ ([A-Z2-7-]+)<')


@pytest.fixture
async def world(tmp_path: Path, bundle: Content) -> AsyncIterator[ZaloWorld]:
    async for w in open_zalo_world(tmp_path, bundle):
        assert w.http is not None
        web_state = w.http.app[STATE]
        web_state.min_fill_seconds = 0.0  # the tip form in a test is quick
        # the pages themselves over plain loopback HTTP (the notices still link to PUBLIC_URL)
        web_state.origin = PublicOrigin(None)
        yield w


def base(world: ZaloWorld) -> str:
    return f"http://127.0.0.1:{world.port}"


async def add_staff(world: ZaloWorld, username: str, role: str) -> StaffService:
    assert world.services is not None
    staff = StaffService(world.services.db, world.services.cipher, world.clock)
    await staff.add(username, f"Cán bộ {username}", role, PASSWORD, "cli")
    return staff


async def logged_in(world: ZaloWorld, username: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    token = await get_token(session, base(world) + "/vanphong/dangnhap")
    async with session.post(
        base(world) + "/vanphong/dangnhap",
        data={"csrf_token": token, "username": username, "password": PASSWORD},
    ) as response:
        assert response.status == 200, await response.text()
    return session


async def notices_page(session: aiohttp.ClientSession, world: ZaloWorld) -> str:
    async with session.get(base(world) + "/vanphong/taikhoan/zalo") as response:
        assert response.status == 200
        return await response.text()


async def link(world: ZaloWorld, session: aiohttp.ClientSession, person: Person) -> None:
    page = await notices_page(session, world)
    found = LINK_CODE.search(page)
    assert found, page
    await person.say(f"Mã cán bộ {found.group(1)}")
    await person.expect("Đã liên kết tài khoản")
    assert "Đã liên kết" in await notices_page(session, world)


async def send_tip(world: ZaloWorld, what: str = WHAT) -> str:
    async with aiohttp.ClientSession() as session:
        token = await get_token(session, base(world) + "/togiac")
        form = {"csrf_token": token, "category": "ma_tuy", "what": what, "unit": "THPT"}
        async with session.post(base(world) + "/togiac", data=form) as response:
            html = await response.text()
            assert response.status == 200, html[:800]
    code = re.search(r'id="receipt-code">([^<]+)<', html)
    assert code, html[:800]
    return code.group(1)


async def report_id(world: ZaloWorld, code: str) -> int:
    assert world.services is not None
    report = await world.services.reports.reports.by_code(code)
    assert report is not None
    return report.id


async def test_a_linked_clerk_gets_a_notice_with_a_button_to_the_report(world: ZaloWorld) -> None:
    await add_staff(world, "thu.clerk", "clerk")
    clerk = await world.person("Trần Thị Thu")
    await clerk.drain()
    async with await logged_in(world, "thu.clerk") as session:
        page = await notices_page(session, world)
        assert "Nhận thông báo qua Zalo" in page and "Chưa liên kết" in page
        await link(world, session, clerk)
    await clerk.drain()

    code = await send_tip(world)
    await world.idle()
    notice = await clerk.expect(code)
    assert notice.text.endswith("mới.")
    assert "lớp 9A" not in notice.text and "Hoa Mai" not in notice.text
    url = f"{PUBLIC_URL}/vanphong/tin/{await report_id(world, code)}"
    assert [(b.type, b.payload) for b in notice.buttons] == [("oa.open.url", {"url": url})]

    assert world.services is not None
    rows = await world.db.fetch_all("SELECT kind, channel FROM outbox WHERE kind = ?", [KIND])
    assert [tuple(r) for r in rows] == [(KIND, "zalo")]
    audit = await world.db.fetch_all(
        "SELECT actor, subject, details FROM audit_log WHERE action = 'staff_linked'"
    )
    assert [tuple(r) for r in audit] == [("staff:thu.clerk", "thu.clerk", "zalo")]
    assert clerk.user_id not in str([tuple(r) for r in audit])


async def test_unclaimed_reports_are_noticed_again(world: ZaloWorld) -> None:
    await add_staff(world, "thu.clerk", "clerk")
    clerk = await world.person("Trần Thị Thu")
    async with await logged_in(world, "thu.clerk") as session:
        await link(world, session, clerk)
    code = await send_tip(world)
    await world.idle()
    await clerk.expect(code)
    await clerk.say("xin chào")  # Zalo's window stays open: the clerk wrote to the OA lately
    await clerk.drain()
    assert world.services is not None
    await world.advance(world.services.desk.reannounce_after.total_seconds() + 60)
    assert await world.services.desk.reannounce_unclaimed() == 1
    await world.idle()
    again = await clerk.expect(code)
    assert "chưa ai tiếp nhận" in again.text
    assert again.buttons[0].type == "oa.open.url"


async def test_wrong_and_expired_codes_are_refused(world: ZaloWorld) -> None:
    await add_staff(world, "thu.clerk", "clerk")
    clerk = await world.person("Trần Thị Thu")
    await clerk.drain()
    await clerk.say("mã cán bộ " + new_code())
    await clerk.expect("không đúng hoặc đã hết hạn")
    await clerk.say("mã cán bộ 1234")
    await clerk.expect("không đúng hoặc đã hết hạn")
    async with await logged_in(world, "thu.clerk") as session:
        found = LINK_CODE.search(await notices_page(session, world))
        assert found
        await world.advance(31 * 60)
        await clerk.say(f"mã cán bộ {found.group(1)}")
        await clerk.expect("không đúng hoặc đã hết hạn")
    rows = await world.db.fetch_all("SELECT * FROM staff_chats")
    assert rows == []


async def test_viewers_disabled_and_unlinked_accounts_get_no_notice(world: ZaloWorld) -> None:
    await add_staff(world, "an.viewer", "viewer")
    staff = await add_staff(world, "binh.clerk", "clerk")
    await add_staff(world, "chi.clerk", "clerk")
    viewer = await world.person("Lê An")
    leaver = await world.person("Phạm Bình")
    unlinker = await world.person("Võ Chi")
    async with await logged_in(world, "an.viewer") as session:
        assert "chỉ có quyền xem" in await notices_page(session, world)
        page = await notices_page(session, world)
        found = LINK_CODE.search(page)
        assert found
        await viewer.say(f"mã cán bộ {found.group(1)}")
        await viewer.expect("chỉ có quyền xem")
    async with await logged_in(world, "binh.clerk") as session:
        await link(world, session, leaver)
    await staff.disable("binh.clerk", "cli")
    async with await logged_in(world, "chi.clerk") as session:
        await link(world, session, unlinker)
        page = await notices_page(session, world)
        async with session.post(
            base(world) + "/vanphong/taikhoan/zalo/huy", data={"csrf_token": "forged"}
        ) as response:
            assert response.status == 403
        async with session.post(
            base(world) + "/vanphong/taikhoan/zalo/huy", data={"csrf_token": token_of(page)}
        ) as response:
            text = await response.text()
            assert response.status == 200 and "Đã hủy liên kết" in text
            assert "Chưa liên kết" in text
    for person in (viewer, leaver, unlinker):
        await person.drain()

    code = await send_tip(world)
    await world.idle()
    for person in (viewer, leaver, unlinker):
        assert not [m for m in await person.drain(0.5) if code in m.text]
    rows = await world.db.fetch_all("SELECT count(*) FROM outbox WHERE kind = ?", [KIND])
    assert rows[0][0] == 0


async def test_without_a_public_url_the_notice_says_to_open_the_console(
    world: ZaloWorld,
) -> None:
    assert world.services is not None
    notices = world.services.desk.notices
    notices.public_url = None
    report = await world.services.reports.reports.by_code(await send_tip(world))
    assert report is not None
    reply = notices.notice(report, unclaimed=False)
    assert reply.buttons == [] and "Mở bàn làm việc" in reply.text


def test_codes_are_96_random_bits_kept_as_hashes() -> None:
    code = new_code()
    flat = normalize(code)
    assert flat is not None and len(flat) == 20 and code.count("-") == 4
    assert normalize(code.lower().replace("-", " ")) == flat
    assert normalize("ABC") is None
    assert code_hash(flat) != flat and len(code_hash(flat)) == 64
    assert new_code() != code


def test_a_url_button_on_telegram_opens_the_page() -> None:
    reply = Reply("x", [Button("Mở", "", url="https://antq.example/vanphong/tin/1")])
    markup = keyboard_of(reply.buttons)
    assert markup is not None
    button = markup.inline_keyboard[0][0]
    assert button.url == "https://antq.example/vanphong/tin/1" and button.callback_data is None


async def test_outside_zalo_window_a_notice_waits_for_the_clerks_next_message(
    world: ZaloWorld,
) -> None:
    await add_staff(world, "thu.clerk", "clerk")
    clerk = await world.person("Trần Thị Thu")
    async with await logged_in(world, "thu.clerk") as session:
        await link(world, session, clerk)
    await clerk.drain()
    await world.advance(49 * 3600)  # past Zalo's free 48 hours; staff notices are never paid
    code = await send_tip(world)
    await world.idle()
    assert not [m for m in await clerk.drain(0.5) if code in m.text]
    waiting = await world.db.fetch_all(
        "SELECT state, not_before FROM outbox WHERE kind = ?", [KIND]
    )
    assert len(waiting) == 1 and waiting[0][0] == "pending"
    await clerk.say("chào trợ lý")
    await world.idle()
    notice = await clerk.expect(code)
    assert notice.buttons[0].type == "oa.open.url" and not notice.billed
