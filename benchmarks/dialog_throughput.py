#!/usr/bin/env python3
"""Onboarding steps per second and step latency of the bot, against a bare PTB echo bot."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import telegram

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._figures import percentile  # noqa: E402
from benchmarks._procs import (  # noqa: E402
    PYTHON,
    ROOT,
    Proc,
    ProcessError,
    Procs,
    python_env,
    run_checked,
)
from sandbox.telegram.client import NoReplyError, SandboxClient, SandboxError, SimUser  # noqa: E402

TOKEN = "123456:BENCH-token"
OFFICE_CHAT_ID = "-1001000000001"
UNITS_CSV = ROOT / "content" / "data" / "sample_units.csv"
ECHO_BOT = Path(__file__).resolve().parent / "echo_bot.py"
READY_TIMEOUT = 30.0
BOT_STOP_GRACE = 1.0
LIMITS_CHAT_BURST = 50
AIM_RATIO = 0.5
AIM_P99_MS = 150.0


@dataclass(frozen=True)
class Step:
    """One input of a simulated person and what answers it."""

    action: str  # "send" (type text) or "press" (an inline button by label)
    value: str
    replies: int  # bot messages (sends or edits) that answer it
    expect: str  # must appear in a reply's text or button labels


ONBOARDING = (
    Step("send", "/start", 2, "Tôi đồng ý"),
    Step("press", "Tôi đồng ý", 1, "Giáo viên, nhân viên"),
    Step("press", "Giáo viên, nhân viên", 1, "trường hoặc đơn vị nào"),
    Step("send", "nguyen du", 1, "Trường Tiểu học Nguyễn Du"),
    Step("press", "Trường Tiểu học Nguyễn Du", 1, "Có, gửi cho tôi"),
    Step("press", "Có, gửi cho tôi", 2, "Đã lưu thông tin"),
)


def echo_steps(user_no: int) -> tuple[Step, ...]:
    """As many steps as onboarding; each message is echoed once."""
    texts = (f"echo {k} from user {user_no}" for k in range(1, len(ONBOARDING) + 1))
    return tuple(Step("send", text, 1, text) for text in texts)


@dataclass
class StepResult:
    first_ms: float | None = None  # control call sent -> first reply (send or edit) seen
    done_ms: float | None = None  # control call sent -> all expected replies seen
    error: str | None = None
    ended: float = 0.0  # perf_counter when it completed or failed


@dataclass
class Phase:
    name: str
    planned: int
    offered_rate: float | None = None  # steps/s, paced phase only
    results: list[StepResult] = field(default_factory=list)
    not_started: dict[str, int] = field(default_factory=dict)  # reason -> steps
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    rate_limited: int = 0  # 429 answers the sandbox gave during the phase

    @property
    def ok(self) -> list[StepResult]:
        return [r for r in self.results if r.error is None and r.done_ms is not None]

    @property
    def rate(self) -> float:
        return len(self.ok) / self.wall if self.wall > 0 else 0.0

    def errors(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results:
            if result.error is not None or result.done_ms is None:
                kind = result.error or "in flight when the phase ended"
                counts[kind] = counts.get(kind, 0) + 1
        for reason, steps in self.not_started.items():
            counts[reason] = counts.get(reason, 0) + steps
        return counts

    def first(self, q: float) -> float:
        return percentile([r.first_ms for r in self.ok if r.first_ms is not None], q)

    def done(self, q: float) -> float:
        return percentile([r.done_ms for r in self.ok if r.done_ms is not None], q)


# ------------------------------------------------------------------------------ load


async def walk(
    user: SimUser, steps: Sequence[Step], start_at: float, timeout: float, out: list[StepResult]
) -> None:
    """Sleep until `start_at` (perf_counter), then take each step as soon as the last is done."""
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    for step in steps:
        result = StepResult()
        out.append(result)
        t0 = time.perf_counter()
        try:
            if step.action == "send":
                await user.send(step.value)
            else:
                await user.press(step.value)
            replies = [await user.next_reply(timeout)]
            result.first_ms = (time.perf_counter() - t0) * 1000
            while len(replies) < step.replies:
                remaining = max(0.0, t0 + timeout - time.perf_counter())
                replies.append(await user.next_reply(remaining))
            result.done_ms = (time.perf_counter() - t0) * 1000
            seen = [r.text or "" for r in replies] + [label for r in replies for label in r.labels]
            if not any(step.expect in text for text in seen):
                result.error = "unexpected reply"
        except NoReplyError:
            result.error = f"timeout ({timeout:g} s)"
        except AssertionError:
            result.error = "button not found"
        except (SandboxError, httpx.HTTPError) as exc:
            result.error = f"control API error ({type(exc).__name__})"
        result.ended = time.perf_counter()
        if result.error is not None:
            return


async def run_phase(
    client: SandboxClient,
    procs: dict[str, Proc],
    name: str,
    steps_for: Sequence[Sequence[Step]],
    interval: float,
    timeout: float,
    limit: float,
) -> Phase:
    """Start user i at i * interval seconds; wait for all of them, but at most `limit` seconds."""
    users = len(steps_for)
    people = await create_users(client, users, f"{name.title()} {procs['bot'].name}")
    planned = sum(len(steps) for steps in steps_for)
    offered = len(steps_for[0]) / interval if interval > 0 else None
    phase = Phase(name, planned, offered)
    cpu_before = cpu_snapshot(procs)
    limited_before = (await client.stats())["rate_limited"]
    start = time.perf_counter() + 0.05
    buckets: list[list[StepResult]] = [[] for _ in people]
    tasks = [
        asyncio.create_task(walk(user, steps_for[i], start + i * interval, timeout, buckets[i]))
        for i, user in enumerate(people)
    ]
    _, pending = await asyncio.wait(tasks, timeout=limit + 0.05)
    cut_at = time.perf_counter()
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for i, bucket in enumerate(buckets):
        missing = len(steps_for[i]) - len(bucket)
        if missing:
            if tasks[i] in pending:
                reason = "not started when the phase ended"
            else:
                reason = "not attempted (that user had failed a step)"
            phase.not_started[reason] = phase.not_started.get(reason, 0) + missing
        for result in bucket:
            if not result.ended:
                result.ended = cut_at
    phase.results = [r for bucket in buckets for r in bucket]
    last = max((r.ended for r in phase.results), default=start)
    # Paced: at least the window in which users were started, so that the last users'
    # back-to-back steps do not inflate the achieved rate.
    phase.wall = max(last - start, users * interval)
    cpu_after = cpu_snapshot(procs)
    phase.cpu = {k: cpu_after[k] - cpu_before[k] for k in cpu_after if k in cpu_before}
    phase.rate_limited = (await client.stats())["rate_limited"] - limited_before
    return phase


async def create_users(client: SandboxClient, count: int, label: str) -> list[SimUser]:
    """`count` new simulated people, created a few at a time (before the clock starts)."""
    people: list[SimUser] = []
    for first in range(0, count, 50):
        batch = range(first, min(count, first + 50))
        people += await asyncio.gather(
            *(client.create_user(first_name=f"{label} {i}") for i in batch)
        )
    return people


def paced_users(args: argparse.Namespace) -> int:
    """Users started one every len(ONBOARDING) / paced_rate seconds for paced_seconds."""
    return max(1, math.ceil(args.paced_seconds * args.paced_rate / len(ONBOARDING) - 1e-9))


def cpu_snapshot(procs: dict[str, Proc]) -> dict[str, float]:
    """CPU seconds so far of this process (the load generator) and of `procs`."""
    snapshot = {"loadgen": time.process_time()}
    for name, proc in procs.items():
        seconds = proc.cpu_seconds()
        if seconds is not None:
            snapshot[name] = seconds
    return snapshot


async def wait_ready(client: SandboxClient, bot: Proc, timeout: float = READY_TIMEOUT) -> float:
    """Seconds until the bot's first getUpdates; ProcessError if it died or took too long."""
    started = time.perf_counter()
    while True:
        bot.check_alive()
        stats = await client.stats()
        if stats["methods"].get("getUpdates", 0) >= 1:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise ProcessError(
                f"{bot.name} did not call getUpdates within {timeout:g} s\n" + bot.report()
            )
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------------------ targets


