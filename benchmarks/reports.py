#!/usr/bin/env python3
"""300 simulated reporters complete a report at once through the sandbox.

Prints completed reports per second, p50/p99 step latency, and how long the office's
notifications took to drain (from the first submission to the last office message the sandbox
saw). Aim: p99 step latency under 200 ms.

The sandbox and the bot run as subprocesses; this script is the load. By default the sandbox's
flood limits are off and the bot's outbox paces the office group at the outbox's global rate
instead of its built-in 17 a minute, so that the drain is measured in seconds; the time the
drain takes at Telegram's real limit (20 messages a minute per group) is computed from the
count. With --limits, the limits are on and the bot runs as shipped: the drain is real (about
18 minutes for 300 reports, at the bot's 17 a minute) and waits at most --drain-timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import telegram
from cryptography.fernet import Fernet

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._figures import percentile  # noqa: E402
from benchmarks._procs import (  # noqa: E402
    PYTHON,
    ROOT,
    Proc,
    ProcessError,
    Procs,
    antq_run_argv,
    python_env,
    run_checked,
)
from sandbox.telegram.client import (  # noqa: E402
    BotMessage,
    NoReplyError,
    SandboxClient,
    SandboxError,
    SimUser,
)

TOKEN = "123456:BENCH-token"
OFFICE_CHAT_ID = -1001000000001
CLERK_ID = 90001
UNITS_CSV = ROOT / "content" / "data" / "sample_units.csv"
READY_TIMEOUT = 30.0
LIMITS_CHAT_BURST = 50  # simulated people answer at machine speed (as in dialog_throughput)
TELEGRAM_GROUP_PER_MINUTE = 20
BOT_GROUP_PER_MINUTE, BOT_GROUP_BURST = 17, 3  # the outbox sender's built-in office pace
LIFTED_GROUP_PER_MINUTE = 29 * 60  # = the outbox's global rate: the group is no longer the limit
AIM_P99_MS = 200.0
CODE = re.compile(r"\b([0-9A-Z]{4}-[0-9A-Z]{4})\b")
RECEIVED = "Đã tiếp nhận tin báo"


@dataclass(frozen=True)
class Step:
    """One input of a reporter and what answers it."""

    action: str  # "send", "press" (an inline button by label) or "location"
    value: str
    replies: int  # bot messages (sends or edits) that answer it
    expect: str  # must appear in one of those replies


def report_steps(number: int) -> tuple[Step, ...]:
    """The /baocao walk of tests/test_reports.py, with a text of its own (no files, no contact)."""
    what = (
        f"Phụ huynh số {number} báo: có người gọi điện nói con bị tai nạn, "
        f"đòi chuyển tiền gấp vào tài khoản {900_000 + number}."
    )
    return (
        Step("send", "/baocao", 3, "thuộc loại nào"),
        Step("press", "Lừa đảo qua mạng", 1, "Chuyện gì đã xảy ra"),
        Step("send", what, 1, "xảy ra ở đâu"),
        Step("press", "Nơi khác (tôi sẽ mô tả)", 1, "mô tả nơi xảy ra"),
        Step("send", f"Cổng trường số {number}, đường Phú Riềng Đỏ", 1, "vị trí trên bản đồ"),
        Step("location", "11.5349,106.8833", 1, "ngày nào"),
        Step("press", "Hôm nay", 1, "Những ai liên quan"),
        Step("press", "Bỏ qua", 1, "bằng chứng"),
        Step("press", "Bỏ qua", 1, "liên hệ lại"),
        Step("press", "Không để lại", 1, "kiểm tra lại thông tin"),
        Step("press", "✅ Gửi", 1, RECEIVED),
    )


@dataclass
class Walk:
    """One reporter's run: per-step latencies, and the receipt code at the end."""

    latencies_ms: list[float] = field(default_factory=list)
    code: str | None = None
    error: str | None = None
    submitted_at: float | None = None  # perf_counter when "Gửi" was pressed
    ended: float = 0.0


