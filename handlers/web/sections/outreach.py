"""Outreach in the console: the school year's weeks (holidays marked), each week's item as each
role reads it on each channel, what was planned, sent, waiting, blocked and confirmed per week,
and the plan of the coming push with its cost class on Zalo. OutreachService renders the items."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp import web

from bot.announcements.service import ZALO_WINDOW
from bot.chat.markup import split_text, to_plain
from bot.office.export import school_year
from bot.outreach.service import AUDIENCES, monday_of, week_moment
from handlers.web.sections.announcements import ZALO_LIMIT, telegram_html
from handlers.web.sections.common import PREFIX, local, page, viewing

VERSIONS = ("staff", "head", "parents")


def register(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/tuyentruyen", calendar)
    app.router.add_get(f"{PREFIX}/tuyentruyen/{{week:\\d{{4}}-\\d{{2}}-\\d{{2}}}}", week_page)


async def calendar(request: web.Request) -> web.Response:
    s, current = await viewing(request)
    assert s.console is not None
    services = s.services
    today = services.clock.today()
    first, last = school_year(today)
    items = {w: i for w, i in services.outreach.items.items() if first <= w <= last}
    counts = await s.console.week_refs(first.isoformat(), last.isoformat())
    planned = await s.console.pushes()
    confirmed = await s.console.confirmations()
    units = await services.people.units.count()
    this_week = monday_of(today)
    weeks = []
    for week in sorted(items):
        item = items[week]
        key = week.isoformat()

        def count(state_name: str, key: str = key) -> int:
            return counts.get((key, state_name), 0)

        weeks.append(
            {
                "week": week,
                "end": week + timedelta(days=6),
                "item": item,
                "current": week == this_week,
                "past": week < this_week,
                "planned": planned.get(key, 0),
                "sent": count("sent"),
                "waiting": count("waiting"),
                "pending": count("pending") + count("sending"),
                "blocked": count("blocked"),
                "failed": count("failed"),
                "confirmed": confirmed.get(key, 0),
            }
        )
    return page(
        request, "console/outreach.html", current, weeks=weeks, units=units,
        first=first, last=last, plan=await _coming(s, today),
    )  # fmt: skip


async def _coming(s: Any, today: date) -> dict[str, Any] | None:
    """The next push: its week, when each audience gets it, who it reaches on which channel."""
    services = s.services
    now = services.clock.now()
    tz = services.clock.tz
    settings = services.settings
    for week in (monday_of(today), monday_of(today) + timedelta(days=7)):
        item = services.outreach.items.get(week)
        if item is None or item.holiday:
            continue
        until = week_moment(week, settings.outreach_parents_until, tz)
        if until < now:
            continue
        subscribers = await s.console.subscribers(now - ZALO_WINDOW)
        audiences = []
        for audience, roles in AUDIENCES.items():
            at = week_moment(week, getattr(settings, f"outreach_{audience}_at"), tz)
            rows = [r for r in subscribers if r[0] in roles]
            audiences.append(
                {
                    "name": audience,
                    "at": local(s, at),
                    "rows": rows,
                    "total": sum(r[2] for r in rows),
                    "zalo_outside": sum(r[3] for r in rows if r[1] == "zalo"),
                    "zalo_inside": sum(r[2] - r[3] for r in rows if r[1] == "zalo"),
                }
            )
        return {"week": week, "item": item, "audiences": audiences}
    return None


async def week_page(request: web.Request) -> web.Response:
    s, current = await viewing(request)
    assert s.console is not None
    services = s.services
    try:
        week = date.fromisoformat(request.match_info["week"])
    except ValueError:
        raise web.HTTPNotFound() from None
    item = services.outreach.items.get(week)
    if item is None:
        raise web.HTTPNotFound(text=services.content.texts.raw("web.out.unknown_week"))
    versions = []
    for version in VERSIONS:
        reply = services.outreach.message(item, version)
        versions.append(
            {
                "name": version,
                "telegram": telegram_html(reply.text),
                "zalo": split_text(to_plain(reply.text), ZALO_LIMIT),
                "buttons": [b.label for b in reply.buttons],
            }
        )
    quiz = services.outreach.quiz(item)
    counts = await s.console.ref_counts(f"outreach:{week.isoformat()}")
    return page(
        request, "console/outreach_week.html", current, week=week, item=item, versions=versions,
        quiz=telegram_html(quiz.text) if quiz else None, counts=sorted(counts.items()),
        planned=(await s.console.pushes()).get(week.isoformat(), 0),
        confirmed=(await s.console.confirmations()).get(week.isoformat(), 0),
        units=await services.people.units.count(),
    )  # fmt: skip
