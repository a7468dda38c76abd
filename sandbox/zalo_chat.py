"""`antq sandbox` as a Zalo person: the fake Zalo OA, the bot's Zalo channel, a terminal chat.

Kept apart from the terminal chat (sandbox/terminal/, where `:kenh zalo` switches to it), which
only calls `ZaloSide.start`, `handle` and `stop`. No token, no internet: the fake OA runs on
loopback and the bot's webhook on a free local port. The fake's clock follows the sandbox's
(`:gio`), so that Zalo's webhooks are never "stale" for the bot.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable

from pydantic import SecretStr

from bot.kernel.services import Services
from handlers.web import WebServer, build_web_app
from handlers.zalo.channel import ZaloChannel
from handlers.zalo.settings import ZaloSettings
from sandbox.zalo import NoMessageError, ZaloSandboxClient, ZaloSandboxServer, ZaloSimUser
from sandbox.zalo.client import OaMessage
from sandbox.zalo.media import jpeg_with_gps, pdf_bytes
from sandbox.zalo.models import SimClock

FIRST_WAIT = 5.0
QUIET_WAIT = 0.4
_PRESS = re.compile(r"^#(\d{1,3})$")  # as on the terminal's Telegram side: #2 presses button 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ZaloSide:
    """One simulated Zalo person chatting with the bot through the fake OA."""

    def __init__(
        self,
        services: Services,
        name: str = "Cô Lan (Zalo)",
        write: Callable[[str], None] | None = None,
    ) -> None:
        self.services = services
        self.name = name
        self.write = write or (lambda text: print(text, flush=True))
        self.fake = ZaloSandboxServer(clock=SimClock(follow_real_time=True))
        self.control = ZaloSandboxClient("http://127.0.0.1")
        self.channel: ZaloChannel | None = None
        self.web: WebServer | None = None
        self.person: ZaloSimUser | None = None
        self.last_buttons: OaMessage | None = None
        self.followed = False

    async def start(self) -> None:
        await self.fake.start()
        self.control = ZaloSandboxClient(self.fake.url)
        grant = await self.control.grant()
        config = self.fake.config
        settings = ZaloSettings(
            app_id=config.app_id,
            app_secret=SecretStr(config.app_secret),
            oa_secret_key=SecretStr(config.oa_secret_key),
            refresh_token=SecretStr(grant["refresh_token"]),
            api_base_url=self.fake.url,
            oauth_base_url=self.fake.url,
            oa_id=config.oa_id,
            public_url="http://127.0.0.1",
        )
        self.channel = ZaloChannel(self.services, settings)
        app = build_web_app(self.services)
        self.channel.mount(app)
        port = _free_port()
        self.web = WebServer(app, "127.0.0.1", port)
        await self.channel.start()
        await self.web.start()
        await self.control.set_webhook(f"http://127.0.0.1:{port}/zalo/webhook")
        self.person = await self.control.create_person(self.name, follow=False)

    async def stop(self) -> None:
        if self.web is not None:
            await self.web.stop()
        if self.channel is not None:
            await self.channel.stop()
        await self.control.close()
        await self.fake.stop()

    def show(self, message: OaMessage) -> None:
        self.write(f"\n💬 {message.text}")
        if message.buttons:
            shown = "   ".join(f"[{i}] {b.title}" for i, b in enumerate(message.buttons, 1))
            self.write("   " + shown)
            self.last_buttons = message

    async def show_messages(self, first_wait: float = FIRST_WAIT) -> None:
        assert self.person is not None
        wait = first_wait
        while True:
            try:
                message = await self.person.next_message(wait)
            except NoMessageError:
                return
            self.show(message)
            wait = QUIET_WAIT

    async def handle(self, line: str) -> None:
        """One line typed as the Zalo person: text, a button's number, or a sandbox action."""
        person = self.person
        assert person is not None
        await self.control.set_clock(self.services.clock.now().timestamp())  # after a `:gio`
        word = line.partition(" ")[0]
        press = _PRESS.match(line)
        if word == ":theodoi" or not self.followed:  # the first thing a person does: follow
            self.followed = True
            await person.follow()
            await self.show_messages()
            if word == ":theodoi":
                return
        if press is not None:
            buttons = self.last_buttons.buttons if self.last_buttons else []
            number = int(press.group(1))
            if not 1 <= number <= len(buttons):
                self.write(f"(không có nút số {number})")
                return
            await person.press(buttons[number - 1].title)
        elif word == ":anh":
            await person.send_image(jpeg_with_gps(11.5349, 106.8833))
        elif word == ":tep":
            await person.send_file(pdf_bytes(), "bien_ban.pdf")
        elif word == ":vitri":
            await person.send_location(11.5349, 106.8833)
        elif word == ":nhan":
            await person.send_sticker()
        elif line:
            await person.send_text(line)
        else:
            return
        await self.show_messages()
