"""The year-end workbook streamed as a download, and the audit log with filters."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from datetime import datetime, time, timedelta
from pathlib import Path

from aiohttp import web

from bot.kernel.clock import format_date
from bot.office.export import school_year
from bot.office.export_desk import PeriodError
from handlers.web.sections.common import (
    PREFIX,
    acting,
    day,
    local,
    page,
    page_number,
    text,
    viewing,
)

log = logging.getLogger(__name__)
CHUNK = 256 * 1024
AUDIT_PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def register(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/xuat", export_form)
    app.router.add_post(f"{PREFIX}/xuat", export_download)
    app.router.add_get(f"{PREFIX}/nhatky", audit_page)


async def export_form(request: web.Request, message: str | None = None) -> web.Response:
    s, current = await viewing(request)
    first, last = school_year(s.services.clock.today())
    return page(
        request, "console/export.html", current, first=first.isoformat(),
        last=min(last, s.services.clock.today()).isoformat(), message=message,
        http_status=400 if message else 200,
    )  # fmt: skip


async def export_download(request: web.Request) -> web.StreamResponse:
    """Headers at once, then the workbook written in a thread to a temporary file, streamed.

    The browser starts its download when the headers arrive (within a second), whatever the
    size of the year; the export and its audit entry are ExportDesk.write's, as for `/xuat`."""
    s, current, data = await acting(request)
    desk = s.services.exports
    first, last = day(text(data, "tu", 10)), day(text(data, "den", 10))
    try:
        period = desk.period(
            format_date(first) if first else None, format_date(last) if last else None
        )
    except PeriodError:
        return await export_form(request, s.services.content.texts.raw("web.exp.bad_period"))
    name = f"xuat_du_lieu_{period.first:%Y%m%d}_{period.last:%Y%m%d}.xlsx"
    response = web.StreamResponse(
        headers={
            "Content-Type": XLSX,
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        }
    )
    await response.prepare(request)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / name
        await desk.write(period, target, current.actor)
        with target.open("rb") as stream:
            while True:
                chunk = await asyncio.to_thread(stream.read, CHUNK)
                if not chunk:
                    break
                await response.write(chunk)
    await response.write_eof()
    return response


async def audit_page(request: web.Request) -> web.Response:
    s, current = await viewing(request)
    assert s.console is not None
    q = request.query
    raw = {k: str(q.get(k, "")).strip()[:64] for k in ("ai", "viec", "tu", "den")}
    tz = s.services.clock.tz
    first, last = day(raw["tu"]), day(raw["den"])
    number = page_number(q)
    entries, total = await s.console.audit(
        actor=raw["ai"] or None,
        action=raw["viec"] or None,
        start=datetime.combine(first, time(0), tz) if first else None,
        end=datetime.combine(last + timedelta(days=1), time(0), tz) if last else None,
        offset=(number - 1) * AUDIT_PAGE,
        limit=AUDIT_PAGE,
    )
    view = s.services.audit
    rows = [
        {
            "at": local(s, e.at),
            "who": view.actor(e.actor),
            "what": view.action(e.action),
            "subject": view.ref(e.subject) if e.subject else "",
            "details": view.details(e) or "",
        }
        for e in entries
    ]
    actions = [(a, view.action(a)) for a in await s.console.audit_actions()]
    query = {k: v for k, v in raw.items() if v}
    return page(
        request, "console/audit.html", current, rows=rows, total=total, raw=raw,
        actions=actions, page=number, pages=max(1, (total + AUDIT_PAGE - 1) // AUDIT_PAGE),
        query=query,
    )  # fmt: skip
