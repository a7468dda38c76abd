"""Shared by the web tests: the bot's web server on a free loopback port, and form helpers."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
from PIL import Image

from bot.kernel.clock import Clock
from bot.kernel.config import Settings
from bot.kernel.services import Services
from bot.office.staff import StaffService
from content import Content
from handlers.web import WebServer, build_web_app
from storage.units import UnitRepository
from tests.conftest import UNITS, free_port

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "mat-khau-du-dai-2026"


@dataclass
class Site:
    url: str
    services: Services
    staff: StaffService
    database: Path

    async def add_staff(self, username: str, role: str, password: str = PASSWORD) -> None:
        await self.staff.add(username, f"Cán bộ {username}", role, password, "cli")


@asynccontextmanager
async def running_site(tmp_path: Path, bundle: Content, **options: Any) -> AsyncIterator[Site]:
    settings = Settings(
        _env_file=None,
        database_path=tmp_path / "antq.db",
        data_key_file=tmp_path / "antq.key",
        public_url=options.pop("public_url", None),
    )
    services = await Services.open(settings, bundle, Clock(settings.tz))
    await UnitRepository(services.db).upsert_all(UNITS)
    options.setdefault("min_fill_seconds", 0.0)
    options.setdefault("login_slow_step", 0.0)
    app = build_web_app(services, **options)
    port = free_port()
    server = WebServer(app, "127.0.0.1", port)
    await server.start()
    try:
        yield Site(
            f"http://127.0.0.1:{port}",
            services,
            StaffService(services.db, services.cipher, services.clock),
            settings.database_path,
        )
    finally:
        await server.stop()
        await services.close()


def token_of(html: str) -> str:
    match = TOKEN.search(html)
    assert match, html[:500]
    return match.group(1)


async def get_token(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as response:
        assert response.status == 200, await response.text()
        return token_of(await response.text())


async def submit_tip(
    session: aiohttp.ClientSession,
    site: Site,
    what: str,
    *,
    path: str = "/togiac",
    images: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
    headers: dict[str, str] | None = None,
    **fields: str,
) -> tuple[int, str]:
    token = await get_token(session, site.url + path)
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("category", fields.pop("category", "ma_tuy"))
    form.add_field("what", what)
    form.add_field("unit", fields.pop("unit", "Trường THPT Đồng Xoài"))
    for name, value in fields.items():
        form.add_field(name, value)
    for name, data, mime in images:
        form.add_field("images", data, filename=name, content_type=mime)
    async with session.post(site.url + path, data=form, headers=headers) as response:
        return response.status, await response.text()


def receipt_of(html: str) -> tuple[str, str]:
    code = re.search(r'id="receipt-code">([^<]+)<', html)
    passphrase = re.search(r'id="receipt-passphrase">([^<]+)<', html)
    assert code and passphrase, html[:1500]
    return code.group(1), passphrase.group(1)


async def login(
    session: aiohttp.ClientSession, site: Site, username: str, password: str = PASSWORD
) -> aiohttp.ClientResponse:
    token = await get_token(session, site.url + "/vanphong/dangnhap")
    response = await session.post(
        site.url + "/vanphong/dangnhap",
        data={"csrf_token": token, "username": username, "password": password},
    )
    await response.read()
    return response


def totp_now(secret: str) -> str:
    return pyotp.TOTP(secret.replace(" ", "")).now()


def jpeg_with_gps() -> bytes:
    """A small JPEG whose EXIF names a camera and a GPS position."""
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "ProbeCamMaker"  # Make
    exif[0x0110] = "ProbeCam X1"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (10.0, 45.0, 30.0)
    gps[3] = "E"
    gps[4] = (106.0, 40.0, 12.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()
