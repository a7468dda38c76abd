#!/usr/bin/env python3
"""The weekly push through the sandbox: delivery rate, 429s, duplicates and losses; a crash.

Four runs, each on a fresh sandbox and a fresh database (`--only 1,2,4` picks some):

1. Limits on (the sandbox's 30 messages/s global, 1/s per chat), under both of the sandbox's
   flood-control algorithms (`--algorithm bucket`: token buckets; `--algorithm window`: a
   strict sliding window, no more than 30 in any second and 1 per chat), each on a fresh
   sandbox: `python -m bot run` as shipped delivers the week's push (2026-09-07, staff)
   planned by `OutreachRepository.plan_push` to `--push-subscribers` people (800); then, for
   comparison, python-telegram-bot's own `AIORateLimiter(max_retries=3)` sends the same number
   of messages (`ExtBot.send_message`, all at once, PTB's defaults otherwise). For each: the
   delivery rate (delivered over the time from the first to the last delivery, as seen by
   polling the sandbox's stats) and its ratio to 30/s, the 429s drawn (all, and in steady
   state: after the first 10 % were delivered), the most calls the sandbox accepted in any
   one second, the duplicates and the losses. Aims (the outbox): ratio >= 0.95, no 429 in
   steady state, no loss, a higher ratio than PTB's limiter, under both algorithms.
2. The same, but the bot is killed with SIGKILL once about half were delivered and restarted at
   once. Prints the losses (aim: 0), the duplicates, and the messages in flight at the kill
   (outbox rows 'sending' right after it; aim: duplicates <= in flight).
3. Limits off (`--no-limits`), and the outbox sender runs in this process with its own pacing
   lifted (global 100,000/s, per chat 1,000/s, concurrency 32), against the same push: prints
   the highest rate the send path sustains on this machine (aim: >= 300/s).
4. In a fresh subprocess (so that its peak RSS is its own): how long `plan_push` takes for
   `--plan-subscribers` people (1,000,000) in SQLite, and its peak memory, VmHWM (aims: < 60 s,
   < 500 MB). The people are inserted beforehand by another subprocess, timed separately.

Everything runs on 127.0.0.1; with the defaults it takes about seven minutes (run 1 about
two and a half: `--only 1`).
Run it with `.venv/bin/python benchmarks/broadcast.py` (`--help` lists the options).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sqlite3
import sys
import tempfile
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import telegram
from cryptography.fernet import Fernet
from pydantic import SecretStr
from telegram.error import RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import content  # noqa: E402
from benchmarks._procs import (  # noqa: E402
    PYTHON,
    Proc,
    ProcessError,
    Procs,
    python_env,
    run_checked,
)
from bot.kernel.clock import Clock  # noqa: E402
from bot.kernel.config import Settings  # noqa: E402
from bot.kernel.outbox import OutboxSender  # noqa: E402
from bot.kernel.services import Services  # noqa: E402
from handlers.telegram.outbox_transport import TelegramTransport, make_outbox_bot  # noqa: E402
from sandbox.telegram.client import SandboxClient  # noqa: E402
from sandbox.telegram.limits import max_in_window  # noqa: E402
from storage.db import Database, to_db  # noqa: E402
from storage.outbox import OutboxRepository  # noqa: E402
from storage.outreach import OutreachRepository  # noqa: E402

TOKEN = "123456:BENCH-token"
WEEK = date(2026, 9, 7)
AUDIENCE = "staff"
PAYLOADS = {
    "teacher": f"ref:outreach:{WEEK.isoformat()}:staff",
    "head": f"ref:outreach:{WEEK.isoformat()}:head",
}
PUSH_REF = f"outreach:{WEEK.isoformat()}"  # the outbox rows' `ref`
KIND = "outreach"
FIRST_USER_ID = 700_000_001
SANDBOX_GLOBAL_RATE = 30.0  # the sandbox's default limit, messages per second
ALGORITHMS = ("bucket", "window")  # the sandbox's flood-control algorithms
PTB_TEXT = (
    "<b>Tuần 1: An ninh mạng trong trường học</b>\nKính gửi quý thầy cô: nội dung tuyên truyền"
    " cho buổi chào cờ thứ Hai tuần này. " * 4
)
STEADY_AFTER = 0.10  # steady state: once this share of the push was delivered
READY_TIMEOUT = 30.0
POLL_SECONDS = 0.1  # how often the sandbox's counters are sampled
DRAIN_SLACK = 60.0  # seconds allowed beyond the push's length at the paced rate

AIM_RATIO = 0.95
AIM_LIFTED_RATE = 300.0
AIM_PLAN_SECONDS = 60.0
AIM_PLAN_MB = 500.0

# Run 4's subprocesses import only what they use, so that peak RSS is the planner's own. Its peak
# is read from VmHWM as well as ru_maxrss: on Linux ru_maxrss keeps, across exec, the high-water
# mark of the process that forked it (this one), so it cannot fall below this process's RSS.
_POPULATE = """
import asyncio, json, sqlite3, sys, time
from datetime import UTC, datetime
from storage.db import Database, to_db