# ------------------------------------------------------------------------------ load


async def walk(
    user: SimUser, steps: Sequence[Step], timeout: float, out: Walk, think: float = 0.0
) -> None:
    """Take each step once the previous one is answered (after a person's pause, if `think`)."""
    last: BotMessage | None = None
    pause = random.Random(user.id)
    try:
        for step in steps:
            if think > 0:
                await asyncio.sleep(pause.uniform(0.5 * think, 1.5 * think))
            t0 = time.perf_counter()
            if step.action == "send":
                await user.send(step.value)
            elif step.action == "location":
                latitude, longitude = (float(v) for v in step.value.split(","))
                await user.send_location(latitude, longitude)
            else:
                if step.expect == RECEIVED:
                    out.submitted_at = t0
                target = last.message_id if last is not None else None
                await user.press(step.value, message_id=target)
            replies = [await user.next_reply(timeout)]
            while len(replies) < step.replies:
                remaining = max(0.0, t0 + timeout - time.perf_counter())
                replies.append(await user.next_reply(remaining))
            out.latencies_ms.append((time.perf_counter() - t0) * 1000)
            last = replies[-1]
            texts = [r.text or "" for r in replies]
            if not any(step.expect in text for text in texts):
                out.error = "unexpected reply"
                return
            if step.expect == RECEIVED:
                match = CODE.search(" ".join(texts))
                out.code = match.group(1) if match else None
                if out.code is None:
                    out.error = "receipt without a code"
    except NoReplyError:
        out.error = f"timeout ({timeout:g} s)"
    except AssertionError:
        out.error = "button not found"
    except (SandboxError, httpx.HTTPError) as exc:
        out.error = f"control API error ({type(exc).__name__})"
    finally:
        out.ended = time.perf_counter()


@dataclass
class OfficeWatch:
    """Bot messages arriving in the office group, with the moment each was seen."""

    seen: list[float] = field(default_factory=list)
    cursor: int = 0

    async def follow(self, client: SandboxClient) -> None:
        while True:
            data = await client.events(OFFICE_CHAT_ID, after=self.cursor, timeout=10.0)
            now = time.perf_counter()
            self.seen += [now for e in data["events"] if e["type"] == "send"]
            self.cursor = max(self.cursor, int(data["last_seq"]))


async def wait_ready(client: SandboxClient, bot: Proc, timeout: float = READY_TIMEOUT) -> float:
    """Seconds until the bot's first getUpdates; ProcessError if it died or took too long."""
    started = time.perf_counter()
    while True:
        bot.check_alive()
        if (await client.stats())["methods"].get("getUpdates", 0) >= 1:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise ProcessError(f"the bot did not poll within {timeout:g} s\n{bot.report()}")
        await asyncio.sleep(0.05)


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db, timeout=10)) as conn:
        return conn.execute(sql).fetchall()


def office_rows(db: Path) -> dict[str, int]:
    """The bot's office messages by state: what it has to deliver, and what it did."""
    rows = query(
        db, f"SELECT state, COUNT(*) FROM outbox WHERE chat_id = {OFFICE_CHAT_ID} GROUP BY state"
    )
    return {str(state): int(n) for state, n in rows}


async def wait_for_drain(db: Path, bot: Proc, watch: OfficeWatch, timeout: float) -> bool:
    """Until every office row is 'sent' and the sandbox saw as many messages; False on timeout."""
    deadline = time.perf_counter() + timeout
    while True:
        bot.check_alive()
        rows = office_rows(db)
        total = sum(rows.values())
        if rows.get("sent", 0) == total and len(watch.seen) >= total:
            return True
        if time.perf_counter() >= deadline:
            return False
        await asyncio.sleep(0.2)


# ------------------------------------------------------------------------------ run


@dataclass
class Result:
    users: int
    walks: list[Walk]
    wall: float
    office_expected: int = 0
    office_seen: list[float] = field(default_factory=list)
    drained: bool = False
    ready_seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    rate_limited: int = 0


