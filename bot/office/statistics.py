"""`/thongke`: the office's figures for a period (week, month, school year, or dates)."""

from __future__ import annotations

import asyncio
import math
import statistics
from dataclasses import dataclass, field
from datetime import timedelta

from bot.kernel.clock import Clock, format_date
from bot.office.export import parse_day, period_of, school_year
from content import Content
from content.texts import fold
from storage.db import Database
from storage.exports import Period
from storage.statistics import (
    ChartFigures,
    Figures,
    StatisticsRepository,
    chart_figures,
    chart_groups,
    count_groups,
)

SHOWN_UNITS = 10


class StatisticsError(ValueError):
    """A period the office wrote that is not one we know."""


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `share` of them at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "—"


@dataclass(frozen=True)
class UnitScore:
    """One unit's line of the scorecard (rates in percent, None when there was nothing due)."""

    code: str
    name: str
    area: str
    reports: int
    outreach_planned: int
    outreach_sent: int
    delivery: float | None
    weeks_confirmed: int
    confirmation: float | None
    deadlines_due: int
    deadlines_on_time: int
    on_time: float | None


@dataclass
class StatisticsView:
    """/thongke's figures and the charts' as plain data: the same numbers on every surface."""

    period: Period
    figures: Figures
    charts: ChartFigures
    median_minutes: float | None
    p90_minutes: float | None
    scores: list[UnitScore] = field(default_factory=list)
    areas: list[tuple[str, int, int, int, int]] = field(default_factory=list)
    # area, outreach planned, sent, confirmations, confirmations expected


def _rate(part: int, whole: int) -> float | None:
    return 100 * part / whole if whole else None


