"""The core's scheduler: the periodic ticks, whatever channels run (APScheduler in the bot's loop).

Every tick derives what is due from the database and is idempotent, so a tick that runs twice, or
late after a restart, does no harm; the jobs have stable ids and nothing about them is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

Tick = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Job:
    """A periodic tick of a capability: its stable id, how often, and the first run's delay."""

    id: str
    every: timedelta
    tick: Tick
    first_after: timedelta = timedelta(seconds=5)


class CoreScheduler:
    """Runs the core's jobs in the running event loop; `run_now` runs one at once (tests)."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = {job.id: job for job in jobs}
        self.last_run: dict[str, datetime] = {}  # job id -> when it last finished (for health)
        self._scheduler: AsyncIOScheduler | None = None

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def start(self) -> None:
        """Start in the running loop (once, whichever channel asks first)."""
        if self.running:
            return
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        for job in self.jobs.values():
            scheduler.add_job(
                self.run_now,
                IntervalTrigger(
                    seconds=job.every.total_seconds(), start_date=now + job.first_after
                ),
                args=[job.id],
                id=job.id,
                name=job.id,
                coalesce=True,  # a sleeping machine runs a missed tick once, not many times
                max_instances=1,
                misfire_grace_time=int(job.every.total_seconds()),
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started: %s", ", ".join(sorted(self.jobs)))

    async def run_now(self, job_id: str) -> None:
        job = self.jobs[job_id]
        try:
            await job.tick()
        except Exception as exc:  # logged without content; the next tick tries again
            log.error("scheduled job %s failed: %s", job_id, type(exc).__name__)
        self.last_run[job_id] = datetime.now(UTC)

    async def run_all(self) -> None:
        """Every job once, in order: after the clock was moved by hand."""
        for job_id in self.jobs:
            await self.run_now(job_id)

    def shutdown(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