def start_processes(args: argparse.Namespace, procs: Procs, tmp: Path) -> tuple[Proc, Proc, str]:
    limits = ["--chat-burst", str(LIMITS_CHAT_BURST)] if args.limits else ["--no-limits"]
    sandbox, url = procs.start_sandbox(*limits)
    env = python_env(
        {
            "ANTQ_BOT_TOKEN": TOKEN,
            "ANTQ_API_BASE_URL": url,
            "ANTQ_DATABASE_PATH": str(tmp / "antq.db"),
            "ANTQ_DATA_KEY": Fernet.generate_key().decode(),
            "ANTQ_OFFICE_CHAT_ID": str(OFFICE_CHAT_ID),
            "ANTQ_OFFICE_ADMINS": str(CLERK_ID),
            "ANTQ_LOG_LEVEL": "WARNING",
            "ANTQ_MODE": "polling",
            "ANTQ_CONCURRENT_UPDATES": str(args.concurrent_updates),
        }
    )
    units = [PYTHON, "-m", "bot", "units", "import", str(UNITS_CSV)]
    run_checked("antq units import", units, env=env, cwd=tmp)
    argv = antq_run_argv(None if args.limits else LIFTED_GROUP_PER_MINUTE, group_burst=30)
    bot = procs.start("bot", argv, env=env, cwd=tmp)  # tmp: no stray .env is read
    return sandbox, bot, url


async def run(args: argparse.Namespace, procs: Procs, tmp: Path) -> Result:
    sandbox, bot, url = start_processes(args, procs, tmp)
    db = tmp / "antq.db"
    async with SandboxClient(url, max_connections=args.users + 50) as client:
        clerk = await client.create_user("Hoa", user_id=CLERK_ID, username="hoa_vp")
        await client.create_group("Văn phòng Sở", [clerk], chat_id=OFFICE_CHAT_ID)
        people: list[SimUser] = []
        for first in range(0, args.users, 50):
            batch = range(first, min(args.users, first + 50))
            people += await asyncio.gather(*(client.create_user(f"Người báo {i}") for i in batch))
        ready = await wait_ready(client, bot)
        watch = OfficeWatch()
        watcher = asyncio.create_task(watch.follow(client))
        cpu_before = {p.name: p.cpu_seconds() or 0.0 for p in (bot, sandbox)}
        walks = [Walk() for _ in people]
        started = time.perf_counter()
        tasks = [
            asyncio.create_task(
                walk(user, report_steps(i), args.step_timeout, walks[i], args.think)
            )
            for i, user in enumerate(people)
        ]
        await asyncio.gather(*tasks)
        wall = max(w.ended for w in walks) - started
        bot.check_alive()
        drained = await wait_for_drain(db, bot, watch, args.drain_timeout)
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        cpu = {p.name: (p.cpu_seconds() or 0.0) - cpu_before[p.name] for p in (bot, sandbox)}
        stats = await client.stats()
    result = Result(args.users, walks, wall, sum(office_rows(db).values()), watch.seen, drained)
    result.ready_seconds, result.cpu, result.rate_limited = ready, cpu, stats["rate_limited"]
    return result


# ------------------------------------------------------------------------------ output


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def minutes(messages: int, per_minute: float, burst: int) -> float:
    """Minutes that `messages` take into one group: a burst, then `per_minute`."""
    return max(0, messages - burst) / per_minute


