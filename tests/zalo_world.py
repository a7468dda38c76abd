"""A bot with the Zalo channel and its HTTP server, against the fake Zalo OA, for tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.kernel.clock import ManualClock
from bot.kernel.config import Settings
from bot.kernel.services import Services
from bot.kernel.startup import quiet_libraries
from content import Content
from handlers.web import WebServer, build_web_app
from handlers.zalo.channel import ZaloChannel
from handlers.zalo.settings import ZaloSettings
from sandbox.zalo import NoMessageError, ZaloSandboxClient, ZaloSandboxServer, ZaloSimUser
from sandbox.zalo.client import OaMessage
from sandbox.zalo.config import ZaloSandboxConfig
from sandbox.zalo.models import SimClock
from storage.units import UnitRepository
from tests.conftest import OFFICE_CHAT_ID, TZ, UNITS, free_port

START = datetime(2026, 11, 26, 9, 0, tzinfo=TZ)
PUBLIC_URL = "https://antq.example.gov.vn"


@dataclass
class ZaloWorld:
    fake: ZaloSandboxServer
    control: ZaloSandboxClient
    bundle: Content
    database: Path
    clock: ManualClock
    refresh_token: str
    port: int = field(default_factory=free_port)
    services: Services | None = None
    channel: ZaloChannel | None = None
    http: WebServer | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def settings(self) -> Settings:
        config = self.fake.config
        values: dict[str, Any] = {
            "database_path": self.database,
            "data_key_file": self.database.with_suffix(".key"),
            "office_chat_id": OFFICE_CHAT_ID,
            "org_name": "Sở Giáo dục và Đào tạo Đồng Nai",
            "http_listen": f"127.0.0.1:{self.port}",
            "public_url": PUBLIC_URL,
            "zalo_app_id": config.app_id,
            "zalo_app_secret": config.app_secret,
            "zalo_oa_secret_key": config.oa_secret_key,
            "zalo_refresh_token": self.refresh_token,
            "zalo_api_base_url": self.fake.url,
            "zalo_oauth_base_url": self.fake.url,
            "zalo_oa_id": config.oa_id,
        }
        values.update(self.extra)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    async def start(self) -> None:
        quiet_libraries()  # the logging set-up of `antq run`
        settings = self.settings()
        self.services = await Services.open(settings, self.bundle, self.clock)
        self.channel = ZaloChannel(self.services, ZaloSettings.from_app(settings))
        web_app = build_web_app(self.services)
        self.channel.mount(web_app)
        self.http = WebServer(web_app, "127.0.0.1", self.port)
        await self.channel.start()
        await self.http.start()
        await self.control.set_webhook(f"http://127.0.0.1:{self.port}/zalo/webhook")

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.stop()
            self.http = None
        if self.channel is not None:
            await self.channel.stop()
            self.channel = None
        if self.services is not None:
            await self.services.close()
            self.services = None

    async def crash(self) -> None:
        """Stop without letting the work queue drain (the process died after the 200)."""
        assert self.channel is not None
        await self.channel.inbox.stop()
        await self.stop()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def advance(self, seconds: float) -> None:
        """Both clocks, the bot's and the fake's."""
        self.clock.advance(timedelta(seconds=seconds))
        await self.control.advance(seconds)

    async def person(self, name: str = "Nguyễn Thị Lan", follow: bool = True) -> Person:
        user = await self.control.create_person(name, follow=follow)
        return Person(user, self)

    async def stranger(self, name: str = "Nguyễn Văn Bình") -> Person:
        """A follower whose `follow` the bot never received (they followed before it ran)."""
        assert self.http is not None
        await self.control.set_webhook(None)
        user = await self.control.create_person(name, follow=True)
        await self.control.set_webhook(f"http://127.0.0.1:{self.port}/zalo/webhook")
        return Person(user, self)

    async def idle(self) -> None:
        """Every stored event handled and what the outbox has due sent."""
        assert self.channel is not None
        for _ in range(3):
            await self.channel.inbox.join()
            await asyncio.sleep(0.05)

    @property
    def db(self) -> Any:
        assert self.services is not None
        return self.services.db


class Person:
    """A simulated Zalo person with helpers to read what the OA answered."""

    def __init__(self, user: ZaloSimUser, world: ZaloWorld) -> None:
        self.user = user
        self.world = world

    @property
    def user_id(self) -> str:
        return self.user.user_id

    async def expect(self, fragment: str, timeout: float = 5.0) -> OaMessage:
        """Read messages until one's text or button titles contains `fragment`."""
        seen: list[str] = []
        while True:
            try:
                message = await self.user.next_message(timeout)
            except NoMessageError:
                raise AssertionError(f"no message with {fragment!r}; read: {seen}") from None
            seen.append(message.text[:80])
            if fragment in message.text or any(fragment in t for t in message.titles):
                return message

    async def say(self, text: str) -> None:
        await self.user.send_text(text)

    async def press(self, title: str) -> None:
        await self.user.press(title)

    async def drain(self, wait: float = 0.3) -> list[OaMessage]:
        found: list[OaMessage] = []
        while True:
            try:
                found.append(await self.user.next_message(wait))
            except NoMessageError:
                return found


async def open_zalo_world(
    tmp_path: Path, bundle: Content, config: ZaloSandboxConfig | None = None, **extra: Any
) -> AsyncIterator[ZaloWorld]:
    fake = ZaloSandboxServer(config=config, clock=SimClock(START.timestamp()))
    await fake.start()
    control = ZaloSandboxClient(fake.url)
    grant = await control.grant()
    world = ZaloWorld(
        fake, control, bundle, tmp_path / "antq.db", ManualClock(TZ, START), grant["refresh_token"]
    )
    world.extra.update(extra)
    try:
        services = await Services.open(world.settings(), bundle, world.clock)
        await UnitRepository(services.db).upsert_all(UNITS)
        await services.close()
        await world.start()
        yield world
    finally:
        await world.stop()
        await control.close()
        await fake.stop()
