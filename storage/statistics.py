"""Counts for `/thongke`: reports and tips, first actions, outreach, deadlines, in a period."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage.db import Database, from_db, to_db
from storage.exports import Period


@dataclass
class Figures:
    by_category: dict[tuple[str, bool], int] = field(default_factory=dict)  # (category, anon)
    by_status: dict[str, int] = field(default_factory=dict)
    by_unit: list[tuple[str, str, int]] = field(default_factory=list)  # code, name, count
    first_action_minutes: list[float] = field(default_factory=list)
    outreach: dict[str, int] = field(default_factory=dict)  # outbox state -> count
    confirmations: int = 0
    confirmations_expected: int = 0  # units x weeks pushed to the staff in the period
    deadlines: list[tuple[str, str, int, int]] = field(default_factory=list)  # unit, due, on time


class StatisticsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def figures(self, period: Period, now: datetime, top_units: int = 10) -> Figures:
        """The period's figures; deadlines count once their due moment has passed."""
        s, e = to_db(period.start), to_db(period.end)
        first_week, after_week = period.weeks
        result = Figures()
        in_period = "created_at >= ? AND created_at < ?"
        for row in await self.db.fetch_all(
            f"SELECT category, anonymous, COUNT(*) FROM reports WHERE {in_period} "
            "GROUP BY category, anonymous",
            (s, e),
        ):
            result.by_category[(row[0], bool(row[1]))] = int(row[2])
        for row in await self.db.fetch_all(
            f"SELECT status, COUNT(*) FROM reports WHERE {in_period} GROUP BY status", (s, e)
        ):
            result.by_status[row[0]] = int(row[1])
        result.by_unit = [
            (row[0], row[1] or row[0], int(row[2]))
            for row in await self.db.fetch_all(
                "SELECT r.unit_code, u.name, COUNT(*) AS n FROM reports r "
                "LEFT JOIN units u ON u.code = r.unit_code "
                "WHERE r.created_at >= ? AND r.created_at < ? AND r.unit_code IS NOT NULL "
                "GROUP BY r.unit_code ORDER BY n DESC, r.unit_code LIMIT ?",
                (s, e, top_units),
            )
        ]
        for row in await self.db.fetch_all(
            f"SELECT created_at, first_action_at FROM reports WHERE {in_period} "
            "AND first_action_at IS NOT NULL",
            (s, e),
        ):
            delay = from_db(row[1]) - from_db(row[0])
            result.first_action_minutes.append(delay.total_seconds() / 60)
        for row in await self.db.fetch_all(
            "SELECT state, COUNT(*) FROM outbox WHERE kind = 'outreach' "
            "AND ref >= ? AND ref < ? GROUP BY state",
            (f"outreach:{first_week}", f"outreach:{after_week}"),
        ):
            result.outreach[row[0]] = int(row[1])
        single = await self.db.fetch_one(
            "SELECT COUNT(*) FROM unit_confirmations WHERE week_start >= ? AND week_start < ?",
            (first_week, after_week),
        )
        result.confirmations = int(single[0]) if single else 0
        single = await self.db.fetch_one(
            "SELECT (SELECT COUNT(DISTINCT week_start) FROM outreach_pushes "
            " WHERE audience = 'staff' AND week_start >= ? AND week_start < ?) "
            "* (SELECT COUNT(*) FROM units)",
            (first_week, after_week),
        )
        result.confirmations_expected = int(single[0]) if single else 0
        result.deadlines = [
            (row[0], row[1] or row[0], int(row[2]), int(row[3]))
            for row in await self.db.fetch_all(
                "SELECT du.unit_code, u.name, COUNT(*), "
                "SUM(du.done_at IS NOT NULL AND du.done_at <= d.due_at) "
                "FROM deadlines d JOIN deadline_units du ON du.deadline_id = d.id "
                "LEFT JOIN units u ON u.code = du.unit_code "
                "WHERE d.state IN ('open', 'closed') AND d.due_at >= ? AND d.due_at < ? "
                "AND d.due_at <= ? GROUP BY du.unit_code ORDER BY du.unit_code",
                (s, e, to_db(now)),
            )
        ]
        return result
