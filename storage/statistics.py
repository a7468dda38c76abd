"""Counts for `/thongke`: reports and tips, first actions, outreach, deadlines, in a period."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from storage.db import Database, to_db
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

    async def groups(self, period: Period, offset_minutes: int = 0) -> list[Group]:
        """The period's reports counted by (local month, status, category, anonymous): one
        pass over the period that every count by category, status or month is taken from."""
        return [
            (str(r[0]), str(r[1]), str(r[2]), bool(r[3]), int(r[4]))
            for r in await self.db.fetch_all(
                "SELECT strftime('%Y-%m', created_at, ?), status, category, anonymous, COUNT(*) "
                "FROM reports WHERE created_at >= ? AND created_at < ? GROUP BY 1, 2, 3, 4",
                (f"{offset_minutes:+d} minutes", to_db(period.start), to_db(period.end)),
            )
        ]

    async def figures(
        self,
        period: Period,
        now: datetime,
        top_units: int = 10,
        groups: list[Group] | None = None,
    ) -> Figures:
        """The period's figures; deadlines count once their due moment has passed."""
        s, e = to_db(period.start), to_db(period.end)
        first_week, after_week = period.weeks
        result = Figures()
        in_period = "created_at >= ? AND created_at < ?"
        count_groups(result, groups if groups is not None else await self.groups(period))
        db = self.db
        by_unit, delays, outreach, confirmed, expected, deadlines = await asyncio.gather(
            db.fetch_all(
                "SELECT r.unit_code, u.name, r.n FROM (SELECT unit_code, COUNT(*) AS n "
                "FROM reports WHERE created_at >= ? AND created_at < ? AND unit_code IS NOT NULL "
                "GROUP BY unit_code ORDER BY n DESC, unit_code LIMIT ?) r "
                "LEFT JOIN units u ON u.code = r.unit_code ORDER BY r.n DESC, r.unit_code",
                (s, e, top_units),
            ),
            db.fetch_all(
                # in SQL: a school year's 100,000 reports are not parsed one by one in Python
                "SELECT (julianday(first_action_at) - julianday(created_at)) * 1440 "
                f"FROM reports WHERE {in_period} AND first_action_at IS NOT NULL",
                (s, e),
            ),
            db.fetch_all(
                # refs "outreach:<week>" are the outreach's own: the index on (ref, state) covers
                # it, and grouped in its order no temporary tree is built (summed below)
                "SELECT state, COUNT(*) FROM outbox WHERE ref >= ? AND ref < ? GROUP BY ref, state",
                (f"outreach:{first_week}", f"outreach:{after_week}"),
            ),
            db.fetch_one(
                "SELECT COUNT(*) FROM unit_confirmations WHERE week_start >= ? AND week_start < ?",
                (first_week, after_week),
            ),
            db.fetch_one(
                "SELECT (SELECT COUNT(DISTINCT week_start) FROM outreach_pushes "
                " WHERE audience = 'staff' AND week_start >= ? AND week_start < ?) "
                "* (SELECT COUNT(*) FROM units)",
                (first_week, after_week),
            ),
            db.fetch_all(
                "SELECT du.unit_code, u.name, COUNT(*), "
                "SUM(du.done_at IS NOT NULL AND du.done_at <= d.due_at) "
                "FROM deadlines d JOIN deadline_units du ON du.deadline_id = d.id "
                "LEFT JOIN units u ON u.code = du.unit_code "
                "WHERE d.state IN ('open', 'closed') AND d.due_at >= ? AND d.due_at < ? "
                "AND d.due_at <= ? GROUP BY du.unit_code ORDER BY du.unit_code",
                (s, e, to_db(now)),
            ),
        )  # side by side on the database's readers
        result.by_unit = [(row[0], row[1] or row[0], int(row[2])) for row in by_unit]
        result.first_action_minutes = [float(row[0]) for row in delays]
        for row in outreach:
            result.outreach[row[0]] = result.outreach.get(row[0], 0) + int(row[1])
        result.confirmations = int(confirmed[0]) if confirmed else 0
        result.confirmations_expected = int(expected[0]) if expected else 0
        result.deadlines = [
            (row[0], row[1] or row[0], int(row[2]), int(row[3])) for row in deadlines
        ]
        return result