path, count, first_id, head_every = sys.argv[1], *map(int, sys.argv[2:5])

async def migrate():
    db = await Database.open(path)
    await db.close()

asyncio.run(migrate())
started = time.perf_counter()
stamp = to_db(datetime.now(UTC))
rows = (
    ("telegram", first_id + i, "head" if head_every and i % head_every == 0 else "teacher",
     stamp, stamp, stamp)
    for i in range(count)
)
conn = sqlite3.connect(path, timeout=30, isolation_level=None)
conn.execute("PRAGMA cache_size = -262144")  # 256 MB: setup only, the planner has the default
conn.execute("BEGIN IMMEDIATE")
conn.executemany(
    "INSERT INTO people (channel, chat_id, role, unit_code, consent_at, subscribed, active, "
    "created_at, updated_at) VALUES (?, ?, ?, NULL, ?, 1, 1, ?, ?)",
    rows,
)
conn.execute("COMMIT")
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
conn.close()
print(json.dumps({"people": count, "seconds": time.perf_counter() - started}))
"""

_PLAN = """
import asyncio, json, resource, sys, time
from datetime import UTC, date, datetime
from storage.db import Database
from storage.outreach import OutreachRepository

path, week, audience = sys.argv[1], date.fromisoformat(sys.argv[2]), sys.argv[3]
payloads = json.loads(sys.argv[4])

def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def hwm_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0

async def main():
    db = await Database.open(path)
    before = hwm_kib()
    started = time.perf_counter()
    async with db.transaction() as tx:
        rows = await OutreachRepository(db).plan_push(
            tx, week=week, audience=audience, payload_by_role=payloads, kind="outreach",
            priority=0, not_before=None, now=datetime.now(UTC),
        )
    seconds = time.perf_counter() - started
    peak, hwm = peak_kib(), hwm_kib()
    closing = time.perf_counter()
    await db.close()
    closed = time.perf_counter() - closing
    print(json.dumps({"rows": rows, "seconds": seconds, "maxrss_kib": peak, "hwm_kib": hwm,
                      "before_kib": before, "close_seconds": closed}))

asyncio.run(main())
"""


# ------------------------------------------------------------------------------ the push


def user_ids(count: int) -> list[int]:
    return list(range(FIRST_USER_ID, FIRST_USER_ID + count))


def insert_people(path: Path, chat_ids: Iterable[int]) -> int:
    """Teachers, subscribed and active, in one transaction on a plain connection."""
    stamp = to_db(datetime.now(UTC))
    rows = [("telegram", chat_id, "teacher", stamp, stamp, stamp) for chat_id in chat_ids]
    with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO people (channel, chat_id, role, unit_code, consent_at, subscribed, "
            "active, created_at, updated_at) VALUES (?, ?, ?, NULL, ?, 1, 1, ?, ?)",
            rows,
        )
        conn.execute("COMMIT")
    return len(rows)


async def plan(db: Database) -> tuple[int, float]:
    """The week's staff push, as `OutreachService` plans it on Sunday; rows and seconds."""
    started = time.perf_counter()
    async with db.transaction() as tx:
        rows = await OutreachRepository(db).plan_push(
            tx,
            week=WEEK,
            audience=AUDIENCE,
            payload_by_role=PAYLOADS,
            kind=KIND,
            priority=0,
            not_before=None,
            now=datetime.now(UTC),
        )
    return rows, time.perf_counter() - started


def outbox_states(path: Path) -> dict[str, int]:
    """Rows of the push per state, read on a connection of its own (the latest commit)."""
    with closing(sqlite3.connect(path, timeout=30)) as conn:
        rows = conn.execute(
            "SELECT state, COUNT(*) FROM outbox WHERE ref = ? GROUP BY state", [PUSH_REF]
        ).fetchall()
    return {str(state): int(n) for state, n in rows}


def unfinished(states: dict[str, int]) -> int:
    return states.get("pending", 0) + states.get("sending", 0)


