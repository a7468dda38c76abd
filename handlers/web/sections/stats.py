"""Statistics with charts: /thongke's figures for a period as inline SVG, and the scorecard of
every unit, sortable by column with links (?sort=), no script needed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from bot.kernel.clock import format_date
from bot.office.statistics import StatisticsError, StatisticsView, UnitScore, percent
from handlers.web.app import STATE, WebState
from handlers.web.sections import charts
from handlers.web.sections.charts import Bar
from handlers.web.sections.common import PREFIX, cached, day, page, page_number, viewing
from storage.exports import Period

log = logging.getLogger(__name__)
PERIODS = {"tuan": "tuan nay", "thang": "thang nay", "namhoc": "nam hoc"}
STATUSES = ("new", "received", "in_progress", "forwarded", "resolved", "dismissed", "spam")
SORTS = {
    "name": lambda u: (u.name.lower(), u.code),
    "area": lambda u: (u.area.lower(), u.name.lower()),
    "reports": lambda u: (u.reports, u.code),
    "delivery": lambda u: (-1 if u.delivery is None else u.delivery, u.code),
    "confirmation": lambda u: (-1 if u.confirmation is None else u.confirmation, u.code),
    "on_time": lambda u: (-1 if u.on_time is None else u.on_time, u.code),
    "deadlines": lambda u: (u.deadlines_due, u.code),
}
SHOWN_UNITS = 15
SCORE_PAGE = 100
CACHE_SECONDS = 60.0


WARM_AFTER = 5.0  # seconds after start-up: the school year's and the month's figures computed
WARMING: web.AppKey[asyncio.Task[None]] = web.AppKey("antq_stats_warming", asyncio.Task)


def register(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/thongke", statistics_page)
    app.on_startup.append(_warm)
    app.on_cleanup.append(_cool)


async def _warm(app: web.Application) -> None:
    """Compute the usual periods once the server runs, so that the first clerk does not wait."""
    s = app[STATE]

    async def run() -> None:
        await asyncio.sleep(WARM_AFTER)
        desk = s.services.statistics
        for kind in ("namhoc", "thang"):
            period = desk.period(PERIODS[kind])

            async def make(period: Period = period) -> StatisticsView:
                return await desk.view(period)

            try:
                await cached(s, _key(period), CACHE_SECONDS, make)
            except Exception:  # the page computes it when asked
                log.exception("web: warming the statistics failed")
                return

    app[WARMING] = asyncio.create_task(run())


async def _cool(app: web.Application) -> None:
    task = app.get(WARMING)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _key(period: Period) -> str:
    return f"stats:{period.first}:{period.last}"


def _argument(query: Any) -> tuple[str, str, dict[str, str]]:
    raw = {k: str(query.get(k, "")).strip()[:10] for k in ("ky", "tu", "den")}
    kind = raw["ky"] if raw["ky"] in (*PERIODS, "ngay") else "thang"
    raw["ky"] = kind
    if kind == "ngay":
        first, last = day(raw["tu"]), day(raw["den"])
        if first and last:
            return kind, f"{format_date(first)} {format_date(last)}", raw
        kind = raw["ky"] = "thang"
    return kind, PERIODS[kind], raw


async def statistics_page(request: web.Request) -> web.Response:
    s, current = await viewing(request)
    desk = s.services.statistics
    kind, argument, raw = _argument(request.query)
    message = None
    try:
        period = desk.period(argument)
    except StatisticsError:
        message = s.services.content.texts.raw("web.exp.bad_period")
        period = desk.period(PERIODS["thang"])
        raw["ky"] = "thang"
    view = await cached(s, _key(period), CACHE_SECONDS, lambda: desk.view(period))
    sort = str(request.query.get("sort", "name"))
    sort = sort if sort in SORTS else "name"
    descending = request.query.get("dir") == "desc"
    ordered = sorted(view.scores, key=SORTS[sort], reverse=descending)
    number = page_number(request.query)
    pages = max(1, (len(ordered) + SCORE_PAGE - 1) // SCORE_PAGE)
    number = min(number, pages)
    shown = ordered[(number - 1) * SCORE_PAGE : number * SCORE_PAGE]
    base = {k: v for k, v in raw.items() if v}
    return page(
        request, "console/statistics.html", current, raw=raw, message=message, view=view,
        first=format_date(period.first), last=format_date(period.last),
        totals=_totals(view), charts=_charts(s, view), scores=shown, sort=sort,
        descending=descending, base=base, page=number, pages=pages,
        sorts=list(SORTS), http_status=400 if message else 200,
    )  # fmt: skip


def _totals(view: StatisticsView) -> dict[str, Any]:
    f = view.figures
    outreach_total = sum(f.outreach.values())
    due = sum(n for _, _, n, _ in f.deadlines)
    on_time = sum(ok for _, _, _, ok in f.deadlines)
    return {
        "reports": sum(n for (_, anonymous), n in f.by_category.items() if not anonymous),
        "tips": sum(n for (_, anonymous), n in f.by_category.items() if anonymous),
        "outreach_sent": f.outreach.get("sent", 0),
        "outreach_total": outreach_total,
        "outreach_rate": percent(f.outreach.get("sent", 0), outreach_total),
        "confirmed": f.confirmations,
        "expected": f.confirmations_expected,
        "confirmed_rate": percent(f.confirmations, f.confirmations_expected),
        "deadlines_due": due,
        "deadlines_on_time": on_time,
        "deadlines_rate": percent(on_time, due),
    }


def _month(text: str) -> str:
    year, _, month = text.partition("-")
    return f"{month}/{year}"


def _lowest(scores: list[UnitScore], rate: str, count: int) -> list[tuple[UnitScore, float]]:
    rated = [(u, getattr(u, rate)) for u in scores if getattr(u, rate) is not None]
    return sorted(rated, key=lambda pair: (pair[1], pair[0].code))[:count]


def _charts(s: WebState, view: StatisticsView) -> dict[str, Any]:
    t = s.services.content.texts.raw
    desk = s.services.statistics
    f, c = view.figures, view.charts
    categories = sorted({code for code, _ in f.by_category}, key=desk._category_order)
    by_category = charts.hbars(
        "by-category",
        t("web.stats.by_category"),
        [
            Bar(
                desk._category(code),
                [f.by_category.get((code, False), 0), f.by_category.get((code, True), 0)],
            )
            for code in categories
        ],  # fmt: skip
        [t("web.stats.reports"), t("web.stats.tips")],
    )
    months = sorted(c.by_month)
    by_month = charts.columns(
        "by-month", t("web.stats.by_month"), [_month(m) for m in months],
        [c.by_month[m] for m in months],
    )  # fmt: skip
    present = [st for st in STATUSES if any(c.status_by_month.get((m, st)) for m in months)]
    status_over_time = charts.hbars(
        "status-time",
        t("web.stats.status_over_time"),
        [Bar(_month(m), [c.status_by_month.get((m, st), 0) for st in present]) for m in months],
        [t(f"status.{st}") for st in present],
    )
    first_action = charts.hbars(
        "first-action",
        t("web.stats.first_action"),
        [
            Bar(t("web.stats.median"), [view.median_minutes / 60],
                [desk.duration(view.median_minutes)]),
            Bar(t("web.stats.p90"), [view.p90_minutes / 60], [desk.duration(view.p90_minutes)]),
        ]
        if view.median_minutes is not None and view.p90_minutes is not None
        else [],
        [t("web.stats.hours")],
    )  # fmt: skip
    areas = [a for a in view.areas if a[1] or a[4]]
    delivery_by_area = charts.hbars(
        "delivery-area",
        t("web.stats.delivery_by_area"),
        [Bar(a[0], [100 * a[2] / a[1] if a[1] else 0]) for a in areas],
        [t("web.stats.delivery")],
        maximum=100,
        unit="%",
    )
    confirmation_by_area = charts.hbars(
        "confirmation-area",
        t("web.stats.confirmation_by_area"),
        [Bar(a[0], [100 * a[3] / a[4] if a[4] else 0]) for a in areas],
        [t("web.stats.confirmation")],
        maximum=100,
        unit="%",
    )
    low_delivery = charts.hbars(
        "delivery-unit",
        t("web.stats.delivery_lowest", count=SHOWN_UNITS),
        [Bar(u.name, [rate]) for u, rate in _lowest(view.scores, "delivery", SHOWN_UNITS)],
        [t("web.stats.delivery")],
        maximum=100,
        unit="%",
    )
    low_on_time = charts.hbars(
        "on-time-unit",
        t("web.stats.on_time_lowest", count=SHOWN_UNITS),
        [Bar(u.name, [rate]) for u, rate in _lowest(view.scores, "on_time", SHOWN_UNITS)],
        [t("web.stats.on_time")],
        maximum=100,
        unit="%",
    )
    return {
        "by_category": by_category,
        "categories": [
            (
                desk._category(code),
                f.by_category.get((code, False), 0),
                f.by_category.get((code, True), 0),
            )
            for code in categories
        ],  # fmt: skip
        "by_month": by_month,
        "months": [(_month(m), c.by_month[m]) for m in months],
        "status_over_time": status_over_time,
        "status_rows": [
            (_month(m), [c.status_by_month.get((m, st), 0) for st in present]) for m in months
        ],
        "status_names": [t(f"status.{st}") for st in present],
        "first_action": first_action,
        "median": desk.duration(view.median_minutes) if view.median_minutes is not None else "",
        "p90": desk.duration(view.p90_minutes) if view.p90_minutes is not None else "",
        "first_action_count": len(f.first_action_minutes),
        "delivery_by_area": delivery_by_area,
        "confirmation_by_area": confirmation_by_area,
        "areas": areas,
        "low_delivery": low_delivery,
        "low_on_time": low_on_time,
    }
