"""Units and invitations in the console: the list with heads and registration, the import of
the clerk's CSV/XLSX file (all or nothing, problems by line), invitation codes per unit with a
printable sheet and its QR code, revocation. The core's importer and InvitationService do it."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import segno
from aiohttp import web
from markupsafe import Markup

from bot.invitations.service import handout
from bot.units.importer import format_report, import_units
from handlers.web.sections.common import (
    PREFIX,
    acting,
    local,
    page,
    page_number,
    plain,
    staff_of,
    viewing,
)

UNITS_PAGE = 50
SUFFIXES = (".csv", ".xlsx")


def register(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{PREFIX}/donvi", unit_list)
    r.add_post(f"{PREFIX}/donvi/nhap", upload)
    r.add_get(f"{PREFIX}/donvi/{{code}}", unit_page)
    r.add_post(f"{PREFIX}/donvi/{{code}}/moi", issue)
    r.add_post(f"{PREFIX}/moi/{{id:\\d+}}/thuhoi", revoke)


async def unit_list(
    request: web.Request,
    problems: list[str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> web.Response:
    s, current = await viewing(request)
    assert s.console is not None
    query = str(request.query.get("q", "")).strip()[:80]
    number = page_number(request.query)
    rows, total = await s.console.units(query or None, (number - 1) * UNITS_PAGE, UNITS_PAGE)
    return page(
        request, "console/units.html", current, rows=rows, total=total, q=query, page=number,
        pages=max(1, (total + UNITS_PAGE - 1) // UNITS_PAGE), problems=problems or [],
        notice=notice, http_status=status,
    )  # fmt: skip


async def upload(request: web.Request) -> web.Response:
    """The clerk's file, checked whole: one problem and nothing is imported."""
    s, current, data = await acting(request)
    texts = s.services.content.texts
    field = data.get("file")
    if not isinstance(field, web.FileField) or not field.filename:
        return await unit_list(request, [texts.raw("web.units.no_file")], status=400)
    suffix = Path(field.filename).suffix.lower()
    if suffix not in SUFFIXES:
        return await unit_list(request, [texts.raw("web.units.bad_type")], status=400)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"don_vi{suffix}"
        target.write_bytes(field.file.read())
        report = await import_units(s.services.db, target, current.actor)
    lines = format_report(report, texts).split("\n")
    if not report.ok:
        return await unit_list(request, lines, status=400)
    return await unit_list(request, notice=lines[0])


def qr_svg(text: str) -> Markup:
    """A QR code drawn on the server as inline SVG (segno), for the printed sheet."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False,
                                     svgns=True, svgclass="qr", omitsize=True)  # fmt: skip
    return Markup(out.getvalue().decode("utf-8"))


async def unit_page(request: web.Request) -> web.Response:
    return await _unit_page(request, request.match_info["code"])


async def _unit_page(
    request: web.Request,
    code: str,
    issued: list[dict[str, Any]] | None = None,
    notice: str | None = None,
) -> web.Response:
    s, current = await viewing(request)
    assert s.console is not None
    unit = await s.services.people.units.get(code)
    if unit is None:
        raise web.HTTPNotFound(text=s.services.content.texts.raw("web.units.unknown"))
    now = s.services.clock.now()
    invitations = [
        {
            "i": i,
            "created": local(s, i.created_at),
            "expires": local(s, i.expires_at),
            "state": "used"
            if i.used_at
            else "revoked"
            if i.revoked_at
            else "expired"
            if i.expires_at <= now
            else "open",
        }  # fmt: skip
        for i in await s.console.invitations_of(unit.code)
    ]
    heads = [(channel, local(s, since)) for channel, since in await s.console.heads_of(unit.code)]
    return page(
        request, "console/unit.html", current, unit=unit, invitations=invitations, heads=heads,
        issued=issued or [], notice=notice,
    )  # fmt: skip


async def issue(request: web.Request) -> web.Response:
    """A new one-time code: shown once, on a sheet to print (only its hash is kept)."""
    s, current, _ = await acting(request)
    unit = await s.services.people.units.get(request.match_info["code"])
    if unit is None:
        raise web.HTTPNotFound(text=s.services.content.texts.raw("web.units.unknown"))
    (new,) = await s.services.invitations.issue([unit], staff_of(current).actor)
    given = handout(new.code, s.invitation_link)
    sheet = {
        "code": given.code,
        "typed": given.typed,
        "link": given.link,
        "qr": qr_svg(given.link or given.typed),
        "expires": local(s, new.expires_at),
        "id": new.invitation_id,
    }
    return await _unit_page(request, unit.code, [sheet])


async def revoke(request: web.Request) -> web.Response:
    s, current, data = await acting(request)
    invitation = await s.services.invitations.repo.get(int(request.match_info["id"]))
    if invitation is None:
        raise web.HTTPNotFound()
    said = await s.services.invitations.revoke(invitation.id, staff_of(current))
    return await _unit_page(request, invitation.unit_code, notice=plain(said))