async def create_users(client: SandboxClient, ids: list[int]) -> None:
    """The subscribers as sandbox users (chat id = user id), 100 requests at a time."""
    for first in range(0, len(ids), 100):
        batch = ids[first : first + 100]
        await asyncio.gather(*(client.create_user(f"Teacher {i}", user_id=i) for i in batch))


# ------------------------------------------------------------------------ observing it


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # perf_counter, the middle of the stats request
    delivered: int
    rate_limited: int
    duplicates: int


@dataclass
class Monitor:
    """Samples the sandbox's counters every `interval` seconds in a background task."""

    client: SandboxClient
    interval: float = POLL_SECONDS
    samples: list[Sample] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def sample(self) -> Sample:
        before = time.perf_counter()
        stats = await self.client.stats()
        at = (before + time.perf_counter()) / 2
        sample = Sample(at, stats["delivered"], stats["rate_limited"], stats["duplicates"])
        self.samples.append(sample)
        return sample

    async def _run(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> Monitor:
        self._task = asyncio.create_task(self._run(), name="sandbox-monitor")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._cancel()

    async def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def stop(self) -> Sample:
        """Stop sampling; one last sample."""
        await self._cancel()
        return await self.sample()

    @property
    def latest(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    def first_at_least(self, delivered: int, since: float = 0.0) -> Sample | None:
        for sample in self.samples:
            if sample.at >= since and sample.delivered >= delivered:
                return sample
        return None


@dataclass
class Span:
    """Deliveries between two samples."""

    start: Sample
    end: Sample

    @property
    def seconds(self) -> float:
        return self.end.at - self.start.at

    @property
    def delivered(self) -> int:
        return self.end.delivered - self.start.delivered

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds > 0 else float("nan")


def span(monitor: Monitor, low: int, high: int, since: float = 0.0) -> Span | None:
    """From the first sample showing >= `low` deliveries to the first showing >= `high`; when
    both are the same sample (a short push), from the sample before it (a lower bound)."""
    start = monitor.first_at_least(low, since)
    end = monitor.first_at_least(high, since)
    if start is None or end is None:
        return None
    if end.at <= start.at:
        earlier = [s for s in monitor.samples if since <= s.at < start.at]
        if not earlier:
            return None
        start = earlier[-1]
    return Span(start, end)


def whole_push(monitor: Monitor, base: int, since: float = 0.0) -> Span | None:
    """From the first delivery to the last one the sandbox showed (rate: first to last)."""
    final = max((s.delivered for s in monitor.samples), default=base)
    return span(monitor, base + 1, final, since)


@dataclass
class Outcome:
    """What the sandbox and the outbox say once the push is over."""

    planned: int
    delivered: int
    duplicates: int
    rate_limited: int
    losses: int
    extra: int  # deliveries beyond one per subscriber (per-chat counts)
    states: dict[str, int]


async def outcome(client: SandboxClient, ids: list[int], planned: int, db_path: Path) -> Outcome:
    stats = await client.stats()
    counts = (await client.deliveries())["deliveries"]
    per_person = [int(counts.get(str(i), 0)) for i in ids]
    return Outcome(
        planned=planned,
        delivered=stats["delivered"],
        duplicates=stats["duplicates"],
        rate_limited=stats["rate_limited"],
        losses=sum(1 for n in per_person if n == 0),
        extra=sum(max(0, n - 1) for n in per_person),
        states=outbox_states(db_path),
    )


async def wait_drained(
    db_path: Path, planned: int, timeout: float, check: Callable[[], None], proc: Proc | None = None
) -> dict[str, int]:
    """Until no row of the push is pending or sending; `check` raises if the sender died.
    On a timeout, the error carries the state counts and `proc`'s output."""
    deadline = time.monotonic() + timeout
    while True:
        states = outbox_states(db_path)
        if sum(states.values()) >= planned and not unfinished(states):
            return states
        check()
        if time.monotonic() > deadline:
            detail = f"\n{proc.report()}" if proc is not None else ""
            raise ProcessError(f"the push was not drained within {timeout:g} s: {states}{detail}")
        await asyncio.sleep(0.25)


async def wait_ready(client: SandboxClient, bot: Proc, after: int = 0) -> float:
    """Seconds until the bot's getUpdates count passes `after` (it polls: it is up)."""
    started = time.perf_counter()
    while True:
        bot.check_alive()
        if (await client.stats())["methods"].get("getUpdates", 0) > after:
            return time.perf_counter() - started
        if time.perf_counter() - started > READY_TIMEOUT:
            raise ProcessError(
                f"{bot.name} did not call getUpdates within {READY_TIMEOUT:g} s\n" + bot.report()
            )
        await asyncio.sleep(0.05)


def drain_timeout(count: int, rate: float) -> float:
    return count / rate + DRAIN_SLACK


# ------------------------------------------------------------------------------ results


@dataclass
class Aim:
    run: str
    aim: str
    measured: str
    met: bool | None  # None: not measured (the run broke or was skipped)


@dataclass
class Results:
    aims: list[Aim] = field(default_factory=list)

    def add(self, run: str, aim: str, measured: str, met: bool | None) -> None:
        self.aims.append(Aim(run, aim, measured, met))

    def print_table(self) -> None:
        print("\n== summary ==")
        width = max((len(a.aim) for a in self.aims), default=10)
        measured = max([len("measured"), *(len(a.measured) for a in self.aims)])
        print(f"{'run':<5}{'aim':<{width + 2}}{'measured':<{measured + 2}}result")
        for a in self.aims:
            verdict = "not run" if a.met is None else ("met" if a.met else "NOT met")
            print(f"{a.run:<5}{a.aim:<{width + 2}}{a.measured:<{measured + 2}}{verdict}")


def print_log_summary(proc: Proc) -> None:
    """How many warnings and errors the bot logged (at WARNING), and the last one."""
    lines = proc.stderr().splitlines()
    counts = {level: sum(f" {level} " in line for line in lines) for level in ("WARNING", "ERROR")}
    logged = [line for line in lines if " WARNING " in line or " ERROR " in line]
    if logged:
        print(
            f"  {proc.name} log: {counts['WARNING']} warnings, {counts['ERROR']} errors;"
            f" last: {logged[-1][:160]}"
        )


def fmt_states(states: dict[str, int]) -> str:
    return ", ".join(f"{state} {n}" for state, n in sorted(states.items())) or "none"


def fmt_rate(value: float) -> str:
    return "-" if value != value else f"{value:.1f}/s"  # NaN


# ------------------------------------------------------------------------------ runs 1, 2


@dataclass
class Setup:
    """A fresh sandbox with the subscribers as users, and a migrated database with them."""

    name: str
    url: str
    db_path: Path
    db: Database
    ids: list[int]
    env: dict[str, str]
    workdir: Path


@asynccontextmanager
async def prepared(
    name: str,
    args: argparse.Namespace,
    procs: Procs,
    tmp: Path,
    *,
    algorithm: str = "bucket",
    subscribers: int | None = None,
) -> AsyncIterator[tuple[Setup, SandboxClient]]:
    """A sandbox with its limits on (`algorithm`) and the database, both closed at the end."""
    workdir = tmp / name
    workdir.mkdir()
    sandbox, url = procs.start_sandbox("--algorithm", algorithm, name=f"sandbox-{name}")
    try:
        async with SandboxClient(url, max_connections=200) as client:
            ids = user_ids(subscribers or args.subscribers)
            await create_users(client, ids)
            db_path = workdir / "antq.db"
            db = await Database.open(db_path)  # migrations
            try:
                insert_people(db_path, ids)
                env = python_env(
                    {
                        "ANTQ_BOT_TOKEN": TOKEN,
                        "ANTQ_API_BASE_URL": url,
                        "ANTQ_DATABASE_PATH": str(db_path),
                        "ANTQ_DATA_KEY": Fernet.generate_key().decode(),
                        "ANTQ_LOG_LEVEL": "WARNING",
                        "ANTQ_MODE": "polling",
                    }
                )
                yield Setup(name, url, db_path, db, ids, env, workdir), client
            finally:
                await db.close()
    finally:
        procs.stop(sandbox)


def start_bot(setup: Setup, procs: Procs, name: str) -> Proc:
    # cwd: the run's own directory, so that no stray .env is read
    return procs.start(name, [PYTHON, "-m", "bot", "run"], env=setup.env, cwd=setup.workdir)


@dataclass
class Flood:
    """One push under one flood-control algorithm, as the sandbox saw it."""

    sender: str
    algorithm: str
    planned: int
    rate: float
    seconds: float
    rate_limited: int
    steady_429: int
    most_in_a_second: int
    duplicates: int
    losses: int

    @property
    def ratio(self) -> float:
        return self.rate / SANDBOX_GLOBAL_RATE


def flood_figures(
    sender: str, algorithm: str, planned: int, monitor: Monitor, result: Outcome, times: list[float]
) -> Flood:
    push = whole_push(monitor, 0)
    steady_from = monitor.first_at_least(max(1, round(planned * STEADY_AFTER)))
    steady_429 = result.rate_limited - steady_from.rate_limited if steady_from else 0
    return Flood(
        sender=sender,
        algorithm=algorithm,
        planned=planned,
        rate=push.rate if push else float("nan"),
        seconds=push.seconds if push else float("nan"),
        rate_limited=result.rate_limited,
        steady_429=steady_429,
        most_in_a_second=max_in_window(sorted(times), 1.0) if times else 0,
        duplicates=result.duplicates,
        losses=result.losses,
    )


def print_flood(figures: Flood) -> None:
    print(
        f"  {figures.sender} under '{figures.algorithm}': {fmt_rate(figures.rate)} over"
        f" {figures.seconds:.1f} s, ratio to {SANDBOX_GLOBAL_RATE:g}/s {figures.ratio:.3f};"
        f" 429s {figures.rate_limited} ({figures.steady_429} in steady state);"
        f" most in any second {figures.most_in_a_second}; duplicates {figures.duplicates};"
        f" lost {figures.losses}",
        flush=True,
    )


async def outbox_push(
    args: argparse.Namespace, procs: Procs, tmp: Path, algorithm: str
) -> tuple[Flood, Proc]:
    """The bot as shipped (`python -m bot run`) delivers the week's push."""
    n = args.push_subscribers
    name = f"run1-outbox-{algorithm}"
    async with prepared(name, args, procs, tmp, algorithm=algorithm, subscribers=n) as (
        setup,
        client,
    ):
        bot = start_bot(setup, procs, f"bot-{name}")
        try:
            await wait_ready(client, bot)
            async with Monitor(client) as monitor:
                planned, _ = await plan(setup.db)
                timeout = drain_timeout(n, 20.0)
                await wait_drained(setup.db_path, planned, timeout, bot.check_alive, bot)
                await monitor.stop()
            result = await outcome(client, setup.ids, planned, setup.db_path)
            times = (await client.sends())["times"]
        finally:
            procs.stop(bot)
    return flood_figures("outbox", algorithm, planned, monitor, result, times), bot


async def ptb_push(
    args: argparse.Namespace, procs: Procs, tmp: Path, algorithm: str
) -> tuple[Flood, dict[str, int]]:
    """python-telegram-bot's AIORateLimiter(max_retries=3) sends the same number of messages."""
    n = args.push_subscribers
    name = f"run1-ptb-{algorithm}"
    async with prepared(name, args, procs, tmp, algorithm=algorithm, subscribers=n) as (
        setup,
        client,
    ):
        bot = ExtBot(
            TOKEN,
            base_url=f"{setup.url}/bot",
            base_file_url=f"{setup.url}/file/bot",
            request=HTTPXRequest(connection_pool_size=32),
            rate_limiter=AIORateLimiter(max_retries=3),
        )
        errors: dict[str, int] = {}
        # PTB logs each message it gives up on with a traceback; they are counted as lost here
        logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)

        async def send(chat_id: int) -> None:
            try:
                await bot.send_message(chat_id, PTB_TEXT, parse_mode="HTML")
            except (RetryAfter, TelegramError) as exc:  # given up: this one is lost
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

        await bot.initialize()
        try:
            async with Monitor(client) as monitor:
                await asyncio.wait_for(
                    asyncio.gather(*(send(chat_id) for chat_id in setup.ids)),
                    drain_timeout(n, 10.0),
                )
                await monitor.stop()
        finally:
            await bot.shutdown()
        result = await outcome(client, setup.ids, n, setup.db_path)
        times = (await client.sends())["times"]
    return flood_figures(
        "PTB AIORateLimiter(max_retries=3)", algorithm, n, monitor, result, times
    ), errors


async def run_limited(args: argparse.Namespace, procs: Procs, tmp: Path, results: Results) -> None:
    n = args.push_subscribers
    print(
        f"\n== run 1: push to {n} subscribers, sandbox limits on (30/s, 1/s per chat), token"
        " bucket and strict sliding window: the bot as shipped, then PTB's AIORateLimiter ==",
        flush=True,
    )
    table: list[Flood] = []
    for algorithm in ALGORITHMS:
        ours, bot = await outbox_push(args, procs, tmp, algorithm)
        print_flood(ours)
        print_log_summary(bot)
        theirs, errors = await ptb_push(args, procs, tmp, algorithm)
        print_flood(theirs)
        if errors:
            print(f"  PTB gave up on: {fmt_states(errors)}")
        table += [ours, theirs]
        results.add(
            "1",
            f"[{algorithm}] rate / {SANDBOX_GLOBAL_RATE:g}/s >= {AIM_RATIO}",
            f"{ours.ratio:.3f} ({fmt_rate(ours.rate)})",
            ours.ratio >= AIM_RATIO,
        )
        results.add(
            "1", f"[{algorithm}] no 429 in steady state", str(ours.steady_429), ours.steady_429 == 0
        )
        results.add(
            "1",
            f"[{algorithm}] no loss (duplicates)",
            f"{ours.losses} ({ours.duplicates})",
            ours.losses == 0,
        )
        results.add(
            "1",
            f"[{algorithm}] ahead of PTB's limiter",
            f"{ours.ratio:.3f} vs {theirs.ratio:.3f}",
            ours.ratio > theirs.ratio,
        )
    print("\n  sender                               algorithm  ratio  429s  steady  max/s  lost")
    for f in table:
        print(
            f"  {f.sender:<37}{f.algorithm:<11}{f.ratio:>5.3f}{f.rate_limited:>6}"
            f"{f.steady_429:>8}{f.most_in_a_second:>7}{f.losses:>6}"
        )


async def run_crash(args: argparse.Namespace, procs: Procs, tmp: Path, results: Results) -> None:
    n = args.subscribers
    print(
        f"\n== run 2: push to {n} subscribers, bot SIGKILLed at {args.kill_at:.0%} delivered"
        " and restarted at once ==",
        flush=True,
    )
    async with prepared("run2", args, procs, tmp) as (setup, client):
        first_bot = bot = start_bot(setup, procs, "bot-run2")
        try:
            await wait_ready(client, bot)
            async with Monitor(client) as monitor:
                planned, _ = await plan(setup.db)
                kill_at = max(1, round(planned * args.kill_at))
                deadline = time.monotonic() + drain_timeout(kill_at, 29.0)
                while (monitor.latest.delivered if monitor.latest else 0) < kill_at:
                    bot.check_alive()
                    if time.monotonic() > deadline:
                        raise ProcessError(f"{kill_at} deliveries not reached\n{bot.report()}")
                    await asyncio.sleep(0.01)
                procs.kill(bot)
                killed_at = time.perf_counter()
                states = outbox_states(setup.db_path)  # the bot is dead: nothing moves any more
                at_kill = await client.stats()
                bot = start_bot(setup, procs, "bot-run2-restarted")
                restarted = time.perf_counter() - killed_at
                timeout = drain_timeout(planned, 29.0)
                await wait_drained(setup.db_path, planned, timeout, bot.check_alive, bot)
                await monitor.stop()
            result = await outcome(client, setup.ids, planned, setup.db_path)
        finally:
            procs.stop(bot)
    in_flight = states.get("sending", 0)
    unrecorded = at_kill["delivered"] - states.get("sent", 0)
    resumed = monitor.first_at_least(at_kill["delivered"] + 1, since=killed_at)
    after = whole_push(monitor, at_kill["delivered"], since=killed_at)
    print(
        f"  killed at {at_kill['delivered']} delivered (sandbox); outbox then: {fmt_states(states)}"
    )
    print(
        f"  in flight at the kill (rows 'sending'): {in_flight}; delivered but not yet"
        f" recorded as sent: {unrecorded}"
    )
    gap = f"{resumed.at - killed_at:.1f} s" if resumed else "-"
    print(f"  restarted {restarted * 1000:.0f} ms after the kill; deliveries resumed after {gap}")
    if after is not None:
        print(
            f"  after the restart: {after.delivered} in {after.seconds:.1f} s,"
            f" {fmt_rate(after.rate)}"
        )
    ok_dup = result.duplicates <= in_flight
    print(
        f"  losses {result.losses}; duplicates (sandbox) {result.duplicates}"
        f" (extra deliveries per chat {result.extra}); duplicates <= in flight:"
        f" {'yes' if ok_dup else 'NO'}"
    )
    print(
        f"  429s {result.rate_limited}; delivered {result.delivered} for {planned} planned;"
        f" outbox: {fmt_states(result.states)}"
    )
    print_log_summary(first_bot)
    print_log_summary(bot)
    results.add("2", "no loss after SIGKILL + restart", str(result.losses), result.losses == 0)
    results.add(
        "2",
        "duplicates <= in flight at the kill",
        f"{result.duplicates} <= {in_flight}",
        ok_dup,
    )


# ------------------------------------------------------------------------------ run 3


async def run_lifted(args: argparse.Namespace, procs: Procs, tmp: Path, results: Results) -> None:
    n = args.subscribers
    print(
        f"\n== run 3: push to {n} subscribers, sandbox limits off, sender in this process"
        f" (global 100000/s, per chat 1000/s, concurrency {args.concurrency}) ==",
        flush=True,
    )
    workdir = tmp / "run3"
    workdir.mkdir()
    sandbox, url = procs.start_sandbox("--no-limits", name="sandbox-run3")
    try:
        async with SandboxClient(url, max_connections=200) as client:
            ids = user_ids(n)
            await create_users(client, ids)
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                bot_token=SecretStr(TOKEN),
                api_base_url=url,
                database_path=workdir / "antq.db",
                data_key=SecretStr(Fernet.generate_key().decode()),
                log_level="WARNING",
            )
            clock = Clock(settings.tz)
            services = await Services.open(settings, content.load(), clock)
            try:
                insert_people(settings.database_path, ids)
                planned, _ = await plan(services.db)
                transport = TelegramTransport(make_outbox_bot(settings))
                await transport.start()
                sender = OutboxSender(
                    services.db,
                    OutboxRepository(services.db),
                    transport,
                    clock,
                    decode=services.decode_outgoing,
                    global_rate=100000,
                    per_chat_rate=1000,
                    per_chat_burst=1000,
                    concurrency=args.concurrency,
                    channel="telegram",
                )
                try:
                    async with Monitor(client) as monitor:
                        cpu_self, cpu_sandbox = time.process_time(), sandbox.cpu_seconds() or 0.0
                        started = time.perf_counter()
                        runner = sender.start()

                        def check_sender() -> None:
                            if runner.done():
                                raise ProcessError(f"the outbox sender stopped: {runner!r}")

                        await wait_drained(
                            settings.database_path, planned, drain_timeout(n, 50.0), check_sender
                        )
                        await monitor.stop()
                        cpu_self = time.process_time() - cpu_self
                        cpu_sandbox = (sandbox.cpu_seconds() or 0.0) - cpu_sandbox
                finally:
                    await sender.stop()
                    await transport.stop()
                result = await outcome(client, ids, planned, settings.database_path)
            finally:
                await services.close()
    finally:
        procs.stop(sandbox)
    push = whole_push(monitor, 0)
    middle = span(monitor, round(planned * 0.1), round(planned * 0.9))
    rate = push.rate if push else float("nan")
    sustained = middle.rate if middle else rate
    first = monitor.first_at_least(1)
    if first is not None:
        print(f"  first delivery {first.at - started:.2f} s after the sender started")
    if push is not None:
        print(
            f"  delivered {result.delivered}, first to last in {push.seconds:.2f} s:"
            f" {fmt_rate(rate)}; from 10 % to 90 % delivered: {fmt_rate(sustained)}"
        )
    wall = push.seconds if push else 0.0
    print(
        f"  CPU: this process (sender + sampling) {cpu_self:.1f} s"
        f" ({cpu_self / max(1, planned) * 1000:.2f} ms/msg), sandbox {cpu_sandbox:.1f} s"
        f" ({cpu_sandbox / max(1, planned) * 1000:.2f} ms/msg); wall {wall:.1f} s on"
        f" {os.cpu_count()} CPUs"
    )
    print(
        f"  duplicates {result.duplicates}, losses {result.losses}, 429s {result.rate_limited};"
        f" sender stats {sender.stats}; outbox: {fmt_states(result.states)}"
    )
    results.add(
        "3",
        f"sustained rate, limits lifted >= {AIM_LIFTED_RATE:g}/s",
        fmt_rate(sustained),
        sustained >= AIM_LIFTED_RATE,
    )


