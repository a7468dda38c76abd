#!/usr/bin/env python3
"""One day's deadline reminders: time to compute and enqueue them, and the peak memory."""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import content  # noqa: E402
from bot.deadlines.service import Scope  # noqa: E402
from bot.kernel.clock import ManualClock  # noqa: E402
from bot.kernel.config import Settings  # noqa: E402
from bot.kernel.crypto import Cipher  # noqa: E402
from bot.kernel.services import Services  # noqa: E402
from storage.units import Unit, UnitRepository  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY_0800 = datetime(2026, 12, 1, 8, 0, tzinfo=TZ)
OFFICE_CHAT_ID = -1001000000001
# Ten deadlines whose reminder falls on the same day: 7, 3, 1 days before, the day itself,
# and six overdue by 1 to 6 days (a daily reminder to every unit not done, plus a digest).
DAYS_TO_DUE = (7, 3, 1, 0, -1, -2, -3, -4, -5, -6)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)


async def prepare(services: Services, units: int, heads: int, deadlines: int, done: float) -> None:
    clock = services.clock
    assert isinstance(clock, ManualClock)
    await UnitRepository(services.db).upsert_all(
        [
            Unit(f"U{n:05d}", f"Trường số {n}", ("THPT", "THCS", "Tiểu học")[n % 3], f"Xã {n % 95}")
            for n in range(units)
        ]
    )
    async with services.db.transaction() as tx:
        for n in range(units):
            for h in range(heads):
                await services.people.people.save(
                    tx,
                    channel="telegram",
                    chat_id=1_000_000 + n * heads + h,
                    role="head",
                    unit_code=f"U{n:05d}",
                    subscribed=False,
                    now=clock.now(),
                )
    clock.set(TODAY_0800 - timedelta(days=40))  # created long before: no reminder yet
    service = services.deadlines
    for index in range(deadlines):
        days = DAYS_TO_DUE[index % len(DAYS_TO_DUE)]
        due = datetime.combine((TODAY_0800 + timedelta(days=days)).date(), TODAY_0800.time(), TZ)
        created = await service.create_draft("benchmark")
        await service.update(
            created,
            title=f"Hạn chót {index + 1}",
            description="Gửi báo cáo về Văn phòng Sở.",
            due_at=(due + timedelta(hours=9)).astimezone(UTC),
            scope=Scope("all"),
        )
        assert await service.open(created) is None
    if done:
        marked = int(units * done)
        async with services.db.transaction() as tx:
            for deadline in await service.repo.in_states("open"):
                for n in range(marked):
                    await service.repo.mark_done(tx, deadline.id, f"U{n:05d}", 1, clock.now())


async def main(args: argparse.Namespace) -> None:
    bundle = content.load()
    with tempfile.TemporaryDirectory(prefix="antq-bench-") as folder:
        path = Path(folder) / "antq.db"
        settings = Settings(
            _env_file=None,
            database_path=path,
            data_key=Cipher.generate_key(),
            office_chat_id=OFFICE_CHAT_ID,
        )
        clock = ManualClock(TZ, TODAY_0800 - timedelta(days=41))
        services = await Services.open(settings, bundle, clock)
        try:
            started = time.perf_counter()
            await prepare(services, args.units, args.heads, args.deadlines, args.done)
            setup = time.perf_counter() - started
            rss_before = peak_rss_mb()
            clock.set(TODAY_0800 + timedelta(minutes=1))
            started = time.perf_counter()
            planned = await services.reminders.tick()
            elapsed = time.perf_counter() - started
            rss_after = peak_rss_mb()
            started = time.perf_counter()
            again = await services.reminders.tick()
            idle = time.perf_counter() - started
            counts = await services.outbox.repo.counts(kind="deadline_reminder")
            digests = await services.outbox.repo.counts(kind="deadline_digest")
        finally:
            await services.close()
    reminders = counts.get("pending", 0)
    print(f"units                               {args.units}")
    print(f"heads per unit                      {args.heads}")
    print(f"deadlines with a reminder today     {args.deadlines}")
    print(f"units already done (share)          {args.done:.2f}")
    print(f"setup (units, heads, deadlines)     {setup:.2f} s")
    print(f"reminders enqueued                  {reminders}")
    print(f"office digests enqueued             {digests.get('pending', 0)}")
    print(f"rows planned by the tick            {planned}")
    print(f"compute and enqueue the day's tick  {elapsed:.3f} s")
    print(f"reminders per second                {reminders / elapsed:,.0f}")
    print(f"the next tick (nothing to plan)     {idle * 1000:.1f} ms, {again} rows")
    print(f"peak RSS before the tick            {rss_before:.1f} MB")
    print(f"peak RSS after the tick             {rss_after:.1f} MB")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--heads", type=int, default=3, help="heads per unit")
    parser.add_argument("--deadlines", type=int, default=10)
    parser.add_argument(
        "--done", type=float, default=0.0, help="share of units already done (0..1)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
