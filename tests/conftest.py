"""Shared fixtures: a sandbox Bot API server on loopback and the real bot application against it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram.ext import Application

import content
from bot.app import build_application, start_bot, stop_bot
from bot.kernel.clock import ManualClock
from bot.kernel.config import Mode, Settings
from bot.kernel.services import Services
from bot.kernel.startup import quiet_libraries
from content import Content
from sandbox.telegram import LimitsConfig, SandboxClient, SandboxServer, SimUser
from storage.units import Unit, UnitRepository

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BOT_TOKEN = "123456:TEST-sandbox-token"
OFFICE_CHAT_ID = -1001000000001
CLERK_ID = 90001

UNITS = [
    Unit("THPT-DX01", "Trường THPT Đồng Xoài", "THPT", "Phường Đồng Xoài"),
    Unit("TH-ND01", "Trường Tiểu học Nguyễn Du", "Tiểu học", "Phường Bình Phước"),
    Unit("THCS-TP01", "Trường THCS Tân Phú", "THCS", "Xã Tân Phú"),
    Unit("MN-HS01", "Trường Mầm non Hoa Sen", "Mầm non", "Phường Trấn Biên"),
    Unit("THPT-CVA", "Trường THPT Chu Văn An", "THPT", "Phường Trấn Biên"),
    Unit("THPT-QT", "Trường THPT Chuyên Quang Trung", "THPT", "Phường Bình Phước"),
    Unit("TH-LN02", "Trường Tiểu học Lộc Ninh", "Tiểu học", "Xã Lộc Ninh"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def bundle() -> Content:
    return content.load()


@dataclass
class Harness:
    """One sandbox, one database, and a bot that can be stopped and started again on them."""

    sandbox: SandboxServer
    client: SandboxClient
    bundle: Content
    database: Path
    clock: ManualClock
    mode: Mode = Mode.POLLING
    services: Services | None = None
    app: Application | None = None
    _users: list[SimUser] = field(default_factory=list)

    def settings(self) -> Settings:
        extra = {}
        if self.mode is Mode.WEBHOOK:
            port = free_port()
            extra = {
                "webhook_url": f"http://127.0.0.1:{port}/telegram",
                "webhook_listen": f"127.0.0.1:{port}",
                "webhook_secret": "sandbox-secret",
            }
        return Settings(
            _env_file=None,
            bot_token=BOT_TOKEN,
            api_base_url=self.sandbox.url,
            mode=self.mode,
            database_path=self.database,
            data_key_file=self.database.with_suffix(".key"),
            office_chat_id=OFFICE_CHAT_ID,
            office_admins=str(CLERK_ID),
            org_name="Sở Giáo dục và Đào tạo Đồng Nai",
            **extra,
        )

    async def start(self) -> None:
        quiet_libraries()  # the logging set-up of `antq run`
        self.services = await Services.open(self.settings(), self.bundle, self.clock)
        self.app = build_application(self.services)
        await start_bot(self.app, self.services)

    async def stop(self) -> None:
        if self.app is not None:
            await stop_bot(self.app)
            self.app = None
        if self.services is not None:
            await self.services.close()
            self.services = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def user(self, first_name: str = "Lan", **kwargs: object) -> SimUser:
        user = await self.client.create_user(first_name=first_name, **kwargs)
        self._users.append(user)
        return user


async def _harness(tmp_path: Path, mode: Mode, bundle: Content) -> AsyncIterator[Harness]:
    # A test answers faster than any person could, so a private chat may burst; flood control
    # itself is exercised in test_sandbox.py and by the outbox's tests.
    server = SandboxServer(limits=LimitsConfig(chat_burst=50))
    await server.start()
    client = SandboxClient(server.url)
    clock = ManualClock(TZ, datetime(2026, 11, 26, 9, 0, tzinfo=TZ))
    harness = Harness(server, client, bundle, tmp_path / "antq.db", clock, mode)
    try:
        async with client:
            harness.services = await Services.open(harness.settings(), bundle, clock)
            await UnitRepository(harness.services.db).upsert_all(UNITS)
            await harness.services.close()
            harness.services = None
            await harness.start()
            yield harness
    finally:
        await harness.stop()
        await server.stop()


@pytest.fixture
async def harness(tmp_path: Path, bundle: Content) -> AsyncIterator[Harness]:
    async for h in _harness(tmp_path, Mode.POLLING, bundle):
        yield h


@pytest.fixture
async def webhook_harness(tmp_path: Path, bundle: Content) -> AsyncIterator[Harness]:
    async for h in _harness(tmp_path, Mode.WEBHOOK, bundle):
        yield h
