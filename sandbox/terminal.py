"""`antq sandbox`: the sandbox, the bot and a chat in this terminal; no token, no internet."""

from __future__ import annotations

import asyncio
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from pydantic import ValidationError

from bot.app import build_application, start_bot, stop_bot
from bot.kernel.clock import Clock
from bot.kernel.config import Mode, Settings, describe_errors
from bot.kernel.startup import open_services_or_exit
from bot.units.importer import import_units
from content import CONTENT_DIR, Content
from sandbox.telegram.client import BotMessage, NoReplyError, SandboxClient, SimUser
from sandbox.telegram.limits import LimitsConfig
from sandbox.telegram.server import SandboxServer
from sandbox.zalo_chat import ZaloSide
from storage.units import UnitRepository

SANDBOX_TOKEN = "123456:SANDBOX-local-only"
OFFICE_CHAT_ID = -1001000000001
SAMPLE_UNITS = CONTENT_DIR / "data" / "sample_units.csv"
FIRST_REPLY_WAIT = 5.0
QUIET_WAIT = 0.4
PDF = b"%PDF-1.4\n% sandbox document\n"


def photo_bytes() -> bytes:
    """A real small JPEG, as Telegram delivers photos (the bot opens and re-encodes every image)."""
    output = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 200)).save(output, "JPEG")
    return output.getvalue()


PHOTO = photo_bytes()


@dataclass(frozen=True)
class Persona:
    key: str  # text key of the role name
    name: str
    user_id: int
    in_office_group: bool = False


PERSONAS = [
    Persona("terminal.persona.teacher", "Cô Lan", 10001),
    Persona("terminal.persona.parent", "Anh Hùng", 10002),
    Persona("terminal.persona.head", "Thầy Minh", 10003),
    Persona("terminal.persona.clerk", "Chị Hoa", 90001, in_office_group=True),
]


class TerminalChat:
    """Reads lines from the terminal, acts as the current persona, prints what the bot answers."""

    def __init__(self, bundle: Content, users: list[SimUser], zalo: ZaloSide | None = None) -> None:
        self.texts = bundle.texts
        self.users = users
        self.zalo = zalo  # `:kenh zalo`: chat as a Zalo person through the fake Zalo OA
        self.on_zalo = False
        self.current = 0
        self.last_buttons: dict[int, BotMessage] = {}
        self.last_message: dict[int, int] = {}  # persona -> id of the bot's latest message

    @property
    def persona(self) -> Persona:
        return PERSONAS[self.current]

    @property
    def user(self) -> SimUser:
        return self.users[self.current]

    @property
    def chat_id(self) -> int:
        return OFFICE_CHAT_ID if self.persona.in_office_group else self.user.id

    def say(self, key: str, **params: object) -> None:
        print(self.texts.raw(key, **params), flush=True)

    def show(self, message: BotMessage) -> None:
        mark = self.texts.raw("terminal.edited") if message.event == "edit" else ""
        self.last_message[self.current] = message.message_id
        print(f"\n🤖 {mark}{message.text or ''}", flush=True)
        if message.buttons:
            numbered = [b.label for row in message.buttons for b in row]
            print(
                "   " + "   ".join(f"[{i}] {label}" for i, label in enumerate(numbered, 1)),
                flush=True,
            )
            self.last_buttons[self.current] = message

    async def show_replies(self, first_wait: float = FIRST_REPLY_WAIT) -> None:
        """Print the bot's answers: wait for the first, then until the bot falls quiet."""
        wait = first_wait
        while True:
            try:
                message = await self.user.next_reply(wait, chat_id=self.chat_id)
            except NoReplyError:
                return
            self.show(message)
            wait = QUIET_WAIT

    async def press(self, number: int) -> None:
        message = self.last_buttons.get(self.current)
        flat = [b for row in message.buttons for b in row] if message else []
        if not 1 <= number <= len(flat) or message is None:
            self.say("terminal.no_such_button", count=len(flat))
            return
        button = flat[number - 1]
        if button.data is None:
            self.say("terminal.no_such_button", count=len(flat))
            return
        await self.user.press_data(message.message_id, button.data, chat_id=self.chat_id)
        await self.show_replies()

    async def switch(self, argument: str) -> None:
        if argument.isdigit() and 1 <= int(argument) <= len(PERSONAS):
            self.current = int(argument) - 1
            self.say("terminal.now", role=self.texts.raw(self.persona.key), name=self.persona.name)
            await self.show_replies(first_wait=QUIET_WAIT)
            return
        for i, persona in enumerate(PERSONAS, 1):
            self.say(
                "terminal.persona_line",
                number=i,
                role=self.texts.raw(persona.key),
                name=persona.name,
            )
        self.say("terminal.switch_hint")

    async def handle(self, line: str) -> bool:
        """Act on one line; False when the person wants to leave."""
        word, _, argument = line.partition(" ")
        actions = {
            ":anh": lambda: self.user.send_photo(PHOTO, chat_id=self.chat_id),
            ":tep": lambda: self.user.send_document(
                "bien_ban.pdf", "application/pdf", PDF, chat_id=self.chat_id
            ),
            ":vitri": lambda: self.user.send_location(11.5349, 106.8833, chat_id=self.chat_id),
            ":nhan": lambda: self.user.send_sticker(chat_id=self.chat_id),
            ":giong": lambda: self.user.send_voice(chat_id=self.chat_id),
        }
        if word in (":thoat", ":q"):
            return False
        if word == ":kenh":
            self.on_zalo = argument.strip().lower() == "zalo" and self.zalo is not None
            if self.on_zalo and self.zalo is not None:
                self.say("terminal.zalo_now", name=self.zalo.name)
            else:
                self.say(
                    "terminal.now", role=self.texts.raw(self.persona.key), name=self.persona.name
                )
            return True
        if self.on_zalo and self.zalo is not None and word != ":giup":
            await self.zalo.handle(line)
            return True
        if word == ":giup":
            self.say("terminal.help")
        elif word == ":vai":
            await self.switch(argument.strip())
        elif word == ":traloi" and argument.strip():
            replied = self.last_message.get(self.current)
            await self.user.send(argument.strip(), chat_id=self.chat_id, reply_to=replied)
            await self.show_replies()
        elif word in actions:
            await actions[word]()
            await self.show_replies()
        elif line.isdigit():
            await self.press(int(line))
        elif line:
            await self.user.send(line, chat_id=self.chat_id)
            await self.show_replies()
        return True

    async def run(self) -> None:
        self.say("terminal.intro")
        self.say("terminal.now", role=self.texts.raw(self.persona.key), name=self.persona.name)
        while True:
            name = self.zalo.name if self.on_zalo and self.zalo else self.persona.name
            print(f"\n{name}> ", end="", flush=True)
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                print(flush=True)
                return
            if not await self.handle(line.strip()):
                return