@dataclass
class Target:
    title: str
    key: str  # short name, also of its process and database
    steps_for: list[tuple[Step, ...]]
    url: str = ""
    sandbox: Proc | None = None
    bot: Proc | None = None
    burst: Phase | None = None
    paced: Phase | None = None


def start_target(target: Target, args: argparse.Namespace, procs: Procs, tmp: Path) -> None:
    """A fresh sandbox of its own, then the bot (with units imported) or the echo bot."""
    # Simulated people answer at machine speed, so a private chat may burst (as in the tests);
    # the global 30 msg/s and the group limits stay.
    limits = ["--chat-burst", str(LIMITS_CHAT_BURST)] if args.limits else ["--no-limits"]
    target.sandbox, target.url = procs.start_sandbox(*limits, name=f"sandbox-{target.key}")
    env = python_env(
        {
            "ANTQ_BOT_TOKEN": TOKEN,
            "ANTQ_API_BASE_URL": target.url,
            "ANTQ_DATABASE_PATH": str(tmp / f"{target.key}.db"),
            "ANTQ_DATA_KEY_FILE": str(tmp / f"{target.key}.key"),
            "ANTQ_OFFICE_CHAT_ID": OFFICE_CHAT_ID,
            "ANTQ_LOG_LEVEL": "WARNING",
            "ANTQ_MODE": "polling",
            "ANTQ_CONCURRENT_UPDATES": str(args.concurrent_updates),
        }
    )
    if target.key == "bot":
        units = [PYTHON, "-m", "bot", "units", "import", str(UNITS_CSV)]
        run_checked("antq units import", units, env=env, cwd=tmp)
        argv = [PYTHON, "-m", "bot", "run"]
    else:
        argv = [PYTHON, str(ECHO_BOT)]
    target.bot = procs.start(target.key, argv, env=env, cwd=tmp)  # tmp: no stray .env is read


