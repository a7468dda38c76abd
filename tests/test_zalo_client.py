"""The Zalo side of the bot (handlers/zalo) over real HTTP against the fake OA (sandbox/zalo)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.kernel.clock import ManualClock
from bot.kernel.crypto import Cipher
from bot.kernel.outbox import (
    Blocked,
    DeliveryError,
    NeedsAdministrator,
    OutsideWindow,
    PermanentFailure,
    RetryLater,
    TemporaryFailure,
)
from content.texts import Texts
from handlers.zalo.client import ZaloClient
from handlers.zalo.outcomes import seconds_until_morning
from handlers.zalo.render import MAX_UNITS, ZaloButton, layout, split_text, to_plain, utf16_len
from handlers.zalo.settings import ZaloSettings
from handlers.zalo.tokens import OAuthClient, TokenKeeper
from handlers.zalo.webhook import (
    EventInbox,
    ZaloFollow,
    ZaloImage,
    ZaloLocation,
    ZaloText,
    make_webhook_route,
)
from sandbox.zalo import NoMessageError, ZaloSandboxClient, ZaloSandboxServer, ZaloSimUser, sign
from sandbox.zalo.media import has_gps, jpeg_with_gps, pdf_bytes
from sandbox.zalo.models import DAY, HOUR, SimClock
from storage.db import Database
from storage.zalo import InteractionRepository, ZaloEventRepository, ZaloTokenRepository

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 11, 26, 9, 0, tzinfo=TZ)


@dataclass
class World:
    server: ZaloSandboxServer
    fake: ZaloSandboxClient
    db: Database
    cipher: Cipher
    clock: ManualClock
    session: aiohttp.ClientSession
    settings: ZaloSettings
    keeper: TokenKeeper = field(init=False)
    client: ZaloClient = field(init=False)

    async def connect(self, settings: ZaloSettings | None = None) -> ZaloClient:
        """A keeper and a client as at a (re)start of the bot."""
        self.settings = settings or self.settings
        oauth = OAuthClient(self.settings, self.session)
        self.keeper = TokenKeeper(
            self.settings, ZaloTokenRepository(self.db), self.cipher, self.clock, oauth
        )
        await self.keeper.start()
        self.client = ZaloClient(self.settings, self.keeper, self.session, self.clock)
        return self.client

    async def advance(self, seconds: float) -> None:
        """Both clocks: the fake's and the bot's."""
        self.clock.advance(timedelta(seconds=seconds))
        await self.fake.advance(seconds)

    async def person(self, name: str = "Nguyễn Thị Lan") -> ZaloSimUser:
        return await self.fake.create_person(name)

    async def stats(self) -> dict[str, Any]:
        return await self.fake.stats()


def zalo_settings(server: ZaloSandboxServer, refresh_token: str, **extra: Any) -> ZaloSettings:
    config = server.config
    return ZaloSettings(
        app_id=config.app_id,
        app_secret=SecretStr(config.app_secret),
        oa_secret_key=SecretStr(config.oa_secret_key),
        refresh_token=SecretStr(refresh_token),
        api_base_url=server.url,
        oauth_base_url=server.url,
        oa_id=config.oa_id,
        **extra,
    )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    server = ZaloSandboxServer(clock=SimClock(START.timestamp()))
    await server.start()
    fake = ZaloSandboxClient(server.url)
    db = await Database.open(tmp_path / "antq.db")
    try:
        async with aiohttp.ClientSession() as session, fake:
            grant = await fake.grant()
            w = World(
                server,
                fake,
                db,
                Cipher([Cipher.generate_key()]),
                ManualClock(TZ, START),
                session,
                zalo_settings(server, grant["refresh_token"]),
            )
            await w.connect()
            yield w
    finally:
        await db.close()
        await server.stop()


# ------------------------------------------------------------------------- tokens


async def test_first_send_refreshes_and_the_pair_is_stored_encrypted(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    lan = await world.person()
    message_id = await world.client.send_text(lan.user_id, "Xin chào")
    assert int(message_id) > 2**63
    assert (await world.stats())["refreshes"] == 1
    stored = await ZaloTokenRepository(world.db).load()
    assert stored is not None and stored.access_expires_at is not None
    plain = world.cipher.decrypt(stored.refresh_token)
    assert plain.startswith("rt_") and plain not in stored.refresh_token
    assert plain not in caplog.text and world.cipher.decrypt(stored.access_token) not in caplog.text
    assert world.settings.app_secret.get_secret_value() not in repr(world.settings)
    # ahead of expiry (inside the 5-minute margin) the next send refreshes first
    await world.advance(90000 - 200)
    await world.client.send_text(lan.user_id, "Vẫn ở đây")
    assert (await world.stats())["refreshes"] == 2
    rotated = await ZaloTokenRepository(world.db).load()
    assert rotated is not None and world.cipher.decrypt(rotated.refresh_token) != plain


async def test_single_flight_refresh_under_20_concurrent_sends(world: World) -> None:
    people = [await world.person(f"Người {i}") for i in range(20)]
    await world.client.send_text(people[0].user_id, "mở đầu")
    await world.fake.expire_tokens()  # the bot still believes its token is fresh
    ids = await asyncio.gather(*(world.client.send_text(p.user_id, "chào") for p in people))
    assert len(set(ids)) == 20
    stats = await world.stats()
    assert stats["refreshes"] == 2 and stats["errors"] == {"-216": 20}
    # and when the bot knows the token expired, 20 sends still make one refresh
    await world.advance(90000)
    await asyncio.gather(*(world.client.send_text(p.user_id, "lần nữa") for p in people))
    assert (await world.stats())["refreshes"] == 3


async def test_dead_refresh_token_needs_an_administrator(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    lan = await world.person()
    await world.client.send_text(lan.user_id, "một")
    await world.fake.revoke_refresh_tokens()
    await world.fake.expire_tokens()
    with pytest.raises(NeedsAdministrator) as caught:
        await world.client.send_text(lan.user_id, "hai")
    assert caught.value.error_class == "zalo-118"
    assert "ANTQ_ZALO_REFRESH_TOKEN" in caplog.text
    calls = (await world.stats())["calls"]["access_token"]
    with pytest.raises(NeedsAdministrator):
        await world.client.send_text(lan.user_id, "ba")
    assert (await world.stats())["calls"]["access_token"] == calls  # no more attempts
    await world.fake.configure(dead_refresh_code=-14014)
    fresh = await world.fake.grant()
    await world.fake.revoke_refresh_tokens()
    await world.connect(zalo_settings(world.server, fresh["refresh_token"]))
    with pytest.raises(NeedsAdministrator) as again:
        await world.client.send_text(lan.user_id, "bốn")
    assert again.value.error_class == "zalo-14014"


async def test_restart_prefers_the_stored_pair_until_the_grant_changes(world: World) -> None:
    lan = await world.person()
    await world.client.send_text(lan.user_id, "một")
    await world.connect()  # restart with the same ANTQ_ZALO_REFRESH_TOKEN (already used once)
    await world.client.send_text(lan.user_id, "hai")
    assert (await world.stats())["refreshes"] == 1
    new_grant = await world.fake.grant()
    await world.connect(zalo_settings(world.server, new_grant["refresh_token"]))
    await world.client.send_text(lan.user_id, "ba")
    assert (await world.stats())["refreshes"] == 2
    stored = await ZaloTokenRepository(world.db).load()
    assert stored is not None and stored.grant_hash == world.keeper.grant_hash(
        new_grant["refresh_token"]
    )


async def test_operator_access_token_is_used_before_any_refresh(world: World) -> None:
    lan = await world.person()
    grant = await world.fake.grant()
    settings = zalo_settings(world.server, grant["refresh_token"])
    settings.access_token = SecretStr(grant["access_token"])
    world.settings = settings
    await world.db.close()  # a new database: nothing stored yet
    world.db = await Database.open(world.db.path.with_name("second.db"))
    await world.connect(settings)
    await world.client.send_text(lan.user_id, "một")
    assert (await world.stats())["refreshes"] == 0
    assert await world.keeper.refresh_if_due() is True  # its age is unknown: start the chain
    assert await ZaloTokenRepository(world.db).load() is not None


# ---------------------------------------------------------------- error outcomes


@pytest.mark.parametrize(
    ("code", "outcome", "seconds"),
    [
        (-32, RetryLater, 60.0),
        (-230, OutsideWindow, None),
        (-232, OutsideWindow, None),
        (-211, OutsideWindow, 3600.0),
        (-218, OutsideWindow, 3600.0),
        (-217, Blocked, None),
        (-244, Blocked, None),
        (-227, Blocked, None),
        (-210, PermanentFailure, None),
        (-201, PermanentFailure, None),
        (-213, PermanentFailure, None),
    ],
)
async def test_each_error_code_has_its_outcome(
    world: World, code: int, outcome: type[DeliveryError], seconds: float | None
) -> None:
    lan = await world.person()
    await world.fake.fail_next("message_cs", code)
    with pytest.raises(DeliveryError) as caught:
        await world.client.send_text(lan.user_id, "x")
    assert type(caught.value) is outcome and caught.value.error_class == f"zalo{code}"
    if outcome in (RetryLater, OutsideWindow):
        assert caught.value.seconds == seconds  # type: ignore[attr-defined]


async def test_night_rule_waits_until_0605_local(world: World) -> None:
    lan = await world.person()
    await world.fake.fail_next("message_cs", -234)
    world.clock.set(datetime(2026, 11, 26, 23, 0, tzinfo=TZ))
    with pytest.raises(OutsideWindow) as caught:
        await world.client.send_text(lan.user_id, "x")
    assert caught.value.seconds == 7 * 3600 + 5 * 60
    assert seconds_until_morning(datetime(2026, 11, 27, 5, 0, tzinfo=TZ)) == 65 * 60
    assert seconds_until_morning(datetime(2026, 11, 27, 7, 0, tzinfo=TZ)) == 23 * 3600 + 5 * 60


async def test_invalid_token_refreshes_once_then_retries_once(world: World) -> None:
    lan = await world.person()
    await world.client.send_text(lan.user_id, "một")
    await world.fake.fail_next("message_cs", -220)
    await world.client.send_text(lan.user_id, "hai")
    assert (await world.stats())["refreshes"] == 2
    await world.fake.fail_next("message_cs", -216, count=2)
    with pytest.raises(TemporaryFailure):
        await world.client.send_text(lan.user_id, "ba")
    assert (await world.stats())["refreshes"] == 3


async def test_network_trouble_is_temporary(world: World) -> None:
    lan = await world.person()
    await world.client.send_text(lan.user_id, "một")
    world.settings.request_timeout_seconds = 0.2
    await world.fake.fail_next("message_cs", delay=0.5)
    with pytest.raises(TemporaryFailure):
        await world.client.send_text(lan.user_id, "chậm")


async def test_window_rules_seen_from_the_client(world: World) -> None:
    lan = await world.person()
    await lan.idle(3 * DAY)
    await world.client.send_text(lan.user_id, "tính phí")
    await lan.idle(7 * DAY + HOUR)
    with pytest.raises(OutsideWindow):
        await world.client.send_text(lan.user_id, "quá 7 ngày")
    await lan.send_text("chào")
    await world.client.send_text(lan.user_id, "lại được")
    await lan.unfollow()
    with pytest.raises(PermanentFailure) as caught:
        await world.client.send_text(lan.user_id, "không theo dõi")
    assert caught.value.error_class == "zalo-213"
    await lan.follow()
    await lan.block()
    with pytest.raises(Blocked):
        await world.client.send_text(lan.user_id, "chặn")
    stats = await world.stats()
    assert (stats["cs_free"], stats["cs_billed"]) == (1, 1)


# ------------------------------------------------------- uploads, templates, users


async def test_uploads_and_reupload_after_seven_days(world: World) -> None:
    lan = await world.person()
    photo = jpeg_with_gps()
    _, attachment_id = await world.client.send_image_bytes(lan.user_id, photo, "anh.jpg", "Ảnh")
    _, kept = await world.fake.upload(attachment_id)
    assert kept == photo
    _, token = await world.client.send_file_bytes(lan.user_id, pdf_bytes(), "baocao.pdf")
    again, same = await world.client.send_image_bytes(
        lan.user_id, photo, "anh.jpg", attachment_id=attachment_id
    )
    assert same == attachment_id and (await world.stats())["uploads"] == 2
    await world.advance(7 * DAY)
    await lan.send_text("còn đây")
    _, renewed = await world.client.send_image_bytes(
        lan.user_id, photo, "anh.jpg", attachment_id=attachment_id
    )
    _, new_token = await world.client.send_file_bytes(
        lan.user_id, pdf_bytes(), "baocao.pdf", token=token
    )
    assert renewed != attachment_id and new_token != token
    assert (await world.stats())["uploads"] == 4
    kinds = [m.kind for m in await lan.messages()]
    assert kinds == ["image", "file", "image", "image", "file"]


async def test_template_user_detail_and_broadcast(world: World) -> None:
    lan = await world.person("Trần Thị Lan")
    await lan.idle(30 * DAY)
    await world.client.send_template(lan.user_id, "301234", {"deadline": "30/11/2026"})
    detail = await world.client.user_detail(lan.user_id)
    assert detail.display_name == "Trần Thị Lan" and detail.is_follower
    article = await world.fake.add_article("Tuần này")
    await world.client.broadcast_article(article)
    stats = await world.stats()
    assert (stats["templates"], stats["user_details"], stats["broadcasts"]) == (1, 1, 1)
    assert [m.kind for m in await lan.messages()] == ["template", "article"]


# ------------------------------------------------------------------------ render


def test_plain_text_from_neutral_markup() -> None:
    assert to_plain("<b>Báo cáo</b> &lt;số&gt; <i>1</i> &amp; <code>AB-12</code>") == (
        "Báo cáo <số> 1 & AB-12"
    )


def test_split_counts_utf16_units_and_prefers_boundaries() -> None:
    text = "Đoạn một. " * 150 + "\n\n" + "😀" * 1500
    pieces = split_text(text)
    assert all(utf16_len(p) <= MAX_UNITS for p in pieces)
    assert pieces[0].endswith("Đoạn một.")
    assert "".join(pieces).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace(
        "\n", ""
    )
    assert split_text("e\u0301" * 10) == ["é" * 10]  # NFC before counting


async def test_every_rendered_message_fits_zalo(world: World) -> None:
    texts = Texts.load()
    buttons = [ZaloButton(f"Lựa chọn {i}", f"payload-{i}") for i in range(12)]
    messages = layout("<b>Chọn</b> một mục:\n\n" + "ý " * 2500, buttons, texts)
    assert all(utf16_len(m.text) <= MAX_UNITS and m.text.strip() for m in messages)
    assert all(len(m.buttons) <= 5 for m in messages)
    assert [len(m.buttons) for m in messages if m.buttons] == [4, 4, 4]
    assert messages[-1].text == texts.raw("zalo.more")
    assert [b.title for m in messages for b in m.buttons] == [b.title for b in buttons]
    lan = await world.person()
    for m in messages:
        await world.client.send_text(lan.user_id, m.text, [b.as_tuple() for b in m.buttons])
    seen = await lan.messages()
    assert len(seen) == len(messages) and all(len(m.buttons) <= 5 for m in seen)
    assert layout("Có", buttons[:5], texts) == [layout("Có", buttons[:5], texts)[0]]
    assert [len(m.buttons) for m in layout("Có", buttons[:6], texts)] == [4, 2]
    with pytest.raises(ValueError):
        layout("x", [ZaloButton(" ", "p")], texts)


# ----------------------------------------------------------------------- webhook


def _database_bytes(path: Path) -> bytes:
    """The database file and its WAL, as a forensic reader would see them."""
    wal = Path(str(path) + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@dataclass
class Bot:
    """The webhook route on loopback and a callback that records (or fails on) events."""

    url: str
    repo: ZaloEventRepository
    inbox: EventInbox
    handled: list[Any] = field(default_factory=list)
    fail: bool = False
    hang: asyncio.Event | None = None


@pytest.fixture
async def bot(world: World) -> AsyncIterator[Bot]:
    repo = ZaloEventRepository(world.db)
    holder: dict[str, Bot] = {}

    async def callback(event_id: int) -> None:
        b = holder["bot"]
        if b.hang is not None:
            await b.hang.wait()
        if b.fail:
            raise RuntimeError("the process died here")
        b.handled.append(await b.inbox.load(event_id))

    inbox = EventInbox(repo, world.cipher, world.clock, callback, world.settings.oa_id)
    app = web.Application()
    route = make_webhook_route(world.settings, repo, inbox, world.cipher, world.clock)
    app.router.add_post("/zalo/webhook", route)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/zalo/webhook"
    holder["bot"] = b = Bot(url, repo, inbox)
    await world.fake.set_webhook(url)
    try:
        yield b
    finally:
        await b.inbox.stop()
        await runner.cleanup()


async def test_events_are_verified_stored_and_processed(world: World, bot: Bot) -> None:
    lan = await world.person()
    await world.client.send_text(lan.user_id, "Chọn", [("Báo cáo", "query", "bc:1")])
    await lan.press("Báo cáo")
    await lan.send_image()
    await lan.send_location(11.54, 106.88)
    await lan.seen()
    await world.server.webhook.drain()
    await bot.inbox.join()
    kinds = [type(e) for e in bot.handled]
    assert kinds == [ZaloFollow, ZaloText, ZaloImage, ZaloLocation]
    text = bot.handled[1]
    assert isinstance(text, ZaloText) and text.text == "bc:1" and text.user_id == lan.user_id
    image = bot.handled[2]
    async with world.session.get(image.urls[0]) as response:
        assert has_gps(await response.read())  # the bot must strip it (bot/kernel/media_privacy)
    assert bot.handled[3].latitude == 11.54
    assert await bot.repo.pending() == []
    statuses = {a["status"] for a in await world.fake.webhook_attempts()}
    assert statuses == {200}
    rows = await world.db.fetch_all("SELECT dedupe_key, payload FROM zalo_webhook_events")
    assert len(rows) == 4 and all(row[1] == "" for row in rows)  # erased once processed
    assert all(lan.user_id not in row[0] for row in rows)
    raw = await asyncio.to_thread(_database_bytes, world.db.path)
    assert lan.user_id.encode() not in raw  # nothing recorded an interaction or an id


async def test_signature_refused_wrong_secret_stale_or_tampered(world: World, bot: Bot) -> None:
    lan = await world.person()  # follow: accepted
    await world.fake.set_webhook(bot.url, secret="app")  # the bot expects the OA secret key
    assert (await lan.send_text("sai khóa"))["status"] == 401
    await world.fake.set_webhook(bot.url, secret="oa")
    await world.fake.advance(-3 * HOUR)  # an event older than the replay window
    assert (await lan.send_text("cũ"))["status"] == 403
    await world.fake.advance(3 * HOUR + 10 * 60)  # from the future
    assert (await lan.send_text("tương lai"))["status"] == 403
    await world.fake.advance(-10 * 60 + -2 * HOUR)  # Zalo's last retry, 2 h late: accepted
    assert (await lan.send_text("trễ"))["status"] == 200
    config = world.server.config
    event: dict[str, Any] = {
        "app_id": config.app_id,
        "event_name": "user_send_text",
        "sender": {"id": lan.user_id},
        "recipient": {"id": config.oa_id},
        "message": {"text": "gốc", "msg_id": "m-1"},
        "timestamp": str(int(world.clock.now().timestamp() * 1000)),
    }
    raw = json.dumps(event, ensure_ascii=False).encode()
    good = sign(config.app_id, raw, event["timestamp"], config.oa_secret_key)
    tampered = raw.replace("gốc".encode(), "giả".encode())

    async def post(body: bytes, signature: str | None) -> int:
        headers = {"X-ZEvent-Signature": signature} if signature else {}
        async with world.session.post(bot.url, data=body, headers=headers) as response:
            return response.status

    assert await post(tampered, good) == 401
    assert await post(raw, None) == 401
    assert await post(raw, good.removeprefix("mac=")) == 200  # without the prefix
    assert await post(raw, good) == 200  # a redelivery: answered, not stored again
    assert await post(b"{" + b" " * 70000 + b"}", good) == 413
    await bot.inbox.join()
    texts = [e.text for e in bot.handled if isinstance(e, ZaloText)]
    assert texts == ["trễ", "gốc"]


async def test_redelivered_events_are_handled_once(world: World, bot: Bot) -> None:
    lan = await world.person()
    bot.hang = asyncio.Event()  # processing is slow; the answer must not wait for it
    assert (await lan.send_text("một lần"))["status"] == 200
    bot.hang.set()
    await bot.inbox.join()
    # Zalo times out on an answer it never got: the same bytes come again, later
    event = (await world.fake.webhook_events())[-1]
    raw = json.dumps(event, ensure_ascii=False).encode()
    signature = sign(world.server.config.app_id, raw, event["timestamp"], "sandbox-oa-secret-key")
    for _ in range(3):
        async with world.session.post(
            bot.url, data=raw, headers={"X-ZEvent-Signature": signature}
        ) as response:
            assert response.status == 200
    await bot.inbox.join()
    assert [e.text for e in bot.handled if isinstance(e, ZaloText)] == ["một lần"]
    rows = await world.db.fetch_all("SELECT count(*) FROM zalo_webhook_events")
    assert rows[0][0] == 2


async def test_sandbox_timeouts_redeliver_and_the_bot_dedupes(world: World, bot: Bot) -> None:
    await world.fake.configure(webhook_timeout=0.0005)  # Zalo gives up before any answer
    lan = await world.person()
    await world.fake.configure(webhook_timeout=2.0)
    await world.fake.flush_webhook()  # the retry due in 30 s, now
    await world.server.webhook.drain()
    await lan.send_text("xin chào")
    await world.server.webhook.drain()
    await bot.inbox.join()
    attempts = await world.fake.webhook_attempts()
    follows = [a for a in attempts if a["event_name"] == "follow"]
    assert len(follows) >= 2  # at least one timed out and came again
    assert [type(e) for e in bot.handled] == [ZaloFollow, ZaloText]


async def test_stored_before_ack_and_recovered_after_a_crash(world: World, bot: Bot) -> None:
    lan = await world.person()
    await bot.inbox.join()
    bot.handled.clear()
    bot.fail = True  # the process dies after the 200, before the work
    assert (await lan.send_text("đừng mất"))["status"] == 200
    assert (await lan.send_location(11.0, 106.0))["status"] == 200
    await bot.inbox.join()
    assert bot.handled == [] and len(await bot.repo.pending()) == 2
    await bot.inbox.stop()
    bot.fail = False
    assert await bot.inbox.recover() == 2  # at start-up
    await bot.inbox.join()
    assert [type(e) for e in bot.handled] == [ZaloText, ZaloLocation]
    assert await bot.repo.pending() == []


async def test_a_hung_callback_does_not_delay_the_answer(world: World, bot: Bot) -> None:
    bot.hang = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()
    lan = await world.person()
    assert (await lan.send_text("nhanh"))["status"] == 200
    assert loop.time() - started < 1.0
    await bot.inbox.stop()  # killed while hung: the events stay stored
    assert len(await bot.repo.pending()) == 2
    bot.hang = None
    await bot.inbox.recover()
    await bot.inbox.join()
    assert [type(e) for e in bot.handled] == [ZaloFollow, ZaloText]


async def test_interactions_are_recorded_only_when_the_caller_says(world: World) -> None:
    interactions = InteractionRepository(world.db)
    assert await interactions.last("zalo", "123") is None
    now = world.clock.now()
    async with world.db.transaction() as tx:
        await interactions.record(tx, "zalo", "123", now)
        await interactions.record(tx, "zalo", "123", now - timedelta(hours=1))  # never backwards
    assert await interactions.last("zalo", "123") == now.astimezone(UTC)
    async with world.db.transaction() as tx:
        await interactions.forget(tx, "zalo", "123")
    assert await interactions.last("zalo", "123") is None


async def test_upload_survives_a_refused_token(world: World) -> None:
    await world.client.upload_image(jpeg_with_gps(), "a.jpg")
    await world.fake.fail_next("upload_image", -216)
    attachment_id = await world.client.upload_image(jpeg_with_gps(), "b.jpg")
    view, _ = await world.fake.upload(attachment_id)
    assert view["filename"] == "b.jpg" and (await world.stats())["refreshes"] == 2


async def test_unknown_kinds_from_a_person_are_handed_over(world: World, bot: Bot) -> None:
    lan = await world.person()
    await lan.send_sticker()
    config = world.server.config
    gif = {
        "app_id": config.app_id,
        "event_name": "user_send_gif",
        "sender": {"id": lan.user_id},
        "recipient": {"id": config.oa_id},
        "message": {"msg_id": "g-1", "attachments": []},
        "timestamp": str(int(world.clock.now().timestamp() * 1000)),
    }
    from_oa = dict(gif, sender={"id": config.oa_id}, message={"msg_id": "g-2", "text": "x"})
    for event in (gif, from_oa):
        raw = json.dumps(event).encode()
        signature = sign(config.app_id, raw, str(event["timestamp"]), config.oa_secret_key)
        async with world.session.post(
            bot.url, data=raw, headers={"X-ZEvent-Signature": signature}
        ) as response:
            assert response.status == 200
    await world.server.webhook.drain()
    await bot.inbox.join()
    names = [type(e).__name__ for e in bot.handled]
    assert names == ["ZaloFollow", "ZaloSticker", "ZaloIgnored"]
    assert bot.handled[2].user_id == lan.user_id
    rows = await world.db.fetch_all("SELECT count(*) FROM zalo_webhook_events")
    assert rows[0][0] == 3  # the OA's own event and the echoes were not stored


async def test_sim_user_waits_for_the_next_oa_message(world: World) -> None:
    lan = await world.person()
    waiting = asyncio.create_task(lan.next_message(timeout=5.0))
    await asyncio.sleep(0)
    await world.client.send_text(lan.user_id, "Chào bạn", [("Đồng ý", "query", "ok:1")])
    message = await waiting
    assert message.text == "Chào bạn" and message.titles == ["Đồng ý"]
    with pytest.raises(NoMessageError):
        await lan.next_message(timeout=0.05)


async def test_refresh_if_due_keeps_the_chain_alive(world: World) -> None:
    lan = await world.person()
    await world.client.send_text(lan.user_id, "một")
    assert await world.keeper.refresh_if_due() is False
    await world.advance(90000 - 60)
    assert await world.keeper.refresh_if_due() is True
    assert (await world.stats())["refreshes"] == 2


async def test_standalone_fake_prints_its_url() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox.zalo", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        async with ZaloSandboxClient(url) as fake:
            assert (await fake.request("GET", "/sandbox/health"))["ok"] is True
    finally:
        process.terminate()
        await process.wait()
