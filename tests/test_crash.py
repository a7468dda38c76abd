"""Crash test: people submit reports while the bot process is SIGKILLed and restarted at random.

50 simulated people (starting within 10 s of each other) walk the whole /baocao dialog with a
photo as evidence, against the real bot running as a subprocess (`antq run`) on a sandbox in
this process. A killer task SIGKILLs the bot 4 to 6 times and starts it again at once: at random
points of the people's progress (seeded), two of them as soon as a report has been committed
after a press of "Gửi" (before its receipt can be shown), one as soon as someone was shown a
receipt. A person who gets no answer in time does what a person does: sends the same input
again, or presses the same button again, reading where they are from the bot's latest message;
a person whose dialog is gone ("Gửi" processed, receipt lost) has simply not seen a code.
Afterwards:

- every receipt code a person was shown has its report in the database, under their chat id;
- nobody has more than one report (nothing was submitted twice), and each report was announced
  to the office exactly once in the outbox;
- most people got their code (the others' "Gửi" was processed just before a crash);
- after the last restart the outbox drains, and the office group got no message twice except
  messages that were in flight (claimed, state 'sending') at the moment of a kill.

The seed can be changed with ANTQ_CRASH_SEED (it is printed, to replay a failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Coroutine, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from benchmarks._procs import (
    PYTHON,
    ROOT,
    Proc,
    ProcessError,
    Procs,
    antq_run_argv,
    python_env,
    run_checked,
)
from sandbox.telegram import LimitsConfig, SandboxClient, SandboxServer, SimUser
from sandbox.telegram.client import BotMessage, NoReplyError

USERS = 50
MIN_WITH_CODE = 40
KILLS = (4, 6)  # how many kills, drawn from this range (inclusive)
KILL_SPAN = (0.05, 0.95)  # kills at random points of the people's progress, in this span
JITTER = 0.3  # seconds, at most, between reaching a point and the kill
CUED = ("stored", "stored", "receipt")  # kills that wait for a cue besides progress (below)
STORE_WAIT = 2.0  # seconds, at most, from a press of "Gửi" to its report being stored
MIN_UPTIME = 0.5  # and each at least this long after the bot is up again
STEPS = 12  # inputs of one person's walk when nothing goes wrong
SEED = int(os.environ.get("ANTQ_CRASH_SEED", "20261127"))
REPLY_PATIENCE = 4.0  # a person waits this long for an answer before trying again
USER_BUDGET = 55.0  # and gives up after this long in all
START_SPREAD = 10.0  # people start within this many seconds
THINK = (0.0, 0.25)  # seconds a person takes to answer a question
READY_TIMEOUT = 30.0
DRAIN_TIMEOUT = 30.0
OFFICE_PACE = 600.0  # office messages a minute (the sandbox's group limit is off, see below)

TOKEN = "123456:CRASH-token"
OFFICE_CHAT_ID = -1001000000001
CLERK_ID = 90001
OFFICE_KINDS = ("office_report", "office_file")
UNITS_CSV = ROOT / "content" / "data" / "sample_units.csv"

CODE = re.compile(r"\b([0-9A-Z]{4}-[0-9A-Z]{4})\b")
STATE_SEQ = re.compile(r"^d:(\d+):")
RECEIVED = "Đã tiếp nhận tin báo"
NO_DIALOG = "chưa hiểu tin nhắn"  # chat.not_understood: text sent with no open dialog
STALE_NO_DIALOG = "Nút này không còn hiệu lực"  # chat.stale_button: a press with no open dialog
UNEXPECTED = ("giống hệt", "nhiều tin báo trong một giờ", "Đã hủy", "gặp sự cố")
CATEGORY = "Lừa đảo qua mạng"
OUT_OF_TIME = "out of time"  # no receipt and no sign of a submitted report within USER_BUDGET


# ---------------------------------------------------------------------------- one person


@dataclass(frozen=True)
class Move:
    """What a person does at one question of the dialog."""

    step: str
    action: str  # "send", "press", "photo" or "location"
    value: str = ""


OPEN = Move("open", "send", "/baocao")


def moves_for(number: int) -> list[tuple[str, Move]]:
    """(fragment of the question, answer), most specific first; texts unique to the person."""
    what = (
        f"Người thứ {number} kể: có người lạ gọi điện cho phụ huynh nói con bị tai nạn "
        f"và đòi chuyển tiền gấp vào tài khoản {700_000 + number}."
    )
    place = f"Cổng sau trường số {number}, đường Phú Riềng Đỏ"
    return [
        ("kiểm tra lại thông tin", Move("confirm", "press", "✅ Gửi")),
        ("Đã nhận tệp", Move("evidence_done", "press", "Xong, không gửi thêm")),
        ("bằng chứng", Move("evidence", "photo")),
        ("liên hệ lại với bạn", Move("contact", "press", "Không để lại")),
        ("Những ai liên quan", Move("people", "press", "Bỏ qua")),
        ("xảy ra ngày nào", Move("when", "press", "Hôm nay")),
        ("vị trí trên bản đồ", Move("location", "location")),
        ("mô tả nơi xảy ra", Move("where_text", "send", place)),
        ("xảy ra ở đâu", Move("where", "press", "Nơi khác (tôi sẽ mô tả)")),
        ("Chuyện gì đã xảy ra", Move("what", "send", what)),
        ("thuộc loại nào", Move("category", "press", CATEGORY)),
    ]


@dataclass
class Reporter:
    """A simulated person walking /baocao, patient for REPLY_PATIENCE seconds at a time."""

    user: SimUser
    number: int
    moves: list[tuple[str, Move]] = field(default_factory=list)
    code: str | None = None
    gone: bool = False  # the dialog vanished ("Gửi" processed, its answer lost in a crash)
    error: str | None = None
    actions: int = 0
    retries: int = 0
    seconds: float = 0.0
    _answered: tuple[str, str] | None = None  # the question last answered: (step, state seq)
    _current: tuple[Move, BotMessage] | None = None  # the latest question seen
    _last_query: str | None = None  # callback query id of the last press
    cues: Cues | None = None  # the killer's
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.moves = moves_for(self.number)
        self.rng.seed(SEED * 1000 + self.number)

    async def run(self, start_at: float) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, start_at - loop.time()))
        began = loop.time()
        try:
            await self._walk(began + USER_BUDGET)
        except Exception as exc:  # recorded, and reported by the test with the transcript
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.seconds = loop.time() - began

    async def _walk(self, end: float) -> None:
        loop = asyncio.get_running_loop()
        await self._do(OPEN, None)
        retry_at = loop.time() + REPLY_PATIENCE
        while loop.time() < end:
            wait = max(0.01, min(retry_at, end) - loop.time())
            try:
                message = await self.user.next_reply(wait)
            except NoReplyError:
                message = None
            if message is not None:
                if self._finished(message):
                    return
                question = self._question(message)
                if question is None:  # the emergency numbers, the intro: read on
                    continue
                move, asked = question
                self._current = (move, message)
                if asked == self._answered:  # the same question again (a rejected repeat)
                    continue
                await asyncio.sleep(self.rng.uniform(*THINK))
                await self._do(move, message)
                self._answered = asked
                retry_at = loop.time() + REPLY_PATIENCE
                continue
            if self._last_query is not None and await self._press_was_stale(self._last_query):
                self.gone = True
                return
            self.retries += 1
            if self._current is None:
                await self._do(OPEN, None)
            else:
                await self._do(*self._current)
            retry_at = loop.time() + REPLY_PATIENCE
        self.error = OUT_OF_TIME

    def _finished(self, message: BotMessage) -> bool:
        text = message.text or ""
        if RECEIVED in text:
            match = CODE.search(text)
            assert match, f"a receipt without a code: {text!r}"
            self.code = match.group(1)
            if self.cues is not None:
                self.cues.receipt.set()
            return True
        if NO_DIALOG in text:
            self.gone = True
            return True
        for phrase in UNEXPECTED:
            if phrase in text:
                self.error = f"unexpected answer: {text!r}"
                return True
        return False

    def _question(self, message: BotMessage) -> tuple[Move, tuple[str, str]] | None:
        """The dialog's question in this message, with its identity (step, state seq)."""
        text = message.text or ""
        for fragment, move in self.moves:
            if fragment in text:
                seqs = {m.group(1) for row in message.buttons for b in row if (m := _seq(b.data))}
                asked = ",".join(sorted(seqs)) or f"event {message.seq}"
                return move, (move.step, asked)
        return None

    async def _do(self, move: Move, message: BotMessage | None) -> None:
        self.actions += 1
        user = self.user
        if move.action == "send":
            await user.send(move.value)
        elif move.action == "photo":
            await user.send_photo()
        elif move.action == "location":
            await user.send_location(11.5349, 106.8833)
        else:
            target = message.message_id if message is not None else None
            with contextlib.suppress(AssertionError):  # edited since: its answer is coming
                query_id = await user.press(move.value, message_id=target)
                self._last_query = query_id
                if move.step == "confirm" and self.cues is not None:
                    self.cues.submitted(self.user.id, query_id)
            return
        self._last_query = None

    async def _press_was_stale(self, query_id: str) -> bool:
        """The bot answered the last press with "this button is old": no dialog is open."""
        answer = await self.user.callback_answer(query_id, timeout=0.0)
        return bool(answer.get("answered")) and STALE_NO_DIALOG in (answer.get("text") or "")