class StatisticsDesk:
    def __init__(self, db: Database, content: Content, clock: Clock) -> None:
        self.db = db
        self.repo = StatisticsRepository(db)
        self.content = content
        self.texts = content.texts
        self.clock = clock

    def period(self, argument: str) -> Period:
        today = self.clock.today()
        words = fold(" ".join(argument.split()))
        if words in ("", "thang nay"):
            first, last = today.replace(day=1), today
        elif words == "tuan nay":
            first, last = today - timedelta(days=today.weekday()), today
        elif words == "nam hoc":
            first, last = school_year(today)[0], today
        else:
            parts = argument.split()
            if len(parts) != 2:
                raise StatisticsError(argument)
            try:
                first, last = parse_day(parts[0]), parse_day(parts[1])
            except ValueError:
                raise StatisticsError(argument) from None
        if first > last:
            raise StatisticsError(argument)
        return period_of(first, last, self.clock.tz)

    async def text(self, argument: str) -> str:
        period = self.period(argument)
        figures = await self.repo.figures(period, self.clock.now(), SHOWN_UNITS)
        return self.render(period, figures)

    async def view(self, period: Period) -> StatisticsView:
        """Everything the console's statistics page shows, for any period."""
        offset = period.start.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        groups, figures, charts = await asyncio.gather(  # side by side, on the two readers
            self.repo.groups(period, minutes),  # one pass over the period's reports
            self.repo.figures(period, self.clock.now(), SHOWN_UNITS, groups=[]),
            chart_figures(self.db, period, groups=[]),
        )
        count_groups(figures, groups)
        chart_groups(charts, groups)
        delays = figures.first_action_minutes
        deadlines = {code: (due, ok) for code, _, due, ok in figures.deadlines}
        scores = []
        areas: dict[str, list[int]] = {}
        for code, name, area in charts.units:
            planned, sent = charts.outreach_by_unit.get(code, (0, 0))
            confirmed = charts.confirmed_by_unit.get(code, 0)
            due, ok = deadlines.get(code, (0, 0))
            scores.append(
                UnitScore(
                    code,
                    name,
                    area,
                    charts.reports_by_unit.get(code, 0),
                    planned,
                    sent,
                    _rate(sent, planned),
                    confirmed,
                    _rate(confirmed, charts.weeks_pushed),
                    due,
                    ok,
                    _rate(ok, due),
                )  # fmt: skip
            )
            totals = areas.setdefault(area, [0, 0, 0, 0])
            totals[0] += planned
            totals[1] += sent
            totals[2] += confirmed
            totals[3] += charts.weeks_pushed
        return StatisticsView(
            period,
            figures,
            charts,
            statistics.median(delays) if delays else None,
            percentile(delays, 0.9) if delays else None,
            scores,
            [(area, *values) for area, values in sorted(areas.items())],  # type: ignore[misc]
        )

    def render(self, period: Period, f: Figures) -> str:
        t = self.texts
        reports = sum(n for (_, anonymous), n in f.by_category.items() if not anonymous)
        tips = sum(n for (_, anonymous), n in f.by_category.items() if anonymous)
        lines = [
            t.get("stats.title", first=format_date(period.first), last=format_date(period.last)),
            t.get("stats.totals", reports=reports, tips=tips),
        ]
        if f.by_category:
            lines.append(t.get("stats.by_category"))
            for code in sorted({c for c, _ in f.by_category}, key=self._category_order):
                lines.append(
                    t.get(
                        "stats.category_line",
                        category=self._category(code),
                        reports=f.by_category.get((code, False), 0),
                        tips=f.by_category.get((code, True), 0),
                    )
                )
            lines.append(t.get("stats.by_status"))
            for status in ("new", "received", "in_progress", "forwarded", "resolved",
                           "dismissed", "spam"):  # fmt: skip
                if f.by_status.get(status):
                    label = t.raw(f"status.{status}")
                    lines.append(t.get("stats.count_line", label=label, count=f.by_status[status]))
        if f.by_unit:
            lines.append(t.get("stats.by_unit", count=len(f.by_unit)))
            lines += [t.get("stats.count_line", label=name, count=n) for _, name, n in f.by_unit]
        if f.first_action_minutes:
            lines.append(
                t.get(
                    "stats.first_action",
                    median=self.duration(statistics.median(f.first_action_minutes)),
                    p90=self.duration(percentile(f.first_action_minutes, 0.9)),
                    count=len(f.first_action_minutes),
                )
            )
        else:
            lines.append(t.get("stats.first_action_none"))
        total = sum(f.outreach.values())
        lines.append(
            t.get(
                "stats.outreach",
                sent=f.outreach.get("sent", 0),
                total=total,
                rate=percent(f.outreach.get("sent", 0), total),
                blocked=f.outreach.get("blocked", 0),
                failed=f.outreach.get("failed", 0),
                waiting=f.outreach.get("pending", 0) + f.outreach.get("sending", 0),
                confirmed=f.confirmations,
                expected=f.confirmations_expected,
                confirmed_rate=percent(f.confirmations, f.confirmations_expected),
            )
        )
        due = sum(n for _, _, n, _ in f.deadlines)
        on_time = sum(ok for _, _, _, ok in f.deadlines)
        lines.append(t.get("stats.deadlines", on_time=on_time, due=due, rate=percent(on_time, due)))
        lagging = sorted(f.deadlines, key=lambda d: (d[3] / d[2], d[0]))[:SHOWN_UNITS]
        lagging = [d for d in lagging if d[3] < d[2]]
        if lagging:
            lines.append(t.get("stats.deadlines_lagging"))
            lines += [
                t.get("stats.ratio_line", label=name, part=ok, whole=n, rate=percent(ok, n))
                for _, name, n, ok in lagging
            ]
        return "\n".join(lines)

    def duration(self, minutes: float) -> str:
        total = round(minutes)
        days, rest = divmod(total, 24 * 60)
        hours, mins = divmod(rest, 60)
        if days:
            return self.texts.raw("stats.days_hours", days=days, hours=hours)
        if hours:
            return self.texts.raw("stats.hours_minutes", hours=hours, minutes=mins)
        return self.texts.raw("stats.minutes", minutes=mins)

    def _category(self, code: str) -> str:
        category = self.content.categories.get(code)
        return category.label if category else code

    def _category_order(self, code: str) -> tuple[int, str]:
        order = list(self.content.categories)
        return (order.index(code) if code in order else len(order), code)