# ------------------------------------------------------------------------------ run 4


async def run_planner(args: argparse.Namespace, tmp: Path, results: Results) -> None:
    n = args.plan_subscribers
    print(f"\n== run 4: plan one week's push for {n} subscribers in SQLite ==", flush=True)
    workdir = tmp / "run4"
    workdir.mkdir()
    db_path = workdir / "antq.db"
    env = python_env()
    populate = [PYTHON, "-c", _POPULATE, str(db_path), str(n), str(FIRST_USER_ID), "20"]
    filled = json.loads(
        (await asyncio.to_thread(run_checked, "populate", populate, env, workdir, 600.0)).strip()
    )
    print(
        f"  inserted {filled['people']} people (1 in 20 a unit head) in {filled['seconds']:.1f} s"
        " (setup, separate process)"
    )
    argv = [PYTHON, "-c", _PLAN, str(db_path), WEEK.isoformat(), AUDIENCE, json.dumps(PAYLOADS)]
    started = time.perf_counter()
    out = await asyncio.to_thread(run_checked, "plan_push", argv, env, workdir, 600.0)
    wall = time.perf_counter() - started
    planned = json.loads(out.strip())
    peak_mb = planned["hwm_kib"] / 1024
    maxrss_mb = planned["maxrss_kib"] / 1024
    before_mb = planned["before_kib"] / 1024
    sizes = {p.name: p.stat().st_size / 2**20 for p in workdir.glob("antq.db*")}
    print(
        f"  planned {planned['rows']} rows in {planned['seconds']:.1f} s (one transaction,"
        f" commit included); closing the database after it {planned['close_seconds']:.1f} s;"
        f" process wall {wall:.1f} s"
    )
    print(
        f"  peak RSS {peak_mb:.0f} MB (VmHWM; {before_mb:.0f} MB before planning);"
        f" ru_maxrss {maxrss_mb:.0f} MB"
    )
    print(
        "  (ru_maxrss keeps, across exec, the high-water mark of the benchmark process the"
        " planner was started from; VmHWM is the planner's own)"
    )
    print("  files: " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in sorted(sizes.items())))
    results.add(
        "4",
        f"plan {n} rows < {AIM_PLAN_SECONDS:g} s",
        f"{planned['seconds']:.1f} s ({planned['rows']} rows)",
        planned["seconds"] < AIM_PLAN_SECONDS and planned["rows"] == n,
    )
    results.add("4", f"peak RSS < {AIM_PLAN_MB:g} MB", f"{peak_mb:.0f} MB", peak_mb < AIM_PLAN_MB)