def _seq(data: str | None) -> re.Match[str] | None:
    return STATE_SEQ.match(data) if data else None


# ------------------------------------------------------------------------ bot and killer


class CrashingBot:
    """The bot subprocess; `crash_and_restart` SIGKILLs it and starts it again at once."""

    def __init__(self, procs: Procs, server: SandboxServer, env: dict[str, str], db: Path):
        self.procs = procs
        self.server = server
        self.env = env
        self.db = db
        self.proc: Proc | None = None
        self.starts = 0
        self.kills = 0
        self.in_flight: set[tuple[str, str]] = set()  # (kind, ref) 'sending' at a kill
        self.between_commit_and_receipt = 0  # "stored" kills that struck in time
        self.callbacks_at_start = 0  # button presses the sandbox had seen when it last started
        self._polls_at_start = 0

    def start(self) -> None:
        self.starts += 1
        self._polls_at_start = self.server.state.stats.methods.get("getUpdates", 0)
        self.callbacks_at_start = len(self.server.state.callbacks)
        cwd = self.db.parent  # no stray .env is read
        argv = antq_run_argv(OFFICE_PACE)
        self.proc = self.procs.start(f"bot-{self.starts}", argv, env=self.env, cwd=cwd)

    async def ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Seconds until the current process polls for updates; ProcessError if it died."""
        assert self.proc is not None
        started = time.perf_counter()
        while self.server.state.stats.methods.get("getUpdates", 0) <= self._polls_at_start:
            self.proc.check_alive()
            if time.perf_counter() - started > timeout:
                raise ProcessError(f"no getUpdates within {timeout:g} s\n{self.proc.report()}")
            await asyncio.sleep(0.02)
        return time.perf_counter() - started

    def crash_and_restart(self) -> None:
        assert self.proc is not None
        self.proc.check_alive()  # it must not have died on its own
        self.procs.kill(self.proc)
        self.kills += 1
        self.in_flight |= {
            (str(kind), str(ref))
            for kind, ref in query(
                self.db,
                "SELECT kind, ref FROM outbox WHERE state = 'sending' AND kind IN (?, ?)",
                OFFICE_KINDS,
            )
        }
        self.start()


@dataclass
class Cues:
    """Set by the people, awaited by the killer."""

    submitting: asyncio.Event = field(default_factory=asyncio.Event)  # someone pressed "Gửi"
    receipt: asyncio.Event = field(default_factory=asyncio.Event)  # someone saw a receipt
    people_done: asyncio.Event = field(default_factory=asyncio.Event)
    submitter: tuple[int, str] = (0, "")  # chat and callback query of the last "Gửi"

    def submitted(self, chat_id: int, query_id: str) -> None:
        self.submitter = (chat_id, query_id)
        self.submitting.set()


@dataclass(frozen=True)
class Kill:
    """When to strike: once the people have sent `after_updates` updates (or are all done),
    and then
    - "progress": at a random moment within JITTER;
    - "stored": after the next press of "Gửi", as soon as a report is stored but before the bot
      could show its receipt (is the report then submitted twice when the person presses again?);
    - "receipt": as soon as someone was shown a receipt (was the report stored before?)."""

    after_updates: int
    cue: str = "progress"


def plan_kills(rng: random.Random) -> list[Kill]:
    count = rng.randint(*KILLS)
    points = sorted(int(rng.uniform(*KILL_SPAN) * USERS * STEPS) for _ in range(count))
    cues = [*CUED, *["progress"] * (count - len(CUED))]
    rng.shuffle(cues)
    return [Kill(point, cue) for point, cue in zip(points, cues, strict=True)]


async def killer(
    bot: CrashingBot, rng: random.Random, plan: Sequence[Kill], cues: Cues
) -> list[float]:
    """Each kill of the plan, at least MIN_UPTIME after the bot is up again; then wait until it
    is up. Returns the moments of the kills, in seconds from the start."""
    began = time.perf_counter()
    done = []
    state = bot.server.state
    for kill in plan:
        await bot.ready()
        await asyncio.sleep(MIN_UPTIME)
        while state.stats.updates_total < kill.after_updates:
            if cues.people_done.is_set():
                break
            await asyncio.sleep(0.01)
        if kill.cue == "stored":
            cues.submitting.clear()
            await _first(cues.submitting.wait(), cues.people_done.wait())
            await until_handling(bot, *cues.submitter, timeout=STORE_WAIT)
            if block_until_stored(bot.db, count_reports(bot.db), STORE_WAIT):
                bot.between_commit_and_receipt += 1
        elif kill.cue == "receipt":
            cues.receipt.clear()
            await _first(cues.receipt.wait(), cues.people_done.wait())
        else:
            await asyncio.sleep(rng.uniform(0.0, JITTER))
        bot.crash_and_restart()
        done.append(time.perf_counter() - began)
    await bot.ready()
    return done


async def until_handling(bot: CrashingBot, chat_id: int, query_id: str, timeout: float) -> None:
    """Until the bot has fetched this press and answered the ones made in the chat since it
    started: from then on, handling the press needs nothing from the sandbox (no lock of the
    chat is held by a handler waiting for an answer) before the report is committed."""
    state = bot.server.state
    pressed = state.updates[-1].update_id if state.updates else 0
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        fetched = not state.updates or state.updates[0].update_id > pressed
        since_start = list(state.callbacks.values())[bot.callbacks_at_start :]
        waiting = any(
            r.chat_id == chat_id and r.id != query_id and not r.answered for r in since_start
        )
        if fetched and not waiting:
            return
        await asyncio.sleep(0.001)


async def _first(*waits: Coroutine[Any, Any, Any]) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


# ---------------------------------------------------------------------------- database


def query(db: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db, timeout=10)) as conn:
        return conn.execute(sql, list(params)).fetchall()


def block_until_stored(db: Path, stored: int, timeout: float) -> bool:
    """Wait, blocking this process's event loop, until the database holds more than `stored`
    reports. The sandbox runs on that loop, so meanwhile the bot can commit a report but no
    message of its can be delivered: a kill right after lands between commit and receipt."""
    deadline = time.perf_counter() + timeout
    while count_reports(db) == stored:
        if time.perf_counter() >= deadline:
            return False
        time.sleep(0.0005)
    return True


def count_reports(db: Path) -> int:
    return int(query(db, "SELECT COUNT(*) FROM reports")[0][0])


def office_backlog(db: Path) -> dict[str, int]:
    rows = query(
        db,
        "SELECT state, COUNT(*) FROM outbox WHERE kind IN (?, ?) GROUP BY state",
        OFFICE_KINDS,
    )
    return {str(state): int(n) for state, n in rows}


async def wait_for_drain(
    db: Path, bot: CrashingBot, timeout: float
) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    while True:
        assert bot.proc is not None
        bot.proc.check_alive()
        backlog = office_backlog(db)
        if set(backlog) <= {"sent"}:
            return time.perf_counter() - started, backlog
        if set(backlog) - {"sent", "pending", "sending"}:
            raise AssertionError(f"office messages failed: {backlog}")
        if time.perf_counter() - started > timeout:
            raise AssertionError(f"the outbox did not drain within {timeout:g} s: {backlog}")
        await asyncio.sleep(0.2)


def log_problems(log_dir: Path, limit: int = 20) -> list[str]:
    """Warnings, errors and tracebacks the bot processes logged (their stderr files)."""
    lines = []
    for path in sorted(log_dir.glob("*bot-*.err")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for line in text.splitlines():
            if any(word in line for word in (" WARNING ", " ERROR ", "Traceback", "Error:")):
                lines.append(f"{path.stem}: {line}")
    return lines[:limit] + ([f"... {len(lines) - limit} more"] if len(lines) > limit else [])


# -------------------------------------------------------------------------------- test


async def test_reports_survive_sigkill_at_random_moments(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    rng = random.Random(SEED)
    plan = plan_kills(rng)
    db = tmp_path / "antq.db"
    # The group limit is off so that the office's 100 messages drain in seconds (the bot is
    # started with its office pace raised to match, see antq_run_argv); what is tested here is
    # that nothing is lost or doubled across crashes, not Telegram's flood limits.
    server = SandboxServer(limits=LimitsConfig.disabled())
    env = python_env(
        {
            "ANTQ_BOT_TOKEN": TOKEN,
            "ANTQ_DATABASE_PATH": str(db),
            "ANTQ_DATA_KEY": Fernet.generate_key().decode(),
            "ANTQ_OFFICE_CHAT_ID": str(OFFICE_CHAT_ID),
            "ANTQ_OFFICE_ADMINS": str(CLERK_ID),
            "ANTQ_LOG_LEVEL": "WARNING",
            "ANTQ_MODE": "polling",
        }
    )
    procs = Procs(tmp_path)
    bot = CrashingBot(procs, server, env, db)
    tasks: list[asyncio.Task[Any]] = []
    try:
        await server.start()
        env["ANTQ_API_BASE_URL"] = server.url  # the port is known now
        units = [PYTHON, "-m", "bot", "units", "import", str(UNITS_CSV)]
        run_checked("antq units import", units, env=env, cwd=tmp_path)
        async with SandboxClient(server.url) as client:
            clerk = await client.create_user("Hoa", user_id=CLERK_ID, username="hoa_vp")
            await client.create_group("Văn phòng Sở", [clerk], chat_id=OFFICE_CHAT_ID)
            people = [
                Reporter(await client.create_user(f"Người {n}"), n) for n in range(1, USERS + 1)
            ]
            bot.start()
            first_ready = await bot.ready()
            loop = asyncio.get_running_loop()
            cues = Cues()
            for person in people:
                person.cues = cues
            kill_task = asyncio.create_task(killer(bot, rng, plan, cues))
            walks = [
                asyncio.create_task(p.run(loop.time() + rng.uniform(0, START_SPREAD)))
                for p in people
            ]
            tasks = [kill_task, *walks]
            await asyncio.wait(walks, timeout=USER_BUDGET + START_SPREAD + 10)
            cues.people_done.set()
            walked = time.perf_counter() - t0
            moments = await kill_task
            drain_seconds, backlog = await wait_for_drain(db, bot, DRAIN_TIMEOUT)

            transcripts = {p.user.id: await p.user.transcript() for p in people}
            office = await client.messages(OFFICE_CHAT_ID)
        reports = query(db, "SELECT code, chat_id FROM reports")
        announced = query(
            db,
            "SELECT ref, COUNT(*) FROM outbox WHERE kind = 'office_report' GROUP BY ref",
        )
        report_refs = dict(query(db, "SELECT 'report:' || id, code FROM reports"))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        procs.stop_all()
        await server.stop()

    # What each person was shown: every receipt code the bot posted in their chat.
    shown: dict[int, set[str]] = {}
    for person in people:
        codes = {
            code
            for m in transcripts[person.user.id]
            if m["from_bot"] and RECEIVED in (m["text"] or "")
            for code in CODE.findall(m["text"])
        }
        shown[person.user.id] = codes
    by_code = {str(code): chat_id for code, chat_id in reports}
    per_chat = Counter(chat_id for _, chat_id in reports)
    with_code = sum(1 for codes in shown.values() if codes)
    unseen = [p for p in people if not shown[p.user.id] and per_chat[p.user.id]]
    office_texts = Counter(
        (m["kind"], m["text"] if m["text"] is not None else m["caption"]) for m in office
    )
    doubled = {key: n - 1 for key, n in office_texts.items() if n > 1}
    kind_of = {"text": "office_report", "photo": "office_file"}
    doubled_refs = set()
    for kind, text in doubled:
        code = CODE.search(text or "")
        ref = next((r for r, c in report_refs.items() if code and c == code.group(1)), None)
        doubled_refs.add((kind_of.get(kind, kind), ref))

    marks = [{"stored": "*", "receipt": "+"}.get(kill.cue, "") for kill in plan]
    when = ", ".join(f"{moment:.1f}{mark}" for moment, mark in zip(moments, marks, strict=True))
    print(
        f"\ncrash test (seed {SEED}): {USERS} people; {bot.kills} SIGKILLs at {when} s"
        f" (* as a report was stored, + as a receipt was seen); {bot.between_commit_and_receipt}"
        f" of the * struck right after a commit; first start {first_ready:.1f} s"
    )
    print(
        f"  {with_code}/{USERS} got their receipt code; {len(unseen)} submitted without seeing"
        f" it; {sum(1 for p in people if p.error)} did not finish;"
        f" {len(reports)} reports in the database"
    )
    print(
        f"  actions {sum(p.actions for p in people)}, of them repeated after a silence"
        f" {sum(p.retries for p in people)}; slowest person {max(p.seconds for p in people):.1f} s"
    )
    print(
        f"  office: {len(office)} messages, outbox {backlog}, drained {drain_seconds:.1f} s after"
        f" the people were done; {sum(doubled.values())} posted twice (in flight at a kill:"
        f" {len(bot.in_flight)} messages); sandbox stats duplicates (all chats)"
        f" {server.state.stats.duplicates}"
    )
    print(f"  people done after {walked:.1f} s; total {time.perf_counter() - t0:.1f} s")
    for line in log_problems(tmp_path):
        print(f"  bot log: {line}")
    for person in people:
        if person.error:
            print(f"  person {person.number}: {person.error}")

    for person in people:
        for code in shown[person.user.id]:
            assert code in by_code, f"person {person.number} was shown {code}: not in reports"
            assert by_code[code] == str(person.user.id), (
                f"{code} is not under person {person.number}"
            )
    assert [chat for chat, n in per_chat.items() if n > 1] == [], "a report was stored twice"
    assert len(reports) <= USERS
    assert all(n == 1 for _, n in announced), f"a report was announced twice: {announced}"
    assert len(announced) == len(reports), "a report was never announced to the office"
    broken = [f"{p.number}: {p.error}" for p in people if p.error and p.error != OUT_OF_TIME]
    assert broken == [], "people got answers that only a bug gives, or the walk itself broke"
    assert with_code >= MIN_WITH_CODE, f"only {with_code}/{USERS} people got their code"
    assert bot.kills == len(plan) >= KILLS[0]
    rows = sum(backlog.values())
    assert len(office_texts) == rows, f"{rows} office messages sent, {len(office_texts)} arrived"
    office_codes = {c for m in office if m["kind"] == "text" for c in CODE.findall(m["text"] or "")}
    assert set(by_code) <= office_codes, "a report never reached the office group"
    assert doubled_refs <= bot.in_flight, f"posted twice but not in flight: {doubled_refs}"