def report(result: Result, args: argparse.Namespace) -> None:
    walks = result.walks
    done = [w for w in walks if w.code is not None]
    latencies = [v for w in walks for v in w.latencies_ms]
    errors: dict[str, int] = {}
    for w in walks:
        if w.error:
            errors[w.error] = errors.get(w.error, 0) + 1
    codes = {w.code for w in done}
    print(f"users:                {result.users} (bot polling after {result.ready_seconds:.1f} s)")
    print(f"completed reports:    {len(done)} ({len(codes)} distinct codes)")
    print(f"wall time:            {result.wall:.1f} s")
    rate = len(done) / result.wall if result.wall > 0 else 0.0
    print(f"reports/s:            {rate:.2f}")
    print(f"steps total:          {len(latencies)} ({len(report_steps(0))} per report)")
    print(
        f"step latency ms:      p50 {ms(percentile(latencies, 50))}"
        f"  p90 {ms(percentile(latencies, 90))}  p99 {ms(percentile(latencies, 99))}"
        f"  max {ms(percentile(latencies, 100))}"
    )
    failures = ", ".join(f"{n} {kind}" for kind, n in errors.items()) or "none"
    print(f"errors/timeouts:      {failures}")
    if args.limits:
        print(f"sandbox 429 answers:  {result.rate_limited}")
    print(f"cpu s:                {'  '.join(f'{k} {v:.1f}' for k, v in result.cpu.items())}")
    submitted = [w.submitted_at for w in walks if w.submitted_at is not None]
    seen = result.office_seen
    print(f"office notifications: {len(seen)} of {result.office_expected} delivered")
    if submitted and seen:
        span = max(seen) - min(submitted)
        state = "drained" if result.drained else f"NOT drained within {args.drain_timeout:g} s"
        if args.limits:
            pace = "limits on, the bot's office pace as shipped"
        else:
            pace = f"limits off, the bot's office pace lifted to {LIFTED_GROUP_PER_MINUTE}/min"
        print(f"office drain:         {span:.1f} s from the first submission ({state}; {pace})")
    count = result.office_expected
    print(
        f"  at Telegram's {TELEGRAM_GROUP_PER_MINUTE}/min per group, {count} messages would take"
        f" {minutes(count, TELEGRAM_GROUP_PER_MINUTE, 0):.1f} min"
        f" ({minutes(count, BOT_GROUP_PER_MINUTE, BOT_GROUP_BURST):.1f} min at the bot's own"
        f" {BOT_GROUP_PER_MINUTE}/min)"
    )
    p99 = percentile(latencies, 99)
    met = not errors and not math.isnan(p99) and p99 < AIM_P99_MS
    print(
        f"aim: p99 step latency < {AIM_P99_MS:.0f} ms: {ms(p99)} ms, {'met' if met else 'NOT met'}"
    )


# ------------------------------------------------------------------------------ main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=300, help="reporters, all at once")
    parser.add_argument(
        "--limits",
        action="store_true",
        help="sandbox flood limits on (20 messages a minute per group; private chats may burst"
        f" {LIMITS_CHAT_BURST}) and the bot's office pace as shipped: a real, slow drain",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=1500.0,
        help="seconds to wait for the office notifications after the last report (default"
        " %(default)g: enough for 300 at 17 a minute)",
    )
    parser.add_argument(
        "--step-timeout", type=float, default=90.0, help="seconds a step may take (a timeout)"
    )
    parser.add_argument("--concurrent-updates", type=int, default=32)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds a reporter pauses before each step, drawn from 0.5x to 1.5x (default 0:"
        " every answer at machine speed, the worst case); not counted in the step latency",
    )
    return parser


async def amain(args: argparse.Namespace) -> None:
    print(
        f"reports: {args.users} reporters at once, sandbox limits {'on' if args.limits else 'off'},"
        f" concurrent_updates {args.concurrent_updates}, think {args.think:g} s per step"
    )
    print(
        f"python {sys.version.split()[0]}, python-telegram-bot {telegram.__version__},"
        f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="antq-bench-") as tmp, Procs(Path(tmp)) as procs:
        try:
            result = await run(args, procs, Path(tmp))
        except ProcessError:
            raise
        except Exception as exc:
            logs = "\n".join(p.report() for p in procs.running)
            raise ProcessError(f"the run broke: {exc!r}\n{logs}") from exc
    report(result, args)


def main() -> int:
    args = build_parser().parse_args()
    started = time.perf_counter()
    try:
        asyncio.run(amain(args))
    except ProcessError as exc:
        print(f"\nbenchmark broke: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
