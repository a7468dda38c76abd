"""The terminal chat: reads what the person types, acts as the current persona, and prints what
the bot does in every persona's chat as it happens (messages, edits, toasts, files)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import sys
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from PIL import Image

from content import Content
from sandbox.telegram.client import BotMessage, SandboxClient, SimUser
from sandbox.terminal.clock import BadMoment, SandboxClock, describe, parse_moment
from sandbox.terminal.inputs import LineReader, clean, pieces
from sandbox.zalo_chat import ZaloSide

OFFICE_CHAT_ID = -1001000000001
FIRST_REPLY_WAIT = 5.0
QUIET_WAIT = 0.4
CLOCK_WAIT = 3.0
GROUP_TEXT_WAIT = 1.0  # the bot reads only commands and replies in a group (privacy mode)
TTY_LINE_MAX = 4095  # a terminal in line mode keeps at most this many bytes of a line
EVENTS_POLL = 20.0


def photo_bytes() -> bytes:
    """A real small JPEG, as Telegram delivers photos (the bot opens and re-encodes every image)."""
    output = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 200)).save(output, "JPEG")
    return output.getvalue()


PHOTO = photo_bytes()
PDF = b"%PDF-1.4\n% sandbox document\n"

_COMMAND = re.compile(r"^:[A-Za-z]+$")
_PRESS = re.compile(r"^#\s*(\d{1,3})$")
_SAFE_NAME = re.compile(r"[^\w.\-]+")
_REPLY_TO = re.compile(r"^tin\s*(\d{1,6})\s*:\s*(.+)$", re.IGNORECASE | re.DOTALL)

FileSource = Callable[[str], tuple[bytes, str] | None]  # file_id -> (content, file path)
ClockMoved = Callable[[], Awaitable[None]]


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


@dataclass
class Shown:
    """A bot message as the terminal numbered it ([tin 5])."""

    number: int
    persona: int
    chat_id: int
    message: BotMessage


def printable(text: str) -> str:
    """Bot text safe for a terminal: no control characters (an escape sequence in what
    somebody typed must not reach the terminal), newlines kept."""
    return "".join(c for c in text if c == "\n" or unicodedata.category(c) != "Cc")


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} byte"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB".replace(".", ",")
    return f"{size / 1024 / 1024:.1f} MB".replace(".", ",")


class TerminalChat:
    """One terminal, four personas; every persona's chat is watched in the background."""

    def __init__(
        self,
        bundle: Content,
        users: list[SimUser],
        client: SandboxClient,
        *,
        files: FileSource | None = None,
        files_dir: Path | None = None,
        clock: SandboxClock | None = None,
        clock_moved: ClockMoved | None = None,
        out: TextIO | None = None,
        zalo: ZaloSide | None = None,
    ) -> None:
        self.texts = bundle.texts
        self.users = users
        self.client = client
        self.files = files
        self.files_dir = files_dir
        self.clock = clock
        self.clock_moved = clock_moved
        self.out = out or sys.stdout
        self.zalo = zalo  # `:kenh zalo`: chat as a Zalo person through the fake Zalo OA
        self.on_zalo = False
        self.current = 0
        self.shown: dict[int, Shown] = {}
        self._numbers: dict[tuple[int, int], int] = {}
        self._latest: dict[int, int] = {}  # persona -> number of its latest bot message
        self._latest_buttons: dict[int, int] = {}  # persona -> latest message with buttons
        self._waiting: dict[int, list[tuple[str, Shown]]] = {}  # other personas' news
        self._chat_persona: dict[int, int] = {}
        for i, (persona, user) in enumerate(zip(PERSONAS, users, strict=True)):
            self._chat_persona[user.id] = i
            if persona.in_office_group:
                self._chat_persona[OFFICE_CHAT_ID] = i
        self._seen = 0  # events of the current persona so far
        self._pulse = asyncio.Event()
        self._at_prompt = False
        self._watchers: list[asyncio.Task[None]] = []
        self.echo = not _isatty(sys.stdin)

    # ------------------------------------------------------------------------- printing

    @property
    def persona(self) -> Persona:
        return PERSONAS[self.current]

    @property
    def user(self) -> SimUser:
        return self.users[self.current]

    @property
    def chat_id(self) -> int:
        return OFFICE_CHAT_ID if self.persona.in_office_group else self.user.id

    def write(self, text: str) -> None:
        """Print a line; if the prompt is showing, on a fresh line and the prompt again after."""
        if self._at_prompt:
            self.out.write("\n")
        self.out.write(text + "\n")
        if self._at_prompt:
            self.out.write(self._prompt_text())
        self.out.flush()

    def say(self, key: str, **params: object) -> None:
        self.write(self.texts.raw(key, **params))

    def _prompt_text(self) -> str:
        name = self.zalo.name if self.on_zalo and self.zalo is not None else self.persona.name
        return f"\n{name}> "

    def prompt(self) -> None:
        self.out.write(self._prompt_text())
        self.out.flush()
        self._at_prompt = True

    def show(self, shown: Shown, event: str) -> None:
        message = shown.message
        key = "terminal.edited" if event == "edit" else "terminal.message"
        header = self.texts.raw(key, number=shown.number)
        lines = [f"\n{header} {printable(message.text or '')}".rstrip()]
        for row in message.buttons:
            labels = []
            for button in row:
                index = self._button_index(message, button)
                labels.append(f"[#{index}] {printable(button.label)}")
            lines.append("   " + "   ".join(labels))
        self.write("\n".join(lines))
        if message.file_id is not None and event == "send":
            self._save_file(shown)

    @staticmethod
    def _button_index(message: BotMessage, button: object) -> int:
        flat = [b for row in message.buttons for b in row]
        return next(i for i, b in enumerate(flat, 1) if b is button)

    def _save_file(self, shown: Shown) -> None:
        message = shown.message
        found = self.files(message.file_id) if self.files and message.file_id else None
        if found is None or self.files_dir is None:
            self.say("terminal.file_missing", kind=message.kind)
            return
        content, file_path = found
        suffix = Path(file_path).suffix
        name = message.file_name or f"{message.kind}{suffix}"
        safe = _SAFE_NAME.sub("_", Path(name).name).strip("._") or f"tep{suffix}"
        try:
            self.files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = self.files_dir / f"tin{shown.number:03d}_{safe}"
            path.write_bytes(content)
            path.chmod(0o600)  # exports and reports hold personal data
        except OSError as exc:
            self.say("terminal.error", error=type(exc).__name__)
            return
        self.say("terminal.file", name=name, size=human_size(len(content)), path=path.resolve())

    # ---------------------------------------------------------------- watching the chats

    def start_watching(self) -> None:
        for chat_id in self._chat_persona:
            self._watchers.append(asyncio.create_task(self._watch(chat_id)))

    async def stop_watching(self) -> None:
        for task in self._watchers:
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        self._watchers.clear()

    async def _watch(self, chat_id: int) -> None:
        after = 0
        while True:
            try:
                data = await self.client.events(chat_id, after=after, timeout=EVENTS_POLL)
            except asyncio.CancelledError:
                raise
            except Exception:  # the sandbox is stopping, or a hiccup: try again shortly
                await asyncio.sleep(0.5)
                continue
            for event in data.get("events", []):
                try:
                    self._on_event(chat_id, event)
                except Exception as exc:  # printing one event must never end the watcher
                    self.say("terminal.error", error=type(exc).__name__)
            after = int(data.get("last_seq", after))

    def _on_event(self, chat_id: int, event: dict[str, Any]) -> None:
        persona = self._chat_persona[chat_id]
        kind = event.get("type")
        if kind in ("send", "edit"):
            message = BotMessage.from_view(event["message"], str(kind), int(event["seq"]))
            if not message.raw.get("from_bot", True):
                return
            shown = self._remember(persona, chat_id, message)
            if persona == self.current:
                self.show(shown, str(kind))
            else:
                self._later(persona, str(kind), shown)
        elif kind == "delete":
            number = self._numbers.get((chat_id, int(event["message"]["message_id"])))
            if number is not None and persona == self.current:
                self.say("terminal.deleted", number=number)
        elif kind == "answer_callback":
            callback = event.get("callback") or {}
            text = callback.get("text")
            if text:
                key = "terminal.alert" if callback.get("show_alert") else "terminal.toast"
                self.say(key, text=printable(str(text)))
        else:
            return
        if persona == self.current:
            self._seen += 1
            self._pulse.set()

    def _remember(self, persona: int, chat_id: int, message: BotMessage) -> Shown:
        key = (chat_id, message.message_id)
        number = self._numbers.get(key)
        if number is None:
            number = self._numbers[key] = len(self._numbers) + 1
        shown = self.shown[number] = Shown(number, persona, chat_id, message)
        self._latest[persona] = number
        if message.buttons:
            self._latest_buttons[persona] = number
        elif self._latest_buttons.get(persona) == number:
            del self._latest_buttons[persona]
        return shown

    def _later(self, persona: int, kind: str, shown: Shown) -> None:
        waiting = self._waiting.setdefault(persona, [])
        if not waiting:
            other = PERSONAS[persona]
            self.say(
                "terminal.elsewhere",
                name=other.name,
                role=self.texts.raw(other.key),
                number=persona + 1,
            )
        waiting.append((kind, shown))

    async def settle(self, mark: int, first_wait: float = FIRST_REPLY_WAIT) -> None:
        """Wait for the bot's first answer after `mark`, then until it falls quiet (so that a
        pasted script's next line sees the buttons it presses)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + first_wait
        while self._seen == mark:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await self._wait_pulse(remaining)
        while True:
            before = self._seen
            await self._wait_pulse(QUIET_WAIT)
            if self._seen == before:
                return

    async def _wait_pulse(self, timeout: float) -> None:
        self._pulse.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._pulse.wait(), timeout)

    # ------------------------------------------------------------------------- actions

    async def press(self, number: int, button_number: int) -> None:
        shown = self.shown.get(number)
        if shown is None or shown.persona != self.current:
            self.say("terminal.no_such_message", number=number)
            return
        flat = [b for row in shown.message.buttons for b in row]
        if not 1 <= button_number <= len(flat) or flat[button_number - 1].data is None:
            self.say(
                "terminal.no_such_button", number=button_number, message=number, count=len(flat)
            )
            return
        data = flat[button_number - 1].data
        assert data is not None
        await self.user.press_data(shown.message.message_id, data, chat_id=shown.chat_id)

    async def press_latest(self, button_number: int) -> None:
        number = self._latest_buttons.get(self.current)
        if number is None:
            self.say("terminal.no_buttons")
            return
        await self.press(number, button_number)

    async def switch(self, argument: str) -> None:
        if argument.isdigit() and 1 <= int(argument) <= len(PERSONAS):
            self.current = int(argument) - 1
            self.say("terminal.now", role=self.texts.raw(self.persona.key), name=self.persona.name)
            for kind, shown in self._waiting.pop(self.current, []):
                self.show(shown, kind)
            return
        for i, persona in enumerate(PERSONAS, 1):
            self.say(
                "terminal.persona_line",
                number=i,
                role=self.texts.raw(persona.key),
                name=persona.name,
            )
        self.say("terminal.switch_hint")

    async def send_text(self, text: str) -> None:
        parts = pieces(text)
        if len(parts) > 1:
            self.say("terminal.split", length=len(text), count=len(parts))
        for part in parts:
            await self.user.send(part, chat_id=self.chat_id)

    async def move_clock(self, argument: str) -> bool:
        """`:gio`: show the sandbox's time, or move it forward; True when it moved."""
        clock = self.clock
        if clock is None:
            return False
        if not argument:
            self.say("terminal.clock_now", when=describe(clock.now(), clock.tz))
            return False
        try:
            moment: datetime = parse_moment(argument, clock.now(), clock.tz)
        except BadMoment:
            self.say("terminal.clock_bad", value=argument)
            return False
        if moment <= clock.now():
            self.say("terminal.clock_past", when=describe(moment, clock.tz))
            return False
        clock.move_to(moment)
        self.say("terminal.clock_moved", when=describe(clock.now(), clock.tz))
        if self.clock_moved is not None:
            await self.clock_moved()
        return True

    async def handle(self, line: str) -> bool:
        """Act on one clean line; False when the person wants to leave."""
        word, _, rest = line.partition(" ")
        argument = rest.strip()
        mark = self._seen
        wait = FIRST_REPLY_WAIT
        press = _PRESS.match(line)
        actions = {
            ":anh": lambda: self.user.send_photo(PHOTO, chat_id=self.chat_id),
            ":tep": lambda: self.user.send_document(
                "bien_ban.pdf", "application/pdf", PDF, chat_id=self.chat_id
            ),
            ":vitri": lambda: self.user.send_location(11.5349, 106.8833, chat_id=self.chat_id),
            ":nhan": lambda: self.user.send_sticker(chat_id=self.chat_id),
            ":giong": lambda: self.user.send_voice(chat_id=self.chat_id),
        }
        command = word.lower() if _COMMAND.match(word) else None
        if not line:
            return True
        if command in (":thoat", ":q"):
            return False
        if command == ":giup":
            self.say("terminal.help")
            return True
        if command == ":kenh":
            self.on_zalo = argument.lower() == "zalo" and self.zalo is not None
            if self.on_zalo and self.zalo is not None:
                self.say("terminal.zalo_now", name=self.zalo.name)
            else:
                role = self.texts.raw(self.persona.key)
                self.say("terminal.now", role=role, name=self.persona.name)
            return True
        if self.on_zalo and self.zalo is not None and command not in (":vai", ":gio"):
            await self.zalo.handle(line)
            return True
        if command == ":vai":
            await self.switch(argument)
            return True
        if command == ":gio":
            if not await self.move_clock(argument):
                return True
            wait = CLOCK_WAIT
        elif command == ":bam":
            numbers = argument.replace("#", " ").split()
            if len(numbers) != 2 or not all(n.isdigit() for n in numbers):
                self.say("terminal.bam_usage")
                return True
            await self.press(int(numbers[0]), int(numbers[1]))
        elif command == ":traloi" and argument:
            older = _REPLY_TO.match(argument)
            number = int(older.group(1)) if older else self._latest.get(self.current, 0)
            replied = self.shown.get(number)
            if older is not None and (replied is None or replied.persona != self.current):
                self.say("terminal.no_such_message", number=number)
                return True
            text = older.group(2) if older else argument
            reply_to = replied.message.message_id if replied else None
            await self.user.send(text, chat_id=self.chat_id, reply_to=reply_to)
        elif command in actions:
            await actions[command]()
        elif command is not None:
            self.say("terminal.unknown_command", command=command)
            return True
        elif press is not None:
            await self.press_latest(int(press.group(1)))
        else:
            await self.send_text(line)
            if self.persona.in_office_group and not line.startswith("/"):
                wait = GROUP_TEXT_WAIT
            latest = self.shown.get(self._latest_buttons.get(self.current, 0))
            if line.isdigit() and latest is not None:
                count = sum(len(row) for row in latest.message.buttons)
                if 1 <= int(line) <= count:
                    self.say("terminal.digits_sent", text=line)
        await self.settle(mark, wait)
        return True

    async def handle_raw(self, raw: bytes) -> bool:
        """One line as typed (any bytes): cleaned, acted on; never raises."""
        line, dropped = clean(raw)
        if self.echo:  # input from a file or a pipe: show it, as a terminal would
            self.out.write(line + "\n")
        if dropped:
            self.say("terminal.cleaned", count=dropped)
        if not self.echo and len(raw) >= TTY_LINE_MAX:
            self.say("terminal.tty_cut", limit=TTY_LINE_MAX)
        try:
            return await self.handle(line)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            detail = type(exc).__name__
            message = str(getattr(exc, "message", "") or "")[:200]
            self.say("terminal.error", error=f"{detail}: {message}" if message else detail)
            return True

    async def run(self, stop: asyncio.Event, *, intro: list[str] | None = None) -> None:
        """Until :thoat, end of input or `stop` (Ctrl+C)."""
        self.say("terminal.intro")
        for line in intro or []:
            self.write(line)
        self.say("terminal.now", role=self.texts.raw(self.persona.key), name=self.persona.name)
        self.start_watching()
        reader = LineReader(asyncio.get_running_loop())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while True:
                self.prompt()
                reading = asyncio.ensure_future(reader.readline())
                await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
                self._at_prompt = False
                if not reading.done():
                    reading.cancel()
                    self.out.write("\n")
                    return
                raw = reading.result()
                if raw is None:  # end of input (Ctrl+D)
                    self.out.write("\n")
                    return
                acting = asyncio.ensure_future(self.handle_raw(raw))
                await asyncio.wait({acting, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not acting.done():
                    acting.cancel()
                    await asyncio.gather(acting, return_exceptions=True)
                    self.out.write("\n")
                    return
                if not acting.result():
                    return
        finally:
            stopping.cancel()
            await self.stop_watching()
            self.out.flush()
