#!/usr/bin/env python3
"""A full school year's export of 100,000 reports: the time and the peak memory it takes."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import content  # noqa: E402
from bot.kernel.crypto import Cipher  # noqa: E402
from bot.office.export import OfficeExport, period_of  # noqa: E402
from storage.db import Database, to_db  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
YEAR_START = date(2026, 9, 1)
STATUSES = ("new", "received", "in_progress", "forwarded", "resolved", "dismissed", "spam")


async def _migrate(path: Path) -> None:
    db = await Database.open(path)
    await db.close()


def build(path: Path, key: str, reports: int, units: int, seed: int = 7) -> None:
    """A database of one school year: units, reports and tips, deadlines, outreach, a log."""
    asyncio.run(_migrate(path))
    cipher = Cipher([key])
    rng = random.Random(seed)
    bundle = content.load()
    categories = list(bundle.categories)
    start = datetime(2026, 9, 1, tzinfo=TZ).astimezone(UTC)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    codes = [f"U{n:05d}" for n in range(units)]
    with conn:
        conn.executemany(
            "INSERT INTO units (code, name, kind, area, name_folded) VALUES (?, ?, ?, ?, ?)",
            [
                (c, f"Trường {c}", "THPT", f"Xã {n % 90}", f"truong {c.lower()}")
                for n, c in enumerate(codes)
            ],
        )
        rows = []
        for n in range(reports):
            anonymous = n % 3 == 0
            created = start + timedelta(seconds=rng.randrange(364 * 86400))
            body = {
                "what": "Nội dung tin báo " + "chi tiết sự việc, " * rng.randrange(2, 12),
                "where": "Cổng trường",
                "occurred_on": (created.date() - timedelta(days=1)).isoformat(),
                "people": "Hai học sinh lớp 10",
                "contact_name": None if anonymous else "Nguyễn Thị Lan",
                "contact_phone": None if anonymous else "0912345678",
            }
            stamp = to_db(created)
            first = to_db(created + timedelta(hours=rng.randrange(1, 72))) if n % 4 else None
            rows.append((
                f"R{n:04d}-{n % 9999:04d}", int(anonymous), None if anonymous else "telegram",
                None if anonymous else 1_000_000 + n, rng.choice(categories), rng.choice(codes),
                rng.choice(STATUSES), cipher.encrypt_json(body), "h" if anonymous else None,
                stamp, stamp, first, stamp,
            ))  # fmt: skip
        conn.executemany(
            "INSERT INTO reports (code, anonymous, channel, chat_id, category, unit_code, status, "
            "body, passphrase_hash, created_at, updated_at, first_action_at, last_announced_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        for number in range(1, 11):
            due = to_db(start + timedelta(days=30 * number))
            conn.execute(
                "INSERT INTO deadlines (id, title, due_at, reminders, scope, state, created_by, "
                "created_at, updated_at) VALUES (?, ?, ?, '', 'all', 'open', 'cli', ?, ?)",
                (number, f"Hạn chót {number}", due, due, due),
            )
            conn.executemany(
                "INSERT INTO deadline_units (deadline_id, unit_code, done_at) VALUES (?, ?, ?)",
                [(number, c, due if rng.random() < 0.8 else None) for c in codes],
            )
        for week in range(36):
            monday = (YEAR_START + timedelta(days=6 + 7 * week)).isoformat()
            conn.execute(
                "INSERT INTO outreach_pushes VALUES (?, 'staff', ?, ?)",
                (monday, to_db(start), 5000),
            )
            conn.executemany(
                "INSERT INTO unit_confirmations (unit_code, week_start, confirmed_at) "
                "VALUES (?, ?, ?)",
                [(c, monday, to_db(start)) for c in codes if rng.random() < 0.7],
            )
        conn.executemany(
            "INSERT INTO audit_log (at, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)",
            [(to_db(start + timedelta(minutes=n)), "office:90001", "report_status",
              f"R{n:04d}", "new>received") for n in range(20_000)],
        )  # fmt: skip
    conn.close()


def measure(path: Path, key: str, out: Path) -> dict[str, float]:
    """Run in a fresh process: the export alone, its wall time and the process's peak RSS."""
    bundle = content.load()
    export = OfficeExport(
        path, Cipher([key]), bundle.texts, TZ,
        lambda code: bundle.categories[code].label if code in bundle.categories else code,
    )  # fmt: skip
    period = period_of(YEAR_START, date(2027, 8, 31), TZ)
    began = time.perf_counter()
    result = export.write(period, out)
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak_mb, "size_mb": out.stat().st_size / 1e6,
            **{f"rows_{k}": v for k, v in result.rows.items()}}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=2_000)
    parser.add_argument("--measure", nargs=3, metavar=("DB", "KEY", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        db, key, out = args.measure
        print(json.dumps(measure(Path(db), key, Path(out))))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "antq.db"
        key = Cipher.generate_key()
        began = time.perf_counter()
        build(path, key, args.reports, args.units)
        print(
            f"built {args.reports:,} reports, {args.units:,} units in "
            f"{time.perf_counter() - began:.1f} s ({path.stat().st_size / 1e6:.0f} MB database)"
        )
        child = subprocess.run(
            [sys.executable, __file__, "--measure", str(path), key, str(Path(folder) / "x.xlsx")],
            capture_output=True, text=True, check=True, env={**os.environ},
        )  # fmt: skip
        figures = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"full-year export: {figures['seconds']:.1f} s, peak memory {figures['peak_mb']:.0f} MB "
        f"(whole process), workbook {figures['size_mb']:.1f} MB; rows: "
        + ", ".join(f"{k[5:]} {int(v):,}" for k, v in figures.items() if k.startswith("rows_"))
    )
    print("aim: under 60 s and 300 MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
