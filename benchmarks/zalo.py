#!/usr/bin/env python3
"""200 Zalo people onboard at once through the fake Zalo OA (webhook in, CS out), and the same
walk on Telegram through the Telegram sandbox in the same run.

Prints steps/s, p50/p99 from event to answer (the control call that makes the fake emit the
event, to the OA message carrying the expected text), the webhook's answer times as the fake
measured them (aim: every one under 2 s, p99 under 200 ms, while the work queue drains), and
the ratio Zalo / Telegram. Both bots are `antq run` processes as shipped, one per channel.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

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
from benchmarks.dialog_throughput import (  # noqa: E402
    Phase,
    Step,
    Target,
    ms,
    print_log_summary,
    print_phase,
    run_phase,
    start_target,
    wait_ready,
)
from sandbox.telegram.client import SandboxClient  # noqa: E402
from sandbox.zalo import NoMessageError, ZaloSandboxClient, ZaloSimUser  # noqa: E402
from sandbox.zalo.client import ZaloSandboxError  # noqa: E402

UNITS_CSV = ROOT / "content" / "data" / "sample_units.csv"
ZALO_READY = re.compile(r"zalo sandbox listening on (http://\S+)")
AIM_WEBHOOK_MAX = 2.0
AIM_WEBHOOK_P99 = 0.200


@dataclass(frozen=True)
class ZStep:
    action: str  # follow | press | send
    value: str
    expect: str


# The same walk on Telegram (labels as content/ has them today).
TELEGRAM_ONBOARDING = (
    Step("send", "/start", 2, "Tôi đồng ý"),
    Step("press", "Tôi đồng ý", 1, "Giáo viên, nhân viên"),
    Step("press", "Giáo viên, nhân viên", 1, "trường hoặc đơn vị nào"),
    Step("send", "nguyen du", 1, "Trường Tiểu học Nguyễn Du"),
    Step("press", "Trường Tiểu học Nguyễn Du", 1, "Có, gửi cho tôi"),
    Step("press", "Có, gửi cho tôi", 1, "Đã lưu thông tin"),
)
ZALO_ONBOARDING = (
    ZStep("follow", "", "Tôi đồng ý"),
    ZStep("press", "Tôi đồng ý", "Giáo viên, nhân viên"),
    ZStep("press", "Giáo viên, nhân viên", "trường hoặc đơn vị nào"),
    ZStep("send", "nguyen du", "Trường Tiểu học Nguyễn Du"),
    ZStep("press", "Trường Tiểu học Nguyễn Du", "Có, gửi cho tôi"),
    ZStep("press", "Có, gửi cho tôi", "Đã lưu thông tin"),
)


@dataclass
class ZResult:
    ms: float | None = None
    error: str | None = None


async def zwalk(user: ZaloSimUser, steps: Sequence[ZStep], timeout: float) -> list[ZResult]:
    results: list[ZResult] = []
    for step in steps:
        result = ZResult()
        results.append(result)
        t0 = time.perf_counter()
        try:
            if step.action == "follow":
                await user.follow()
            elif step.action == "press":
                await user.press(step.value)
            else:
                await user.send_text(step.value)
            while True:
                remaining = t0 + timeout - time.perf_counter()
                message = await user.next_message(max(0.05, remaining))
                if step.expect in message.text or any(step.expect in t for t in message.titles):
                    break
            result.ms = (time.perf_counter() - t0) * 1000
        except NoMessageError:
            result.error = f"timeout ({timeout:g} s) at step {len(results)}"
            if os.environ.get("ZALO_BENCH_DEBUG"):
                seen = await user.messages()
                print(
                    f"DEBUG step {len(results)}: "
                    + " | ".join(f"{m.text[:40]!r} {m.titles}" for m in seen[-6:]),
                    flush=True,
                )
        except (ZaloSandboxError, aiohttp.ClientError) as exc:
            result.error = f"control API error ({type(exc).__name__})"
        if result.error is not None:
            break
    return results


async def wait_http(url: str, bot: Proc, timeout: float = 30.0) -> None:
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        while True:
            bot.check_alive()
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.perf_counter() - started > timeout:
                raise ProcessError(f"{bot.name} did not serve {url}\n" + bot.report())
            await asyncio.sleep(0.1)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run_zalo(args: argparse.Namespace, procs: Procs, tmp: Path) -> dict[str, float]:
    port = free_port()
    webhook = f"http://127.0.0.1:{port}/zalo/webhook"
    fake_argv = [PYTHON, "-m", "sandbox.zalo", "--port", "0", "--webhook", webhook]
    fake = procs.start("zalo-fake", fake_argv, env=python_env(), cwd=ROOT)
    url = fake.wait_for_output(ZALO_READY, 15.0).group(1)
    connector_limit = args.users + 50
    async with ZaloSandboxClient(url) as control:
        control._session = aiohttp.ClientSession(  # noqa: SLF001 - many people at once
            connector=aiohttp.TCPConnector(limit=connector_limit)
        )
        grant = await control.grant()
        env = python_env(
            {
                "ANTQ_DATABASE_PATH": str(tmp / "zalo.db"),
                "ANTQ_DATA_KEY_FILE": str(tmp / "zalo.key"),
                "ANTQ_LOG_LEVEL": "WARNING",
                "ANTQ_HTTP_LISTEN": f"127.0.0.1:{port}",
                "ANTQ_ZALO_APP_ID": "3107040312345678901",
                "ANTQ_ZALO_APP_SECRET": "sandbox-app-secret",
                "ANTQ_ZALO_OA_SECRET_KEY": "sandbox-oa-secret-key",
                "ANTQ_ZALO_REFRESH_TOKEN": str(grant["refresh_token"]),
                "ANTQ_ZALO_API_BASE_URL": url,
                "ANTQ_ZALO_OAUTH_BASE_URL": url,
                "ANTQ_ZALO_OA_ID": "9876543210987654321",
            }
        )
        units = [PYTHON, "-m", "bot", "units", "import", str(UNITS_CSV)]
        run_checked("antq units import (Zalo only)", units, env=env, cwd=tmp)
        bot = procs.start("zalo-bot", [PYTHON, "-m", "bot", "run"], env=env, cwd=tmp)
        try:
            await wait_http(f"http://127.0.0.1:{port}/", bot)
            people = []
            for first in range(0, args.users, 50):
                batch = range(first, min(args.users, first + 50))
                people += await asyncio.gather(
                    *(control.create_person(f"Zalo {i}", follow=False) for i in batch)
                )
            cpu_before = bot.cpu_seconds() or 0.0
            print(f"\n== ANTQ bot on Zalo: onboarding, {args.users} people at once ==", flush=True)
            started = time.perf_counter()
            walks = await asyncio.gather(
                *(zwalk(p, ZALO_ONBOARDING, args.step_timeout) for p in people)
            )
            wall = time.perf_counter() - started
            cpu = (bot.cpu_seconds() or 0.0) - cpu_before
            stats = await control.stats()
            attempts = await control.webhook_attempts()
        finally:
            procs.stop(bot, timeout=2.0)
            procs.stop(fake)
            print_log_summary(bot)
            if args.show_log:
                print(bot.stderr()[-4000:])
    with sqlite3.connect(tmp / "zalo.db") as conn:
        pending = conn.execute(
            "SELECT count(*) FROM zalo_webhook_events WHERE processed_at IS NULL"
        ).fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM zalo_webhook_events").fetchone()[0]
    print(f"  events stored {stored}, not processed {pending}")
    results = [r for walk in walks for r in walk]
    ok = [r.ms for r in results if r.ms is not None and r.error is None]
    errors: dict[str, int] = {}
    for r in results:
        if r.error:
            errors[r.error] = errors.get(r.error, 0) + 1
    planned = args.users * len(ZALO_ONBOARDING)
    rate = len(ok) / wall if wall > 0 else 0.0
    times = [float(a["seconds"]) for a in attempts]
    failed = [a for a in attempts if a["status"] != 200]
    print(f"zalo: {len(ok)}/{planned} steps in {wall:.1f} s = {rate:.1f} steps/s")
    print(
        f"  event -> answer ms: p50 {ms(percentile(ok, 50))}  p90 {ms(percentile(ok, 90))}"
        f"  p99 {ms(percentile(ok, 99))}  max {ms(percentile(ok, 100))}"
    )
    wp = [t * 1000 for t in times]
    print(
        f"  webhook answered ms ({len(times)} posts, {len(failed)} not 200):"
        f" p50 {ms(percentile(wp, 50))}  p99 {ms(percentile(wp, 99))}"
        f"  max {ms(percentile(wp, 100))}"
    )
    print(
        f"  OA API: {stats.get('cs_free')} CS sent, errors {stats.get('errors')};"
        f" refreshes {stats.get('refreshes')}; bot cpu {cpu:.1f} s"
    )
    if errors:
        print("  errors: " + ", ".join(f"{n} {kind}" for kind, n in errors.items()))
    webhook_ok = (
        not failed
        and times
        and max(times) < AIM_WEBHOOK_MAX
        and percentile(times, 99) < AIM_WEBHOOK_P99
    )
    print(
        f"aim: every webhook < {AIM_WEBHOOK_MAX:g} s and p99 < {AIM_WEBHOOK_P99 * 1000:.0f} ms:"
        f" {'met' if webhook_ok else 'NOT met'}"
    )
    sys.stdout.flush()
    return {
        "rate": rate,
        "p50": percentile(ok, 50),
        "p99": percentile(ok, 99),
        "errors": float(sum(errors.values())),
    }


async def run_telegram(args: argparse.Namespace, procs: Procs, tmp: Path) -> Phase:
    options = argparse.Namespace(limits=False, concurrent_updates=32)
    target = Target("ANTQ bot on Telegram: onboarding", "bot", [TELEGRAM_ONBOARDING] * args.users)
    start_target(target, options, procs, tmp)
    bot, sandbox = target.bot, target.sandbox
    assert bot is not None and sandbox is not None
    try:
        async with SandboxClient(target.url, max_connections=args.users + 50) as client:
            await wait_ready(client, bot)
            print(f"\n== {target.title}, {args.users} people at once ==", flush=True)
            phase = await run_phase(
                client,
                {"bot": bot, "sandbox": sandbox},
                "telegram",
                target.steps_for,
                0.0,
                args.step_timeout,
                args.burst_limit,
            )
            print_phase(phase)
    finally:
        procs.stop(bot, timeout=1.0)
        procs.stop(sandbox)
    return phase


async def amain(args: argparse.Namespace) -> None:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    print(
        f"zalo: {args.users} people onboard at once ({len(ZALO_ONBOARDING)} steps each),"
        f" then the same walk on Telegram; {os.cpu_count()} CPUs,"
        f" load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="antq-zalo-bench-") as tmp, Procs(Path(tmp)) as procs:
        zalo = await run_zalo(args, procs, Path(tmp))
        telegram = await run_telegram(args, procs, Path(tmp))
    ratio = zalo["rate"] / telegram.rate if telegram.rate > 0 else float("nan")
    print("\n== Zalo / Telegram ==")
    print(
        f"steps/s: zalo {zalo['rate']:.1f}, telegram {telegram.rate:.1f}, ratio {ratio:.2f};"
        f" p50 ms zalo {ms(zalo['p50'])} / telegram {ms(telegram.done(50))};"
        f" p99 ms zalo {ms(zalo['p99'])} / telegram {ms(telegram.done(99))}"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--step-timeout", type=float, default=30.0)
    parser.add_argument("--burst-limit", type=float, default=120.0)
    parser.add_argument("--show-log", action="store_true", help="the Zalo bot's log at the end")
    return parser


def main() -> int:
    args = build_parser().parse_args()
    try:
        asyncio.run(amain(args))
    except ProcessError as exc:
        print(f"\nbenchmark broke: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
