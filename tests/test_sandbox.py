"""Tests for the sandbox fake Bot API server, driven through the real python-telegram-bot stack."""

from __future__ import annotations

import asyncio
import datetime as dtm
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from sandbox.telegram import LimitsConfig, NoReplyError, SandboxClient, SandboxError, SandboxServer
from sandbox.telegram.models import Pulse

TOKEN = "123456:TEST-token"
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SpyPulse(Pulse):
    """A Pulse that reports when somebody starts waiting on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        self.waiting.set()
        return await super().wait(timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def make_bot(srv: SandboxServer, token: str = TOKEN) -> Bot:
    return Bot(token=token, base_url=f"{srv.url}/bot", base_file_url=f"{srv.url}/file/bot")


def make_app(srv: SandboxServer) -> Application[Any, Any, Any, Any, Any, Any]:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{srv.url}/bot")
        .base_file_url(f"{srv.url}/file/bot")
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    """Functional tests run without flood limits; the limit tests start their own server."""
    async with SandboxServer(limits=LimitsConfig.disabled()) as srv:
        yield srv


@pytest.fixture
async def client(server: SandboxServer) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(server.url) as sandbox_client:
        yield sandbox_client


@pytest.fixture
async def bot(server: SandboxServer) -> AsyncIterator[Bot]:
    async with make_bot(server) as telegram_bot:
        yield telegram_bot


async def test_get_me_and_bad_token(server: SandboxServer, bot: Bot) -> None:
    assert server.url.startswith("http://127.0.0.1:") and server.port
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "antq_sandbox_bot")
    with pytest.raises(InvalidToken):
        async with make_bot(server, "not-a-token"):
            pass
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(999, "hi")
    async with httpx.AsyncClient(base_url=server.url, trust_env=False) as http:
        response = await http.post(f"/bot{TOKEN}/noSuchMethod")
        camel = (await http.get(f"/bot{TOKEN}/GETME")).json()
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert camel["ok"] and camel["result"]["id"] == 123456


async def test_html_message_keyboard_press_and_answer(
    server: SandboxServer, client: SandboxClient, bot: Bot
) -> None:
    lan = await client.create_user("Lan", username="lan_gv")
    assert lan.id == 10001
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Tôi đồng ý", callback_data="agree")],
            [InlineKeyboardButton("Không", callback_data="no")],
        ]
    )
    html = "<b>Xin chào</b> &amp; <i>chào mừng</i> bạn"
    sent = await bot.send_message(lan.id, html, parse_mode="HTML", reply_markup=keyboard)
    assert sent.text == "Xin chào & chào mừng bạn"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 8),
        ("italic", 11, 9),
    ]
    reply = await lan.next_reply(timeout=2)
    assert (reply.message_id, reply.text, reply.html) == (sent.message_id, sent.text, html)
    assert reply.labels == ["Tôi đồng ý", "Không"] and reply.button("tôi").data == "agree"
    cq_id = await lan.press("Tôi đồng ý")
    updates = await bot.get_updates(timeout=0)
    query = updates[-1].callback_query
    assert query is not None and (query.id, query.data) == (cq_id, "agree")
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(cq_id, text="Đã ghi nhận", show_alert=True)
    answer = await lan.callback_answer(cq_id, timeout=1)
    assert (answer["answered"], answer["text"], answer["show_alert"]) == (True, "Đã ghi nhận", True)
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(cq_id)
    forged = await lan.press_data(sent.message_id, "admin:delete_all")
    assert (await client.callback(forged))["data"] == "admin:delete_all"
    with pytest.raises(AssertionError, match="Tôi đồng ý"):
        await lan.press("Nút không có")


async def test_edit_delete_and_transcript(client: SandboxClient, bot: Bot) -> None:
    user = await client.create_user("Minh")
    buttons = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(user.id, "Bước 1", reply_markup=buttons)
    edited = await bot.edit_message_text("Bước 2", chat_id=user.id, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.text == "Bước 2" and edited.reply_markup is None
    first, second = await user.replies(2, timeout=2)
    assert (first.text, first.edited, first.labels) == ("Bước 1", 0, ["A"])
    assert (second.event, second.text, second.edited, second.labels) == ("edit", "Bước 2", 1, [])
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Bước 2", chat_id=user.id, message_id=sent.message_id)
    await bot.edit_message_reply_markup(user.id, sent.message_id, reply_markup=buttons)
    await user.send("xin chào")
    assert await bot.delete_message(user.id, sent.message_id)
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)
    transcript = await user.transcript()
    assert [(m["from_bot"], m["text"], m["edited"], m["deleted"]) for m in transcript] == [
        (True, "Bước 2", 2, True),
        (False, "xin chào", 0, False),
    ]


async def test_text_validation(client: SandboxClient, bot: Bot) -> None:
    user = await client.create_user("Hoa")
    assert (await bot.send_message(user.id, "x" * 4096)).text == "x" * 4096
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(user.id, "x" * 4097)
    html_4096 = "<b>" + "y" * 4096 + "</b>"
    assert (await bot.send_message(user.id, html_4096, parse_mode="HTML")).text == "y" * 4096
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(user.id, "<b></b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(user.id, "<b>open <blink>x</blink>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(user.id, "Giá 1.5 triệu", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
        await bot.send_message(user.id, "ok", reply_markup=markup)
    assert (await client.stats())["delivered"] == 2


async def test_files_upload_get_file_and_download(client: SandboxClient, bot: Bot) -> None:
    user = await client.create_user("Nam")
    doc = await bot.send_document(
        user.id,
        document=b"%PDF-1.4 test",
        filename="quy-che.pdf",
        caption="<b>Quy chế</b>",
        parse_mode="HTML",
    )
    assert doc.document is not None and doc.caption == "Quy chế"
    assert (doc.document.file_name, doc.document.mime_type) == ("quy-che.pdf", "application/pdf")
    tg_file = await bot.get_file(doc.document.file_id)
    assert bytes(await tg_file.download_as_bytearray()) == b"%PDF-1.4 test"
    again = await bot.send_document(user.id, document=doc.document.file_id)
    assert again.document is not None and again.document.file_id == doc.document.file_id
    photo = await bot.send_photo(user.id, photo=b"\x89PNG fake", caption="ảnh")
    assert len(photo.photo) == 2 and photo.caption == "ảnh"
    reply = (await user.replies(3, timeout=2))[-1]
    assert (reply.kind, reply.text, reply.file_id) == ("photo", "ảnh", photo.photo[-1].file_id)
    sent = await user.send_document("bao-cao.xlsx", "application/vnd.ms-excel", b"XLSX-bytes")
    updates = await bot.get_updates(timeout=0)
    message = updates[-1].message
    assert message is not None and message.document is not None
    assert message.message_id == sent["message_id"]
    user_file = await bot.get_file(message.document.file_id)
    assert bytes(await user_file.download_as_bytearray()) == b"XLSX-bytes"
    await user.send_photo(caption="hiện trường")
    await user.send_location(10.77, 106.70)
    await user.send_sticker()
    await user.send_voice()
    await user.send_contact("+84901234567")
    kinds = [m["kind"] for m in await user.transcript()]
    assert kinds[-5:] == ["photo", "location", "sticker", "voice", "contact"]
    updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert updates[0].message is not None and updates[0].message.photo
    assert updates[1].message is not None and updates[1].message.location is not None
    assert updates[4].message is not None and updates[4].message.contact is not None
    with pytest.raises(BadRequest, match="(?i)can't use file of type"):
        await bot.send_photo(user.id, photo=doc.document.file_id)


async def test_commands_copy_and_forward(client: SandboxClient, bot: Bot) -> None:
    a, b = await client.create_user("A"), await client.create_user("B")
    commands = [BotCommand("start", "Bắt đầu"), BotCommand("help", "Trợ giúp")]
    assert await bot.set_my_commands(commands)
    assert await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    stored = await client.commands()
    assert stored[0]["scope"] == {"type": "default"} and len(stored[0]["commands"]) == 2
    assert stored[1]["language_code"] == "en"
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad Command", "x")])
    src = await a.send("tin gốc")
    copied = await bot.copy_message(b.id, from_chat_id=a.id, message_id=src["message_id"])
    forwarded = await bot.forward_message(b.id, from_chat_id=a.id, message_id=src["message_id"])
    assert forwarded.forward_origin is not None and forwarded.text == "tin gốc"
    texts = [(m["message_id"], m["text"]) for m in await b.transcript()]
    assert texts == [(copied.message_id, "tin gốc"), (forwarded.message_id, "tin gốc")]
    assert await bot.send_chat_action(a.id, "typing")
    assert (await bot.get_chat(a.id)).first_name == "A"


async def test_polling_application_echo(server: SandboxServer, client: SandboxClient) -> None:
    user = await client.create_user("Lan")
    app = make_app(server)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    try:
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await user.send("xin chào")
        reply = await user.next_reply(timeout=5)
        assert reply.text == "echo: xin chào"
        await user.send("lần hai")
        assert (await user.next_reply(timeout=5)).text == "echo: lần hai"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert (await client.stats())["updates_pending"] == 0


async def test_webhook_application_echo_with_secret(
    server: SandboxServer, client: SandboxClient
) -> None:
    user = await client.create_user("Lan")
    port = free_port()
    app = make_app(server)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    try:
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            webhook_url=f"http://127.0.0.1:{port}/hook",
            secret_token="s3cret",
        )
        info = await app.bot.get_webhook_info()
        assert info.url == f"http://127.0.0.1:{port}/hook"
        await user.send("qua webhook")
        assert (await user.next_reply(timeout=5)).text == "echo: qua webhook"
        async with httpx.AsyncClient(trust_env=False) as http:
            update = {
                "update_id": 999,
                "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
            }
            wrong = await http.post(
                f"http://127.0.0.1:{port}/hook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            )
        assert wrong.status_code == 403
        stats = await client.stats()
        assert stats["webhook"]["delivered"] == 1 and stats["updates_pending"] == 0
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def test_global_limit_429_with_default_limits() -> None:
    clock = FakeClock()
    srv = SandboxServer(limits=LimitsConfig(), clock=clock)
    async with srv, make_bot(srv) as tg, SandboxClient(srv.url) as sandbox:
        users = [await sandbox.create_user(f"U{i}") for i in range(40)]
        ok, limited = 0, []
        for user in users:
            try:
                await tg.send_message(user.id, "thông báo")
                ok += 1
            except RetryAfter as exc:
                limited.append(seconds(exc.retry_after))
        assert (ok, len(limited)) == (30, 10)
        assert all(s >= 1 for s in limited)
        stats = await sandbox.stats()
        assert (stats["rate_limited"], stats["delivered"]) == (10, 30)
        assert (await sandbox.deliveries())["chats_with_zero"] == 10
        clock.now += 1.0
        await tg.send_message(users[-1].id, "sau 1 giây")


async def test_per_chat_and_group_limits() -> None:
    clock = FakeClock()
    srv = SandboxServer(clock=clock)
    async with srv, make_bot(srv) as tg, SandboxClient(srv.url) as sandbox:
        user = await sandbox.create_user("Burst")
        for i in range(3):
            await tg.send_message(user.id, f"tin {i}")
        with pytest.raises(RetryAfter) as caught:
            await tg.send_message(user.id, "tin 4")
        assert seconds(caught.value.retry_after) == 1
        clock.now += 1.0
        await tg.send_message(user.id, "tin 4")
        group = await sandbox.create_group("Văn phòng Sở", members=[user])
        for i in range(20):
            await tg.send_message(group, f"nhóm {i}")
        with pytest.raises(RetryAfter) as caught:
            await tg.send_message(group, "nhóm 21")
        assert seconds(caught.value.retry_after) == 3
        assert len(await sandbox.messages(group)) == 20
        await sandbox.set_limits(enabled=False)
        await tg.send_message(group, "không giới hạn")
        assert (await sandbox.limits())["enabled"] is False
        with pytest.raises(SandboxError, match="unknown limits field"):
            await sandbox.set_limits(bogus=1)


async def test_sliding_window_refuses_the_31st_message_in_any_second() -> None:
    clock = FakeClock()
    srv = SandboxServer(limits=LimitsConfig(algorithm="window"), clock=clock)
    async with srv, make_bot(srv) as tg, SandboxClient(srv.url) as sandbox:
        users = [await sandbox.create_user(f"U{i}") for i in range(32)]
        for i, user in enumerate(users[:30]):  # 30 spread over 0.9 s: all accepted
            clock.now = 1000.0 + i * 0.03
            await tg.send_message(user.id, "thông báo")
        clock.now = 1000.95
        with pytest.raises(RetryAfter) as caught:
            await tg.send_message(users[30].id, "thứ 31")
        assert seconds(caught.value.retry_after) == 1
        clock.now = 1000.999  # the first one still counts: (t - 1 s, t]
        with pytest.raises(RetryAfter):
            await tg.send_message(users[30].id, "thứ 31")
        clock.now = 1001.0  # a bucket would have refilled long ago; the window only now
        await tg.send_message(users[30].id, "thứ 31")
        with pytest.raises(RetryAfter):  # the second one (at 1000.03) still counts
            await tg.send_message(users[31].id, "thứ 32")
        stats = await sandbox.stats()
        assert (stats["rate_limited"], stats["delivered"]) == (3, 31)
        sends = await sandbox.sends()
        assert len(sends["times"]) == 31 and sends["chats"][-1] == users[30].id


async def test_sliding_window_per_chat_and_group_have_no_burst() -> None:
    clock = FakeClock()
    srv = SandboxServer(limits=LimitsConfig(algorithm="window"), clock=clock)
    async with srv, make_bot(srv) as tg, SandboxClient(srv.url) as sandbox:
        user = await sandbox.create_user("Một giây")
        await tg.send_message(user.id, "tin 1")
        clock.now += 0.99
        with pytest.raises(RetryAfter):  # a token bucket would allow a burst of 3
            await tg.send_message(user.id, "tin 2")
        clock.now += 0.01
        await tg.send_message(user.id, "tin 2")
        group = await sandbox.create_group("Văn phòng Sở", members=[user])
        for i in range(20):
            clock.now += 2.0
            await tg.send_message(group, f"nhóm {i}")
        clock.now += 2.0  # 20 in the last 40 s: the 21st waits for the first to leave
        with pytest.raises(RetryAfter) as caught:
            await tg.send_message(group, "nhóm 21")
        assert seconds(caught.value.retry_after) == 20
        assert (await sandbox.limits())["algorithm"] == "window"
        await sandbox.set_limits(algorithm="bucket")
        await tg.send_message(group, "nhóm 21")  # a new configuration starts empty
        with pytest.raises(SandboxError, match="algorithm must be one of"):
            await sandbox.set_limits(algorithm="leaky")


def test_sliding_window_unit_and_the_command_line_flag() -> None:
    from sandbox.telegram.__main__ import build_parser, limits_from_args
    from sandbox.telegram.limits import RateLimiter, max_in_window

    clock = FakeClock()
    limiter = RateLimiter(LimitsConfig(algorithm="window", chat_rate=0), clock)
    for i in range(30):
        clock.now = 1000.0 + i / 30
        assert limiter.acquire(i) == 0
    assert limiter.acquire(99) == 1  # the 31st within a second of the first
    clock.now = 1001.0
    assert limiter.acquire(99) == 0
    times = [t for t, _ in limiter.sent]
    assert len(times) == 31 and max_in_window(times) == 30
    args = build_parser().parse_args(["--algorithm", "window"])
    assert limits_from_args(args).algorithm == "window"
    assert limits_from_args(build_parser().parse_args([])).algorithm == "bucket"
    with pytest.raises(ValueError):
        LimitsConfig(algorithm="leaky")


async def test_blocked_user_is_forbidden(client: SandboxClient, bot: Bot) -> None:
    user = await client.create_user("Chặn")
    await user.block()
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(user.id, "hello")
    updates = await bot.get_updates(timeout=0)
    member = updates[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    await user.unblock()
    await bot.send_message(user.id, "hello again")


async def test_fault_injection(client: SandboxClient, bot: Bot) -> None:
    user = await client.create_user("Lỗi")
    await client.set_fault("sendMessage", "429", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(user.id, "một")
    assert seconds(caught.value.retry_after) == 7
    await client.set_fault("sendMessage", "500")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(user.id, "một")
    await client.set_fault("*", "drop")
    with pytest.raises(NetworkError):
        await bot.send_message(user.id, "một")
    await client.set_fault("sendMessage", "slow", delay=0.05)
    await bot.send_message(user.id, "một")
    await client.set_fault("sendmessage", "502", count=5)
    await client.clear_faults()
    await bot.send_message(user.id, "hai")
    assert [m["text"] for m in await user.transcript()] == ["một", "hai"]
    stats = await client.stats()
    assert (stats["faults_injected"], stats["rate_limited"]) == (4, 1)
    assert stats["methods"]["sendMessage"] == 5


async def test_get_updates_redelivers_and_long_polls(
    server: SandboxServer, client: SandboxClient, bot: Bot
) -> None:
    user = await client.create_user("Poll")
    await user.send("/start")
    await user.send("hai")
    first = await bot.get_updates(timeout=0)
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in first] == [u.update_id for u in again] and len(first) == 2
    assert first[0].message is not None and first[0].message.text == "/start"
    assert first[0].message.entities[0].type == "bot_command"
    offset = first[-1].update_id + 1
    assert await bot.get_updates(offset=offset, timeout=0) == ()
    assert (await client.stats())["updates_pending"] == 0
    server.state.updates_pulse = spy = SpyPulse()
    poll = asyncio.create_task(bot.get_updates(offset=offset, timeout=5))
    await asyncio.wait_for(spy.waiting.wait(), 3)
    started = asyncio.get_running_loop().time()
    await user.send("đánh thức")
    woken = await asyncio.wait_for(poll, 3)
    assert asyncio.get_running_loop().time() - started < 1.0
    assert woken[0].message is not None and woken[0].message.text == "đánh thức"


async def test_conflict_while_webhook_is_set(client: SandboxClient, bot: Bot) -> None:
    user = await client.create_user("Hook")
    with pytest.raises(BadRequest, match="(?i)bad webhook"):
        await bot.set_webhook("https://example.com/hook")
    assert await bot.set_webhook(f"http://127.0.0.1:{free_port()}/hook", secret_token="abc")
    with pytest.raises(Conflict, match="(?i)webhook is active"):
        await bot.get_updates(timeout=0)
    await user.send("pending")
    assert await bot.delete_webhook()
    updates = await bot.get_updates(timeout=0)
    assert updates[-1].message is not None and updates[-1].message.text == "pending"
    assert (await bot.get_webhook_info()).url == ""


async def test_webhook_retries_in_order_with_secret(client: SandboxClient, bot: Bot) -> None:
    received: list[tuple[str | None, int]] = []
    done = asyncio.Event()
    failures = [1]

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        if failures:
            failures.pop()
            return web.Response(status=500)
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), body["update_id"]))
        if len(received) == 2:
            done.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        user = await client.create_user("Retry")
        first = (await user.send("một"))["update_id"]
        second = (await user.send("hai"))["update_id"]
        port = runner.addresses[0][1]
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="t0k")
        await asyncio.wait_for(done.wait(), 5)
        assert received == [("t0k", first), ("t0k", second)]
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0 and info.last_error_message
        assert (await client.stats())["webhook"]["failures"] == 1
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


async def test_duplicates_and_deliveries(client: SandboxClient, bot: Bot) -> None:
    a, b, c = [await client.create_user(n) for n in ("A", "B", "C")]
    for chat, text in ((a.id, "A"), (a.id, "A"), (a.id, "B"), (b.id, "A")):
        await bot.send_message(chat, text)
    stats = await client.stats()
    assert (stats["delivered"], stats["duplicates"]) == (4, 1)
    deliveries = await client.deliveries()
    assert deliveries["deliveries"] == {str(a.id): 3, str(b.id): 1, str(c.id): 0}
    await client.reset()
    assert (await client.stats())["delivered"] == 0 and await client.users() == []


async def test_group_privacy_and_reply_timeout(client: SandboxClient, bot: Bot) -> None:
    user = await client.create_user("Nhóm")
    group = await client.create_group("Văn phòng Sở", members=[user])
    assert group < 0
    assert (await user.send("chuyện phiếm", chat_id=group))["update_id"] is None
    assert (await user.send("/help", chat_id=group))["update_id"] is not None
    assert (await user.send("/help@other_bot", chat_id=group))["update_id"] is None
    assert (await user.send("hỏi @antq_sandbox_bot", chat_id=group))["update_id"] is not None
    sent = await bot.send_message(group, "Chào cả nhóm")
    reply = await user.send("trả lời", chat_id=group, reply_to=sent.message_id)
    assert reply["update_id"] is not None
    assert (await user.next_reply(timeout=1, chat_id=group)).text == "Chào cả nhóm"
    with pytest.raises(NoReplyError, match="transcript") as caught:
        await user.next_reply(timeout=0.2, chat_id=group)
    assert isinstance(caught.value, TimeoutError) and "Chào cả nhóm" in str(caught.value)


async def test_standalone_process_prints_port() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.telegram",
        "--port",
        "0",
        "--no-limits",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip()
        assert line.startswith("sandbox listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        async with SandboxClient(url) as sandbox:
            assert await sandbox.health()
            assert (await sandbox.limits())["enabled"] is False
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
