"""The bot on Zalo end to end: webhook in, the core's dialogs, CS messages out, over real HTTP
against the fake Zalo OA (sandbox/zalo)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from content import Content
from tests.zalo_world import Person, ZaloWorld, open_zalo_world


@pytest.fixture
async def world(tmp_path: Path, bundle: Content) -> AsyncIterator[ZaloWorld]:
    async for w in open_zalo_world(tmp_path, bundle):
        yield w


async def onboard(lan: Person, unit_search: str = "nguyen du") -> None:
    consent = await lan.expect("Thông báo về dữ liệu cá nhân")
    assert "Zalo" in consent.text and "Telegram" not in consent.text
    await lan.press("Tôi đồng ý")
    await lan.expect("Bạn là ai?")
    await lan.press("Giáo viên / nhân viên")
    await lan.expect("trường hoặc đơn vị nào")
    await lan.say(unit_search)
    await lan.expect("Trường Tiểu học Nguyễn Du")
    await lan.press("Trường Tiểu học Nguyễn Du")
    await lan.expect("tuyên truyền hằng tuần")
    await lan.press("Có, gửi cho tôi")


async def test_follow_greets_and_onboarding_runs_to_its_end(world: ZaloWorld) -> None:
    lan = await world.person()
    await onboard(lan)
    await lan.drain()
    assert world.services is not None
    person = await world.services.people.people.get("zalo", lan.user_id)
    assert person is not None and person.role == "teacher" and person.unit_code == "TH-ND01"