# ------------------------------------------------------------------------------ main


def parse_only(text: str) -> set[int]:
    try:
        runs = {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of 1, 2, 3, 4") from None
    if not runs or not runs <= {1, 2, 3, 4}:
        raise argparse.ArgumentTypeError("a comma-separated list of 1, 2, 3, 4")
    return runs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--subscribers", type=int, default=3000, help="people the push goes to (runs 2, 3)"
    )
    parser.add_argument(
        "--push-subscribers",
        type=int,
        default=800,
        help="people each of run 1's four pushes goes to",
    )
    parser.add_argument(
        "--plan-subscribers", type=int, default=1_000_000, help="people planned for in run 4"
    )
    parser.add_argument(
        "--only", type=parse_only, default={1, 2, 3, 4}, help="runs to make, e.g. 1,3 (all)"
    )
    parser.add_argument(
        "--kill-at", type=float, default=0.5, help="share delivered when run 2 kills the bot"
    )
    parser.add_argument(
        "--concurrency", type=int, default=32, help="the in-process sender's concurrency (run 3)"
    )
    return parser


async def amain(args: argparse.Namespace) -> Results:
    task = asyncio.current_task()
    assert task is not None
    # SIGTERM cancels the run like Ctrl+C does, so that every started process is stopped.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    print(
        f"broadcast: week {WEEK.isoformat()} ({AUDIENCE}), {args.subscribers} subscribers,"
        f" planner {args.plan_subscribers}; runs {','.join(map(str, sorted(args.only)))}"
    )
    print(
        f"python {sys.version.split()[0]}, python-telegram-bot {telegram.__version__},"
        f" sqlite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs,"
        f" load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results = Results()
    runs = {1: run_limited, 2: run_crash, 3: run_lifted}
    with tempfile.TemporaryDirectory(prefix="antq-broadcast-") as tmp, Procs(Path(tmp)) as procs:
        for number in sorted(args.only):
            started = time.perf_counter()
            try:
                if number == 4:
                    await run_planner(args, Path(tmp), results)
                else:
                    await runs[number](args, procs, Path(tmp), results)
            except ProcessError as exc:
                print(f"  run {number} broke: {exc}", file=sys.stderr)
                results.add(str(number), "(the run broke)", "-", None)
            except Exception:  # report it (its processes are stopped by now) and go on
                print(f"  run {number} broke:", file=sys.stderr)
                traceback.print_exc()
                results.add(str(number), "(the run broke)", "-", None)
            print(f"  run {number}: {time.perf_counter() - started:.0f} s", flush=True)
    return results


def main() -> int:
    parser = build_parser()
    args = parser.parse_args()
    if (
        args.subscribers < 2
        or args.push_subscribers < 2
        or args.plan_subscribers < 1
        or not 0 < args.kill_at < 1
    ):
        parser.error(
            "--subscribers, --push-subscribers >= 2, --plan-subscribers >= 1"
            " and 0 < --kill-at < 1, please"
        )
    started = time.perf_counter()
    try:
        results = asyncio.run(amain(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ninterrupted", file=sys.stderr)
        return 130
    results.print_table()
    print(f"total {time.perf_counter() - started:.0f} s")
    return 1 if any(a.met is None for a in results.aims) else 0


if __name__ == "__main__":
    raise SystemExit(main())