def sandbox_settings(bundle: Content, server_url: str, database: Path) -> Settings | None:
    try:
        return Settings(
            bot_token=SANDBOX_TOKEN,
            api_base_url=server_url,
            mode=Mode.POLLING,
            database_path=database,
            data_key_file=database.with_suffix(".key"),
            office_chat_id=OFFICE_CHAT_ID,
            office_admins=",".join(str(p.user_id) for p in PERSONAS if p.in_office_group),
        )
    except ValidationError as exc:
        print(bundle.texts.get("config.invalid"), file=sys.stderr)
        for line in describe_errors(exc, bundle.texts):
            print(f"  {line}", file=sys.stderr)
        return None


def remove_database(database: Path) -> None:
    """Start the sandbox from nothing: the database and its WAL files go."""
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        path.unlink(missing_ok=True)
    database.with_suffix(".key").unlink(missing_ok=True)


async def run_terminal(bundle: Content, database: Path) -> int:
    server = SandboxServer(limits=LimitsConfig(chat_burst=10))
    await server.start()
    try:
        settings = sandbox_settings(bundle, server.url, database)
        if settings is None:
            return 2
        services = await open_services_or_exit(settings, bundle, Clock(settings.tz))
        app = build_application(services)
        try:
            if await UnitRepository(services.db).count() == 0:
                await import_units(services.db, SAMPLE_UNITS)
            async with SandboxClient(server.url) as client:
                users = [await client.create_user(p.name, user_id=p.user_id) for p in PERSONAS]
                office = [u for u, p in zip(users, PERSONAS, strict=True) if p.in_office_group]
                await client.create_group(
                    bundle.texts.raw("terminal.office_group"), office, chat_id=OFFICE_CHAT_ID
                )
                await start_bot(app, services)
                zalo = ZaloSide(services)
                await zalo.start()
                try:
                    await TerminalChat(bundle, users, zalo).run()
                finally:
                    await zalo.stop()
        finally:
            await stop_bot(app)
            await services.close()
    finally:
        await server.stop()
    return 0