async def measure(target: Target, args: argparse.Namespace, procs: Procs) -> None:
    """The burst and the paced phase against a started target; then its processes are stopped."""
    bot, sandbox = target.bot, target.sandbox
    assert bot is not None and sandbox is not None
    watched = {"bot": bot, "sandbox": sandbox}
    interval = len(target.steps_for[0]) / args.paced_rate
    try:
        async with SandboxClient(target.url, max_connections=args.users + 50) as client:
            await wait_ready(client, bot)
            print(f"\n== {target.title} ==", flush=True)
            burst = target.steps_for[: args.users]
            target.burst = await run_phase(
                client, watched, "burst", burst, 0.0, args.step_timeout, args.burst_limit
            )
            print_phase(target.burst)
            bot.check_alive()
            paced = target.steps_for[: paced_users(args)]
            limit = len(paced) * interval + args.drain_seconds
            target.paced = await run_phase(
                client, watched, "paced", paced, interval, args.step_timeout, limit
            )
            print_phase(target.paced)
            bot.check_alive()
    except ProcessError:
        raise
    except Exception as exc:
        raise ProcessError(f"{target.title} run broke: {exc!r}\n{bot.report()}") from exc
    finally:
        # A bot that fell behind would first work through every queued update: don't wait.
        procs.stop(bot, timeout=BOT_STOP_GRACE)
        procs.stop(sandbox)
    print_log_summary(bot)


# ------------------------------------------------------------------------------ output


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def print_phase(phase: Phase) -> None:
    offered = f", offered {phase.offered_rate:.0f} steps/s" if phase.offered_rate else ""
    print(
        f"{phase.name}: {len(phase.ok)}/{phase.planned} steps in {phase.wall:.1f} s"
        f" = {phase.rate:.1f} steps/s{offered}"
    )
    print(
        f"  first reply ms: p50 {ms(phase.first(50))}  p90 {ms(phase.first(90))}"
        f"  p99 {ms(phase.first(99))}  max {ms(phase.first(100))}"
    )
    print(
        f"  all replies ms: p50 {ms(phase.done(50))}  p90 {ms(phase.done(90))}"
        f"  p99 {ms(phase.done(99))}  max {ms(phase.done(100))}"
    )
    cpu = "  ".join(f"{k} {v:.1f}" for k, v in phase.cpu.items())
    print(
        f"  cpu s: {cpu}"
        + (f"  | sandbox 429s: {phase.rate_limited}" if phase.rate_limited else "")
    )
    errors = phase.errors()
    if errors:
        print("  errors: " + ", ".join(f"{n} {kind}" for kind, n in errors.items()))
    sys.stdout.flush()


def print_log_summary(proc: Proc) -> None:
    """How many warnings and errors the process logged (at ANTQ_LOG_LEVEL=WARNING), if any."""
    lines = proc.stderr().splitlines()
    counts = {level: sum(f" {level} " in line for line in lines) for level in ("WARNING", "ERROR")}
    logged = [line for line in lines if " WARNING " in line or " ERROR " in line]
    if logged:
        print(
            f"{proc.name} log: {counts['WARNING']} warnings, {counts['ERROR']} errors;"
            f" last: {logged[-1][:200]}"
        )