Group = tuple[str, str, str, bool, int]  # local month, status, category, anonymous, count


@dataclass
class ChartFigures:
    """What the console's charts need beyond /thongke's figures (per month, unit and area)."""

    by_month: dict[str, int] = field(default_factory=dict)  # "2026-09" -> reports
    status_by_month: dict[tuple[str, str], int] = field(default_factory=dict)  # (month, status)
    reports_by_unit: dict[str, int] = field(default_factory=dict)
    units: list[tuple[str, str, str]] = field(default_factory=list)  # code, name, area
    outreach_by_unit: dict[str, tuple[int, int]] = field(default_factory=dict)  # (planned, sent)
    confirmed_by_unit: dict[str, int] = field(default_factory=dict)  # weeks confirmed
    weeks_pushed: int = 0


def count_groups(result: Figures, groups: list[Group]) -> None:
    """The period's reports by category and by status, from its groups."""
    for _, status, category, anonymous, count in groups:
        key = (category, anonymous)
        result.by_category[key] = result.by_category.get(key, 0) + count
        result.by_status[status] = result.by_status.get(status, 0) + count


def chart_groups(result: ChartFigures, groups: list[Group]) -> None:
    """The period's reports by month and by status per month, from its groups."""
    for month, status, _, _, count in groups:
        key = (month, status)
        result.status_by_month[key] = result.status_by_month.get(key, 0) + count
        result.by_month[month] = result.by_month.get(month, 0) + count


async def chart_figures(db: Database, period: Period, groups: list[Group]) -> ChartFigures:
    """Per month (the groups' local months), per unit and per area."""
    s, e = to_db(period.start), to_db(period.end)
    first_week, after_week = period.weeks
    result = ChartFigures()
    chart_groups(result, groups)
    by_unit, units, outreach, confirmed, single = await asyncio.gather(
        db.fetch_all(
            "SELECT unit_code, COUNT(*) FROM reports WHERE created_at >= ? AND created_at < ? "
            "AND unit_code IS NOT NULL GROUP BY unit_code",
            (s, e),
        ),
        db.fetch_all("SELECT code, name, area FROM units ORDER BY code"),
        db.fetch_all(
            # from each person of a unit to their outreach rows (outbox_by_chat_ref covers it)
            "SELECT p.unit_code, COUNT(*), SUM(o.state = 'sent') FROM people p "
            "CROSS JOIN outbox o ON o.channel = p.channel AND o.chat_id = p.chat_id "
            "AND o.ref >= ? AND o.ref < ? WHERE p.unit_code IS NOT NULL GROUP BY p.unit_code",
            (f"outreach:{first_week}", f"outreach:{after_week}"),
        ),
        db.fetch_all(
            "SELECT unit_code, COUNT(*) FROM unit_confirmations "
            "WHERE week_start >= ? AND week_start < ? GROUP BY unit_code",
            (first_week, after_week),
        ),
        db.fetch_one(
            "SELECT COUNT(DISTINCT week_start) FROM outreach_pushes "
            "WHERE audience = 'staff' AND week_start >= ? AND week_start < ?",
            (first_week, after_week),
        ),
    )  # side by side on the database's readers
    result.reports_by_unit = {str(row[0]): int(row[1]) for row in by_unit}
    result.units = [(str(r[0]), str(r[1]), str(r[2])) for r in units]
    result.outreach_by_unit = {str(row[0]): (int(row[1]), int(row[2])) for row in outreach}
    result.confirmed_by_unit = {str(row[0]): int(row[1]) for row in confirmed}
    result.weeks_pushed = int(single[0]) if single else 0
    return result
