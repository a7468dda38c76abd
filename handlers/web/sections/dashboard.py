"""The console's first page: the state of the movement at a glance, each figure a link."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.office.review import OFFICE_ACTIONS
from bot.outreach.service import monday_of
from handlers.web import console
from handlers.web.app import WebState
from handlers.web.sections.common import PREFIX, WEEK, _urgent, alarms, local, page, viewing
from storage.console import CLOSED_STATUSES
from storage.web import InboxFilter

INBOX_KEYS = ("status", "category", "unit", "urgent", "unclaimed", "from", "to", "source", "code")
SOON = timedelta(days=7)
FRESH = 10  # the newest unclaimed reports listed on the dashboard


def register(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/", dashboard)


async def dashboard(request: web.Request) -> web.Response:
    if any(key in request.query for key in INBOX_KEYS):  # an inbox link of part 1
        raise web.HTTPSeeOther(f"{PREFIX}/hopthu?{request.query_string}")
    s, current = await viewing(request)
    return page(request, "console/dashboard.html", current, **await figures(s))


async def figures(s: WebState) -> dict[str, Any]:
    assert s.console is not None
    services = s.services
    now = services.clock.now()
    urgent = _urgent(s)
    open_reports = await s.console.open_reports(urgent)
    statuses = [st for st in ("new", *OFFICE_ACTIONS) if st not in CLOSED_STATUSES]
    by_status = [
        (st, open_reports.get((st, True), 0), open_reports.get((st, False), 0)) for st in statuses
    ]
    settings = services.settings
    overdue = await s.console.unclaimed_over(
        urgent,
        now - timedelta(hours=settings.unclaimed_after_hours),
        now - timedelta(hours=settings.urgent_unclaimed_after_hours),
    )
    week = monday_of(now.astimezone(services.clock.tz).date())
    week_counts = await s.console.ref_counts(f"outreach:{week.isoformat()}")
    outreach = {"sent": 0, "waiting": 0, "pending": 0, "blocked": 0, "failed": 0}
    for (_, state_name), n in week_counts.items():
        outreach[state_name] = outreach.get(state_name, 0) + n
    confirmed = (await s.console.confirmations()).get(week.isoformat(), 0)
    item = services.outreach.items.get(week)
    soon = []
    for deadline in await services.deadlines.repo.in_states("open"):
        if deadline.due_at is None or deadline.due_at > now + SOON:
            continue
        progress = await services.deadlines.repo.progress(deadline.id, deadline.due_at)
        if progress.not_done:
            soon.append((deadline, local(s, deadline.due_at), progress, deadline.due_at < now))
    rows, _ = await s.repo.inbox(InboxFilter(unclaimed=True, urgent_categories=urgent), 1)
    unclaimed = [console._row_view(s, row) for row in rows[:FRESH]]
    queue = await s.console.queue()
    channels = []
    for channel in sorted(set(services.senders) | {c for _, c, _, _ in queue}):
        sender = services.senders.get(channel)
        waiting = sum(n for _, c, _, n in queue if c == channel)
        channels.append(
            {
                "name": channel,
                "running": sender is not None,
                "queued": waiting,
                "dead": getattr(sender, "needs_administrator", None) if sender else None,
                "last_sent": local(s, getattr(sender, "last_sent_at", None)) if sender else "",
            }
        )
    return {
        "by_status": by_status,
        "open_total": sum(open_reports.values()),
        "urgent_total": sum(n for (_, u), n in open_reports.items() if u),
        "overdue": overdue,
        "limits": (settings.unclaimed_after_hours, settings.urgent_unclaimed_after_hours),
        "week": week,
        "week_title": item.title if item else "",
        "week_holiday": bool(item and item.holiday),
        "outreach": outreach,
        "planned": (await s.console.pushes()).get(week.isoformat(), 0),
        "confirmed": confirmed,
        "units_total": await services.people.units.count(),
        "soon": soon,
        "channels": channels,
        "unclaimed": unclaimed,
        "alarms": alarms(s),
        "week_end": week + WEEK - timedelta(days=1),
    }
