"""The fake Zalo OA (sandbox/zalo) over real HTTP: OAuth, CS rules, uploads, faults, webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sandbox.zalo import ZaloSandboxClient, ZaloSandboxServer
from sandbox.zalo.media import has_gps, jpeg_with_gps, pdf_bytes
from sandbox.zalo.models import DAY, HOUR, SimClock

NIGHT_START = 1_795_100_400.0  # 2026-11-20 22:00 Asia/Ho_Chi_Minh (15:00 UTC)
DAYTIME = NIGHT_START - 10 * HOUR  # 12:00 local


@dataclass
class Zalo:
    server: ZaloSandboxServer
    client: ZaloSandboxClient
    http: aiohttp.ClientSession
    token: str = ""
    refresh: str = ""

    async def call(
        self, method: str, path: str, body: Any = None, token: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        headers = {"access_token": self.token if token is None else token}
        async with self.http.request(
            method, self.server.url + path, json=body, headers=headers, **kwargs
        ) as response:
            assert response.status == 200
            result: dict[str, Any] = await response.json()
            return result

    async def send(self, user_id: str, message: dict[str, Any], token: str | None = None) -> Any:
        body = {"recipient": {"user_id": user_id}, "message": message}
        return await self.call("POST", "/v3.0/oa/message/cs", body, token)

    async def refresh_token(self, refresh: str, secret: str | None = None) -> dict[str, Any]:
        form = {
            "app_id": self.server.config.app_id,
            "grant_type": "refresh_token",
            "refresh_token": refresh,
        }
        headers = {"secret_key": secret or self.server.config.app_secret}
        async with self.http.post(
            self.server.url + "/v4/oa/access_token", data=form, headers=headers
        ) as response:
            result: dict[str, Any] = await response.json()
            return result

    async def upload(self, kind: str, data: bytes, filename: str) -> dict[str, Any]:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=filename)
        return await self.call("POST", f"/v2.0/oa/upload/{kind}", data=form)


@pytest.fixture
async def zalo() -> AsyncIterator[Zalo]:
    server = ZaloSandboxServer(clock=SimClock(DAYTIME))
    await server.start()
    client = ZaloSandboxClient(server.url)
    async with aiohttp.ClientSession() as http, client:
        z = Zalo(server, client, http)
        pair = await client.grant()
        z.token, z.refresh = pair["access_token"], pair["refresh_token"]
        try:
            yield z
        finally:
            await server.stop()


@dataclass
class Receiver:
    """A webhook endpoint that records what arrived and answers as told."""

    url: str = ""
    bodies: list[tuple[bytes, str]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, then 200
    delay: float = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.bodies.append((raw, request.headers.get("X-ZEvent-Signature", "")))
        if self.delay:
            delay, self.delay = self.delay, 0.0
            await asyncio.sleep(delay)
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw, _ in self.bodies]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/zalo/webhook", rec.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/zalo/webhook"
    try:
        yield rec
    finally:
        await runner.cleanup()


# --------------------------------------------------------------------------- OAuth


async def test_tokens_rotate_expire_and_refresh_tokens_work_once(zalo: Zalo) -> None:
    person = await zalo.client.create_person()
    assert int(person.user_id) > 2**63 and isinstance(person.user_id, str)
    answer = await zalo.refresh_token(zalo.refresh)
    assert isinstance(answer["expires_in"], str) and answer["expires_in"] == "90000"
    assert answer["refresh_token"] != zalo.refresh
    again = await zalo.refresh_token(zalo.refresh)
    assert again["error"] == -118
    wrong_secret = await zalo.refresh_token(answer["refresh_token"], secret="nope")
    assert wrong_secret["error"] == -14002
    ok = await zalo.send(person.user_id, {"text": "xin chào"}, answer["access_token"])
    assert ok["error"] == 0 and int(ok["data"]["message_id"]) > 2**63
    await zalo.client.advance(90001)
    expired = await zalo.send(person.user_id, {"text": "xin chào"}, answer["access_token"])
    assert expired["error"] == -216
    assert (await zalo.send(person.user_id, {"text": "x"}, "garbage"))["error"] == -216
    await zalo.client.configure(dead_refresh_code=-14014)
    await zalo.client.revoke_refresh_tokens()
    assert (await zalo.refresh_token(answer["refresh_token"]))["error"] == -14014


async def test_expire_now_through_the_control_api(zalo: Zalo) -> None:
    person = await zalo.client.create_person()
    await zalo.client.expire_tokens()
    assert (await zalo.send(person.user_id, {"text": "x"}))["error"] == -216


# ------------------------------------------------------------------------ messages


async def test_text_limit_counts_utf16_units(zalo: Zalo) -> None:
    person = await zalo.client.create_person()
    assert (await zalo.send(person.user_id, {"text": "😀" * 1000}))["error"] == 0
    assert (await zalo.send(person.user_id, {"text": "😀" * 1000 + "a"}))["error"] == -210
    assert (await zalo.send(person.user_id, {"text": "a" * 2001}))["error"] == -210
    assert (await zalo.send(person.user_id, {"text": "  "}))["error"] == -201


def _buttons(n: int, text: str = "Chọn") -> dict[str, Any]:
    buttons = [{"title": f"Nút {i}", "type": "oa.query.hide", "payload": f"p{i}"} for i in range(n)]
    return {"text": text, "attachment": {"type": "template", "payload": {"buttons": buttons}}}


async def test_button_rules(zalo: Zalo) -> None:
    person = await zalo.client.create_person()
    assert (await zalo.send(person.user_id, _buttons(5)))["error"] == 0
    assert (await zalo.send(person.user_id, _buttons(6)))["error"] == -201
    assert (await zalo.send(person.user_id, _buttons(2, text="")))["error"] == -201
    blank = _buttons(1)
    blank["attachment"]["payload"]["buttons"][0]["title"] = " "
    assert (await zalo.send(person.user_id, blank))["error"] == -201
    empty_payload = _buttons(1)
    empty_payload["attachment"]["payload"]["buttons"][0]["payload"] = ""
    assert (await zalo.send(person.user_id, empty_payload))["error"] == -201
    url = _buttons(1)
    url["attachment"]["payload"]["buttons"] = [
        {"title": "Web", "type": "oa.open.url", "payload": {"url": "https://example.org/togiac"}},
        {"title": "Gọi", "type": "oa.open.phone", "payload": {"phone_code": "113"}},
    ]
    assert (await zalo.send(person.user_id, url))["error"] == 0
    await zalo.client.configure(require_template_type=True)
    assert (await zalo.send(person.user_id, _buttons(1)))["error"] == -201
    seen = await person.messages()
    assert [m.titles for m in seen] == [[f"Nút {i}" for i in range(5)], ["Web", "Gọi"]]
    pressed = await person.press("Web")
    assert pressed["payload"] == {"url": "https://example.org/togiac"}


async def test_window_rules_and_counts(zalo: Zalo) -> None:
    person = await zalo.client.create_person()
    await person.idle(47 * HOUR)
    assert (await zalo.send(person.user_id, {"text": "a"}))["error"] == 0
    await person.idle(3 * DAY)
    assert (await zalo.send(person.user_id, {"text": "b"}))["error"] == 0
    await person.idle(7 * DAY + 1)
    assert (await zalo.send(person.user_id, {"text": "c"}))["error"] == -230
    await person.send_text("chào")  # an interaction opens the window again
    assert (await zalo.send(person.user_id, {"text": "d"}))["error"] == 0
    await person.unfollow()
    assert (await zalo.send(person.user_id, {"text": "e"}))["error"] == -213
    await person.follow()
    await person.block()
    assert (await zalo.send(person.user_id, {"text": "f"}))["error"] == -217
    stats = await zalo.client.stats()
    assert (stats["cs_free"], stats["cs_billed"]) == (2, 1)
    assert stats["errors"] == {"-230": 1, "-213": 1, "-217": 1}
    assert [m.billed for m in await person.messages()] == [False, True, False]


async def test_rate_limit_per_minute(zalo: Zalo) -> None:
    person = await zalo.client.create_person()
    await zalo.client.configure(rate_per_minute=3)
    codes = [(await zalo.send(person.user_id, {"text": str(i)}))["error"] for i in range(4)]
    assert codes == [0, 0, 0, -32]
    await zalo.client.advance(61)
    assert (await zalo.send(person.user_id, {"text": "later"}))["error"] == 0


async def test_fault_injection(zalo: Zalo) -> None:
    person = await zalo.client.create_person()
    await zalo.client.fail_next("message_cs", -32, count=2)
    codes = [(await zalo.send(person.user_id, {"text": str(i)}))["error"] for i in range(3)]
    assert codes == [-32, -32, 0]
    await zalo.client.fail_next("message_cs", delay=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await zalo.send(person.user_id, {"text": "slow"}))["error"] == 0
    assert loop.time() - started >= 0.3
    assert (await zalo.client.stats())["faults_injected"] == 3


# ------------------------------------------------------------------------ uploads


async def test_uploads_keep_bytes_and_expire(zalo: Zalo) -> None:
    person = await zalo.client.create_person()
    photo = jpeg_with_gps()
    image = await zalo.upload("image", photo, "a.jpg")
    attachment_id = image["data"]["attachment_id"]
    view, data = await zalo.client.upload(attachment_id)
    assert data == photo and view["content_type"] == "image/jpeg"
    assert (await zalo.upload("image", b"GIF89a....", "a.gif"))["error"] == -201
    big = b"\xff\xd8\xff" + b"\x00" * (1024 * 1024)
    assert (await zalo.upload("image", big, "big.jpg"))["error"] == -210
    document = await zalo.upload("file", pdf_bytes(), "a.pdf")
    token = document["data"]["token"]
    assert (await zalo.upload("file", b"MZ\x90\x00", "a.exe"))["error"] == -201
    media = {
        "text": "Ảnh",
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "media",
                "elements": [{"media_type": "image", "attachment_id": attachment_id}],
            },
        },
    }
    assert (await zalo.send(person.user_id, media))["error"] == 0
    file_message = {"attachment": {"type": "file", "payload": {"token": token}}}
    assert (await zalo.send(person.user_id, file_message))["error"] == 0
    kinds = [(m.kind, m.filename) for m in await person.messages()]
    assert kinds == [("image", "a.jpg"), ("file", "a.pdf")]
    await zalo.client.advance(7 * DAY)
    await person.send_text("vẫn ở đây")
    zalo.token = (await zalo.client.grant())["access_token"]  # the old one expired after 25 h
    assert (await zalo.send(person.user_id, media))["error"] == -100
    assert (await zalo.send(person.user_id, file_message))["error"] == -100


# ------------------------------------------------ templates, broadcast, user detail


async def test_templates_broadcast_and_night_rule(zalo: Zalo) -> None:
    a = await zalo.client.create_person("An")
    b = await zalo.client.create_person("Bình")
    await b.idle(30 * DAY)  # templates and broadcasts ignore the CS window
    body = {
        "recipient": {"user_id": b.user_id},
        "template_id": "301234",
        "template_data": {"deadline": "30/11"},
    }
    answer = await zalo.call("POST", "/v3.0/oa/message/template", body)
    assert answer["error"] == 0 and answer["data"]["user_id"] == b.user_id
    article = await zalo.client.add_article("Tuần này: an toàn giao thông")
    cast = {
        "recipient": {"target": {"gender": "0"}},
        "message": {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "article", "attachment_id": article}],
                },
            }
        },
    }
    assert (await zalo.call("POST", "/v2.0/oa/message", cast))["error"] == 0
    v2_cs = {"recipient": {"user_id": a.user_id}, "message": {"text": "x"}}
    assert (await zalo.call("POST", "/v2.0/oa/message", v2_cs))["error"] == -240
    await zalo.client.configure(promotion_templates=["999"], broadcast_quota=2)
    await zalo.client.set_clock(NIGHT_START + 60)
    assert (await zalo.call("POST", "/v2.0/oa/message", cast))["error"] == -234
    body["template_id"] = "999"
    assert (await zalo.call("POST", "/v3.0/oa/message/template", body))["error"] == -234
    body["template_id"] = "301234"
    assert (await zalo.call("POST", "/v3.0/oa/message/template", body))["error"] == 0
    await zalo.client.set_clock(NIGHT_START + 8 * HOUR + 5 * 60)  # 06:05
    assert (await zalo.call("POST", "/v2.0/oa/message", cast))["error"] == 0
    assert (await zalo.call("POST", "/v2.0/oa/message", cast))["error"] == -211
    stats = await zalo.client.stats()
    assert (stats["templates"], stats["broadcasts"], stats["broadcast_recipients"]) == (2, 2, 4)
    assert [m.kind for m in await b.messages()] == ["template", "article", "template", "article"]


async def test_user_detail(zalo: Zalo) -> None:
    person = await zalo.client.create_person("Trần Thị Hoa")
    query = json.dumps({"user_id": person.user_id})
    answer = await zalo.call("GET", "/v3.0/oa/user/detail", params={"data": query})
    assert answer["data"]["display_name"] == "Trần Thị Hoa"
    assert answer["data"]["user_is_follower"] is True
    assert (await zalo.client.stats())["user_details"] == 1


# ------------------------------------------------------------------------ webhooks


def _valid(raw: bytes, header: str, app_id: str, secret: str) -> bool:
    timestamp = json.loads(raw)["timestamp"]
    digest = hashlib.sha256(app_id.encode() + raw + timestamp.encode() + secret.encode())
    return header == "mac=" + digest.hexdigest()


async def test_webhook_events_are_signed_and_carry_what_zalo_sends(
    zalo: Zalo, receiver: Receiver
) -> None:
    config = zalo.server.config
    await zalo.client.set_webhook(receiver.url)
    person = await zalo.client.create_person("Lan")
    assert (await zalo.send(person.user_id, _buttons(2)))["error"] == 0
    await person.press("Nút 1")
    photo = await person.send_image()
    await person.send_location(11.5, 106.9)
    await person.send_file()
    await person.send_sticker()
    await person.submit_info("Lan", "0912345678")
    await person.seen()
    await zalo.server.webhook.drain()
    events = receiver.events()
    names = [e["event_name"] for e in events]
    assert names[0] == "follow" and "oa_send_text" in names
    assert [n for n in names if n.startswith("user_")] == [
        "user_send_text",
        "user_send_image",
        "user_send_location",
        "user_send_file",
        "user_send_sticker",
        "user_submit_info",
        "user_seen_message",
    ]
    for raw, header in receiver.bodies:
        assert _valid(raw, header, config.app_id, config.oa_secret_key)
        assert isinstance(json.loads(raw)["timestamp"], str)
    pressed = next(e for e in events if e["event_name"] == "user_send_text")
    assert pressed["message"]["text"] == "p1" and pressed["message"]["msg_id"]
    location = next(e for e in events if e["event_name"] == "user_send_location")
    coords = location["message"]["attachments"][0]["payload"]["coordinates"]
    assert coords == {"latitude": "11.5", "longitude": "106.9"}
    echo = next(e for e in events if e["event_name"] == "oa_send_text")
    assert echo["sender"]["id"] == config.oa_id
    url = photo["event"]["message"]["attachments"][0]["payload"]["url"]
    async with zalo.http.get(url) as response:
        assert has_gps(await response.read())
    await zalo.client.set_webhook(receiver.url, secret="app")
    await person.send_text("app secret")
    raw, header = receiver.bodies[-1]
    assert _valid(raw, header, config.app_id, config.app_secret)


async def test_webhook_redelivers_on_error_and_timeout(zalo: Zalo, receiver: Receiver) -> None:
    await zalo.client.configure(retry_scale=0.0001, webhook_timeout=0.3)
    await zalo.client.set_webhook(receiver.url)
    receiver.statuses = [500, 502]
    person = await zalo.client.create_person()
    await zalo.server.webhook.drain()
    assert len(receiver.bodies) == 3 and len({raw for raw, _ in receiver.bodies}) == 1
    receiver.delay = 0.5
    first = await person.send_text("chậm")
    assert first["status"] is None
    await zalo.server.webhook.drain()
    attempts = await zalo.client.webhook_attempts()
    assert [a["status"] for a in attempts] == [500, 502, 200, None, 200]
    stats = await zalo.client.stats()
    assert len(stats["webhook_answer_times"]) == 5 and stats["webhook_failures"] == 3


async def test_webhook_retry_waits_for_its_schedule_or_a_flush(
    zalo: Zalo, receiver: Receiver
) -> None:
    await zalo.client.set_webhook(receiver.url)  # the real schedule: 30 s before the 2nd try
    receiver.statuses = [503]
    await zalo.client.create_person()
    assert len(receiver.bodies) == 1
    assert (await zalo.client.stats())["webhook_pending"] == 1
    await zalo.client.flush_webhook()
    for _ in range(100):
        if len(receiver.bodies) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(receiver.bodies) == 2