def print_comparison(bot: Target, echo: Target, args: argparse.Namespace) -> None:
    assert bot.burst and bot.paced and echo.burst and echo.paced
    print("\n== comparison (latency = first reply, ms) ==")
    header = (
        f"{'phase':<7}{'bot steps/s':>12}{'echo steps/s':>13}{'ratio':>7}"
        f"{'bot p50':>9}{'echo p50':>9}{'bot p99':>9}{'echo p99':>9}"
    )
    print(header)
    ratios: dict[str, float] = {}
    for name in ("burst", "paced"):
        b, e = getattr(bot, name), getattr(echo, name)
        ratio = b.rate / e.rate if e.rate > 0 else math.nan
        ratios[name] = ratio
        print(
            f"{name:<7}{b.rate:>12.1f}{e.rate:>13.1f}{ratio:>7.2f}"
            f"{ms(b.first(50)):>9}{ms(e.first(50)):>9}{ms(b.first(99)):>9}{ms(e.first(99)):>9}"
        )
    burst_ok = ratios["burst"] >= AIM_RATIO and not bot.burst.errors()
    print(
        f"aim: bot/echo steps/s >= {AIM_RATIO} under the burst of {args.users} users:"
        f" {ratios['burst']:.2f}, {'met' if burst_ok else 'NOT met'}"
    )
    paced = bot.paced
    kept_up = paced.rate >= 0.95 * args.paced_rate
    p99 = paced.first(99)
    p99_ok = kept_up and not paced.errors() and p99 < AIM_P99_MS
    print(
        f"aim: p99 < {AIM_P99_MS:.0f} ms at {args.paced_rate:g} steps/s: bot p99 {ms(p99)} ms"
        f" at {paced.rate:.1f} steps/s achieved, {'met' if p99_ok else 'NOT met'}"
    )


# ------------------------------------------------------------------------------ main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200, help="users in the burst phase")
    parser.add_argument(
        "--paced-rate", type=float, default=50.0, help="steps/s offered in the paced phase"
    )
    parser.add_argument(
        "--paced-seconds", type=float, default=20.0, help="how long new users keep arriving"
    )
    parser.add_argument(
        "--limits",
        action="store_true",
        help="keep the sandbox's flood limits on (its global 30 msg/s becomes the ceiling;"
        f" the per-chat burst is raised to {LIMITS_CHAT_BURST} since simulated people are fast)",
    )
    parser.add_argument(
        "--concurrent-updates", type=int, default=32, help="for both bots (ANTQ_CONCURRENT_UPDATES)"
    )
    parser.add_argument(
        "--step-timeout", type=float, default=30.0, help="seconds a step may take (a timeout)"
    )
    parser.add_argument(
        "--burst-limit",
        type=float,
        default=60.0,
        help="seconds after which the burst phase is cut off (unfinished steps are counted)",
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=3.0,
        help="seconds the paced phase waits for answers after its last user started",
    )
    return parser


async def amain(args: argparse.Namespace) -> None:
    task = asyncio.current_task()
    assert task is not None
    # SIGTERM cancels the run like Ctrl+C does, so that every started process is stopped.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    print(
        f"dialog_throughput: burst of {args.users} users, then {args.paced_rate:g} steps/s"
        f" for {args.paced_seconds:g} s; concurrent_updates {args.concurrent_updates};"
        f" sandbox limits {'on' if args.limits else 'off'}"
    )
    print(
        f"python {sys.version.split()[0]}, python-telegram-bot {telegram.__version__},"
        f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f};"
        f" {len(ONBOARDING)} steps per user",
        flush=True,
    )
    users = max(args.users, paced_users(args))
    bot = Target("ANTQ bot: onboarding", "bot", [ONBOARDING] * users)
    echo = Target("bare PTB echo bot", "echo", [echo_steps(i) for i in range(users)])
    with tempfile.TemporaryDirectory(prefix="antq-bench-") as tmp, Procs(Path(tmp)) as procs:
        # Both are started now; the echo bot idles in a long poll on its own sandbox meanwhile.
        for target in (bot, echo):
            start_target(target, args, procs, Path(tmp))
        for target in (bot, echo):
            await measure(target, args, procs)
    print_comparison(bot, echo, args)


def main() -> int:
    args = build_parser().parse_args()
    started = time.perf_counter()
    try:
        asyncio.run(amain(args))
    except ProcessError as exc:
        print(f"\nbenchmark broke: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ninterrupted", file=sys.stderr)
        return 130
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
