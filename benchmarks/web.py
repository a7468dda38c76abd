#!/usr/bin/env python3
"""200 visitors submit tips at once through the web form; the inbox with 100,000 reports.

The web server runs as `antq web` in a subprocess on a database seeded with --reports reports
(default 100,000); this script is the load. Each visitor opens /togiac, takes the minimum fill
time like a person would, and posts the form (its own X-Forwarded-For, as behind the
Department's reverse proxy, so that the per-address limit is not what is measured). Prints
submissions per second and p50/p99 page times; then a clerk's inbox: the first page and a search
by code, each --inbox-runs times. Aim: p99 under 300 ms for the inbox.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import content  # noqa: E402
from benchmarks._figures import percentile  # noqa: E402
from bot.kernel.clock import Clock  # noqa: E402
from bot.kernel.config import Settings  # noqa: E402
from bot.kernel.services import Services  # noqa: E402
from bot.office.staff import StaffService  # noqa: E402
from storage.units import Unit, UnitRepository  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PASSWORD = "benchmark-password-2026"
MIN_FILL = 2.1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def prepare(database: Path, key_file: Path, reports: int) -> list[str]:
    """Migrate, add units and a clerk, then seed `reports` reports in bulk; returns some codes."""
    bundle = content.load()
    settings = Settings(_env_file=None, database_path=database, data_key_file=key_file)
    services = await Services.open(settings, bundle, Clock(settings.tz))
    units = [
        Unit(f"U{n:04d}", f"Trường số {n} huyện Mẫu", "THCS", f"Xã {n % 40}") for n in range(200)
    ]
    await UnitRepository(services.db).upsert_all(units)
    await StaffService(services.db, services.cipher, services.clock).add(
        "bench", "Cán bộ đo tải", "clerk", PASSWORD, "cli"
    )
    body = services.cipher.encrypt_json(
        {"what": "Nội dung mẫu cho phép đo tải hộp tin báo.", "where": None, "people": None}
    )
    await services.close()
    categories = list(bundle.categories)
    statuses = ["new", "received", "in_progress", "forwarded", "resolved", "dismissed", "spam"]
    sources = ["telegram", "web", "zalo"]
    rng = random.Random(7)
    start = datetime.now(UTC) - timedelta(days=365)
    codes: set[str] = set()
    rows = []
    for n in range(reports):
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(8))
        code = f"{code[:4]}-{code[4:]}"
        if code in codes:
            continue
        codes.add(code)
        at = (start + timedelta(seconds=n * 365 * 86400 // max(reports, 1))).isoformat(
            timespec="seconds"
        )
        anonymous = rng.random() < 0.4
        source = rng.choice(sources)
        rows.append(
            (
                code,
                int(anonymous),
                None if anonymous else source,
                None,
                rng.choice(categories),
                rng.choice(units).code if rng.random() < 0.8 else None,
                rng.choice(statuses),
                body,
                at,
                at,
                at,
                source,
            )
        )
    with sqlite3.connect(database) as conn:
        conn.executemany(
            "INSERT INTO reports (code, anonymous, channel, chat_id, category, unit_code, status, "
            "body, created_at, updated_at, last_announced_at, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return rng.sample(sorted(codes), 50)


async def wait_up(url: str, proc: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if proc.returncode is not None:
                raise RuntimeError(f"antq web exited with {proc.returncode}")
            try:
                async with session.get(url + "/") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("antq web did not start")


async def visitor(
    session: aiohttp.ClientSession, url: str, number: int, pages: list[float], posts: list[float]
) -> bool:
    headers = {"X-Forwarded-For": f"198.18.{number // 250}.{number % 250 + 1}"}
    began = time.perf_counter()
    async with session.get(url + "/togiac", headers=headers) as response:
        html = await response.text()
    pages.append(time.perf_counter() - began)
    match = TOKEN.search(html)
    if not match:
        return False
    await asyncio.sleep(MIN_FILL)  # a person reads and types
    form = {
        "csrf_token": match.group(1),
        "category": "ma_tuy",
        "what": f"Người số {number} báo: có đối tượng bán thuốc lá điện tử trước cổng trường.",
        "unit": f"Trường số {number % 200} huyện Mẫu",
        "when": "",
    }
    began = time.perf_counter()
    async with session.post(url + "/togiac", data=form, headers=headers) as response:
        html = await response.text()
        ok = response.status == 200 and 'id="receipt-code"' in html
    elapsed = time.perf_counter() - began
    posts.append(elapsed)
    pages.append(elapsed)
    return ok


async def inbox_times(url: str, codes: list[str], runs: int) -> tuple[list[float], list[float]]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        async with session.get(url + "/vanphong/dangnhap") as response:
            token = TOKEN.search(await response.text())
        assert token
        data = {"csrf_token": token.group(1), "username": "bench", "password": PASSWORD}
        async with session.post(url + "/vanphong/dangnhap", data=data) as response:
            assert str(response.url).endswith("/vanphong/"), response.url
        first, search = [], []
        for n in range(runs):
            began = time.perf_counter()
            async with session.get(url + "/vanphong/") as response:
                assert response.status == 200
                await response.read()
            first.append(time.perf_counter() - began)
            began = time.perf_counter()
            code = codes[n % len(codes)]
            async with session.get(url + "/vanphong/", params={"code": code}) as response:
                html = await response.text()
                assert code in html
            search.append(time.perf_counter() - began)
        return first, search


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.0f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--inbox-runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="antq-web-bench-") as folder:
        database = Path(folder) / "antq.db"
        key_file = Path(folder) / "antq.key"
        began = time.perf_counter()
        codes = await prepare(database, key_file, args.reports)
        print(f"seeded {args.reports} reports in {time.perf_counter() - began:.1f} s")
        port = free_port()
        env = {
            **os.environ,
            "ANTQ_DATABASE_PATH": str(database),
            "ANTQ_DATA_KEY_FILE": str(key_file),
            "ANTQ_HTTP_LISTEN": f"127.0.0.1:{port}",
            "ANTQ_LOG_LEVEL": "WARNING",
            "ANTQ_OFFICE_CHAT_ID": "-1001000000001",  # each tip queues the office's message
        }
        antq = [sys.executable, "-m", "bot", "web"]
        proc = await asyncio.create_subprocess_exec(
            *antq, env=env, cwd=folder, stdin=asyncio.subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            await wait_up(url, proc)
            pages: list[float] = []
            posts: list[float] = []
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                began = time.perf_counter()
                results = await asyncio.gather(
                    *(visitor(session, url, n, pages, posts) for n in range(args.visitors))
                )
                wall = time.perf_counter() - began
            done = sum(results)
            busy = wall - MIN_FILL  # the visitors' own fill time is not the server's
            print(
                f"{done}/{args.visitors} tips accepted in {wall:.1f} s "
                f"({done / busy:.0f} submissions/s excluding the {MIN_FILL} s fill time)"
            )
            print(f"page times (form and submission): p50 {ms(pages, 50)}, p99 {ms(pages, 99)}")
            print(f"submission alone: p50 {ms(posts, 50)}, p99 {ms(posts, 99)}")
            first, search = await inbox_times(url, codes, args.inbox_runs)
            total = args.reports + done
            print(f"inbox, first page ({total} reports): p50 {ms(first, 50)}, p99 {ms(first, 99)}")
            print(f"inbox, search by code: p50 {ms(search, 50)}, p99 {ms(search, 99)}")
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
