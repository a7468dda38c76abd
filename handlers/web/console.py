"""The office's console under /vanphong/: login (password, TOTP), the inbox, a report's page
and its actions. Every state-changing request needs the session's CSRF token and our origin."""

from __future__ import annotations

import base64
import io
from datetime import datetime, time, timedelta
from pathlib import PurePath
from typing import Any

import segno
from aiohttp import web

from bot.kernel.clock import format_local
from bot.kernel.files import is_store_id
from bot.office.review import OFFICE_ACTIONS, ActionResult
from bot.office.staff import Login, StaffError, StaffSession
from bot.reports.receipts import normalize_code
from handlers.web.app import CONSOLE_STATUS, WebState, state
from storage.web import PAGE_SIZE, InboxFilter, InboxRow

COOKIE = "antq_staff"
PREFIX = "/vanphong"
MAX_REPLY = 3000
SOURCES = ("web", "telegram", "zalo")


def register(app: web.Application) -> None:
    r = app.router
    r.add_get(PREFIX, to_inbox)
    r.add_get(f"{PREFIX}/dangnhap", login_form)
    r.add_post(f"{PREFIX}/dangnhap", login_submit)
    r.add_get(f"{PREFIX}/doimatkhau", password_form)
    r.add_post(f"{PREFIX}/doimatkhau", password_submit)
    r.add_get(f"{PREFIX}/xacthuc", totp_form)
    r.add_post(f"{PREFIX}/xacthuc", totp_submit)
    r.add_get(f"{PREFIX}/totp", enrol_form)
    r.add_post(f"{PREFIX}/totp", enrol_submit)
    r.add_post(f"{PREFIX}/dangxuat", logout)
    r.add_post(f"{PREFIX}/dangxuat-moi-noi", logout_everywhere)
    r.add_get(f"{PREFIX}/taikhoan", account)
    r.add_get(f"{PREFIX}/taikhoan/zalo", zalo_notices)
    r.add_post(f"{PREFIX}/taikhoan/zalo/huy", zalo_unlink)
    r.add_get(f"{PREFIX}/hopthu", inbox)  # the dashboard (sections) is the first page
    r.add_get(f"{PREFIX}/moi", new_arrivals)
    r.add_get(f"{PREFIX}/tin/{{id:\\d+}}", report_page)
    r.add_get(f"{PREFIX}/tin/{{id:\\d+}}/phieu", handover_sheet)
    r.add_post(f"{PREFIX}/tin/{{id:\\d+}}/trangthai", act_status)
    r.add_post(f"{PREFIX}/tin/{{id:\\d+}}/nhan", act_take)
    r.add_post(f"{PREFIX}/tin/{{id:\\d+}}/ghichu", act_note)
    r.add_post(f"{PREFIX}/tin/{{id:\\d+}}/traloi", act_reply)
    r.add_get(f"{PREFIX}/tep/{{id:\\d+}}", report_file)


# ------------------------------------------------------------------------------ helpers


async def to_inbox(request: web.Request) -> web.Response:
    _redirect(request, f"{PREFIX}/")
    raise AssertionError("unreachable")


def _redirect(request: web.Request, path: str) -> web.Response:
    raise web.HTTPSeeOther(state(request).origin.url(request, path))


def _see_other(request: web.Request, path: str) -> web.Response:
    """A redirect returned (not raised) so that it can carry a cookie."""
    location = state(request).origin.url(request, path)
    return web.Response(status=303, headers={"Location": location})


def _set_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        path=PREFIX,
        httponly=True,
        samesite="Strict",
        secure=state(request).origin.is_https(request),
    )


def _clear_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=PREFIX)


async def _session(request: web.Request, stage: str = "full") -> StaffSession:
    """The staff session at the stage required; otherwise off to the right login step."""
    s = state(request)
    current = await s.staff.session(request.cookies.get(COOKIE))
    if current is None:
        _redirect(request, f"{PREFIX}/dangnhap")
    assert current is not None
    if current.session.stage != stage:
        _redirect(request, _stage_path(current.session.stage))
    return current


def _stage_path(stage: str) -> str:
    return {
        "password": f"{PREFIX}/doimatkhau",
        "totp": f"{PREFIX}/xacthuc",
        "enrol": f"{PREFIX}/totp",
    }.get(stage, f"{PREFIX}/")


async def _posted(request: web.Request, current: StaffSession | None) -> Any:
    """The form of a state-changing request, after the origin and CSRF checks (else 403)."""
    s = state(request)
    forbidden = web.HTTPForbidden(text=s.services.content.texts.raw("web.forbidden"))
    if not s.origin.same_origin(request):
        raise forbidden
    data = await request.post()
    token = data.get("csrf_token")
    if not isinstance(token, str):
        raise forbidden
    if current is None:
        if s.tokens.check("login", token, min_age=0) in ("missing", "expired"):
            raise forbidden
    elif token != current.csrf:
        raise forbidden
    return data


def _text(data: Any, name: str, limit: int) -> str:
    value = data.get(name)
    return value.replace("\r\n", "\n").strip()[:limit] if isinstance(value, str) else ""


def _page(
    request: web.Request, name: str, current: StaffSession | None, **values: Any
) -> web.Response:
    s = state(request)
    status = values.pop("http_status", values.pop("status", 200))
    return s.render(
        request,
        name,
        http_status=status,
        me=current,
        csrf=current.csrf if current else "",
        refused=s.refusals.total(),
        console_status=request.get(CONSOLE_STATUS),
        **values,
    )


# -------------------------------------------------------------------------------- login


async def login_form(
    request: web.Request, message: str | None = None, status: int = 200
) -> web.Response:
    s = state(request)
    return _page(
        request, "console/login.html", None, http_status=status, token=s.tokens.issue("login"),
        message=message,
    )  # fmt: skip


async def login_submit(request: web.Request) -> web.Response:
    s = state(request)
    t = s.services.content.texts.raw
    data = await _posted(request, None)
    username = _text(data, "username", 64)
    password = data.get("password") if isinstance(data.get("password"), str) else ""
    result: Login = await s.staff.login(username, password[:256], s.keyer.key(request))
    if result.outcome == "locked":
        return await login_form(request, t("web.login.locked", minutes=result.wait_minutes), 429)
    if result.outcome != "ok" or result.token is None:
        return await login_form(request, t("web.login.bad"), 401)
    response = _see_other(request, _stage_path(result.stage or "full"))
    _set_cookie(request, response, result.token)
    return response


async def password_form(request: web.Request) -> web.Response:
    current = await _current_any(request)
    return _page(request, "console/password.html", current, message=None)


async def _current_any(request: web.Request) -> StaffSession:
    current = await state(request).staff.session(request.cookies.get(COOKIE))
    if current is None:
        _redirect(request, f"{PREFIX}/dangnhap")
    assert current is not None
    return current


async def password_submit(request: web.Request) -> web.Response:
    s = state(request)
    current = await _current_any(request)
    if current.session.stage not in ("password", "full"):
        _redirect(request, _stage_path(current.session.stage))
    data = await _posted(request, current)
    try:
        stage = await s.staff.change_password(
            current, str(data.get("new_password", "")), str(data.get("repeat_password", ""))
        )
    except StaffError as exc:
        message = s.services.content.texts.raw(f"web.staff.{exc.key}")
        return _page(request, "console/password.html", current, message=message, status=400)
    _redirect(request, _stage_path(stage))
    raise AssertionError("unreachable")


async def totp_form(
    request: web.Request, message: str | None = None, status: int = 200
) -> web.Response:
    current = await _session(request, "totp")
    return _page(request, "console/totp.html", current, message=message, status=status)


async def totp_submit(request: web.Request) -> web.Response:
    s = state(request)
    t = s.services.content.texts.raw
    current = await _session(request, "totp")
    data = await _posted(request, current)
    result = await s.staff.verify_totp(current, _text(data, "code", 12), s.keyer.key(request))
    if result.outcome == "ok":
        _redirect(request, f"{PREFIX}/")
    if result.outcome == "locked":
        return await totp_form(request, t("web.login.locked", minutes=result.wait_minutes), 429)
    return await totp_form(request, t("web.totp.bad"), 401)


async def enrol_form(
    request: web.Request, message: str | None = None, status: int = 200
) -> web.Response:
    s = state(request)
    current = await _current_any(request)
    if current.session.stage not in ("enrol", "full"):
        _redirect(request, _stage_path(current.session.stage))
    if current.session.stage == "full" and current.staff.totp_secret:
        _redirect(request, f"{PREFIX}/taikhoan")
    secret = await s.staff.begin_enrol(current)
    uri = s.staff.provisioning_uri(current.staff, secret)
    svg = io.BytesIO()
    segno.make(uri, error="m").save(svg, kind="svg", scale=5, border=2, xmldecl=False, svgns=True)
    qr = "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode("ascii")
    spaced = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return _page(
        request, "console/enrol.html", current, qr=qr, secret=spaced, message=message,
        http_status=status,
    )  # fmt: skip


async def enrol_submit(request: web.Request) -> web.Response:
    s = state(request)
    current = await _current_any(request)
    data = await _posted(request, current)
    current = await _current_any(request)  # begin_enrol may have stored the secret since
    if await s.staff.confirm_enrol(current, _text(data, "code", 12)):
        _redirect(request, f"{PREFIX}/")
    return await enrol_form(request, s.services.content.texts.raw("web.totp.bad"), 400)


async def logout(request: web.Request) -> web.Response:
    s = state(request)
    current = await _current_any(request)
    await _posted(request, current)
    await s.staff.logout(current)
    response = _see_other(request, f"{PREFIX}/dangnhap")
    _clear_cookie(request, response)
    return response


async def logout_everywhere(request: web.Request) -> web.Response:
    s = state(request)
    current = await _session(request)
    await _posted(request, current)
    await s.staff.logout_everywhere(current)
    response = _see_other(request, f"{PREFIX}/dangnhap")
    _clear_cookie(request, response)
    return response


async def account(request: web.Request) -> web.Response:
    current = await _session(request)
    return _page(request, "console/account.html", current)


async def zalo_notices(request: web.Request, message: str | None = None) -> web.Response:
    """ "Nhận thông báo qua Zalo": the link if there is one, else a fresh one-time code."""
    s = state(request)
    current = await _session(request)
    notices = s.services.desk.notices
    linked = [c for c in await notices.linked(current.staff.id) if c.channel == "zalo"]
    values: dict[str, Any] = {"message": message, "receives": current.can_act}
    tz = s.services.clock.tz
    if linked:
        values["linked_at"] = format_local(linked[0].linked_at, tz)
    else:
        code = await notices.new_code(current.staff.id)
        values["code"] = code.code
        values["expires"] = format_local(code.expires_at, tz)
    return _page(request, "console/zalo_notices.html", current, **values)


async def zalo_unlink(request: web.Request) -> web.Response:
    s = state(request)
    current = await _session(request)
    await _posted(request, current)
    await s.services.desk.notices.unlink(current.staff.id, current.actor, current.staff.username)
    return await zalo_notices(request, s.services.content.texts.raw("web.notices.unlinked"))


# -------------------------------------------------------------------------------- inbox


def _filters(s: WebState, query: Any) -> tuple[InboxFilter, dict[str, str], int]:
    tz = s.services.clock.tz
    raw = {k: str(query.get(k, "")).strip()[:64] for k in (
        "status", "category", "unit", "urgent", "unclaimed", "from", "to", "source", "code",
    )}  # fmt: skip
    categories = s.services.content.categories
    urgent = frozenset(c for c, v in categories.items() if v.urgent)

    def day(text: str, plus: int = 0) -> datetime | None:
        try:
            d = datetime.strptime(text, "%Y-%m-%d").date() + timedelta(days=plus)
        except ValueError:
            return None
        return datetime.combine(d, time(0), tz)

    code = normalize_code(raw["code"]) if raw["code"] else None
    filters = InboxFilter(
        status=raw["status"] if raw["status"] in OFFICE_ACTIONS + ("new",) else None,
        category=raw["category"] if raw["category"] in categories else None,
        unit=raw["unit"] or None,
        urgent=raw["urgent"] == "1",
        unclaimed=raw["unclaimed"] == "1",
        start=day(raw["from"]),
        end=day(raw["to"], 1),
        source=raw["source"] if raw["source"] in SOURCES else None,
        code=code or (raw["code"] if raw["code"] else None),
        urgent_categories=urgent,
    )
    try:
        page = max(1, min(10_000, int(str(query.get("trang", "1")))))
    except ValueError:
        page = 1
    return filters, raw, page


def _row_view(s: WebState, row: InboxRow) -> dict[str, Any]:
    category = s.services.content.categories.get(row.category)
    return {
        "id": row.id,
        "code": row.code,
        "kind": s.services.content.texts.raw(
            "web.console.kind_tip" if row.anonymous else "web.console.kind_report"
        ),
        "source": row.source or "telegram",
        "category": s.services.desk.category_label(row.category),
        "unit": row.unit_name or "",
        "status": row.status,
        "status_text": s.services.content.texts.raw(f"status.{row.status}"),
        "created": format_local(row.created_at, s.services.clock.tz),
        "assignee": row.assignee or "",
        "urgent": bool(category and category.urgent),
        "unclaimed": row.status == "new" and row.assignee is None,
        "files": row.file_count,
    }


async def inbox(request: web.Request) -> web.Response:
    s = state(request)
    current = await _session(request)
    filters, raw, page = _filters(s, request.query)
    rows, total = await s.repo.inbox(filters, page)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    query = {k: v for k, v in raw.items() if v}
    latest = rows[0].id if rows and page == 1 else 0
    return _page(
        request,
        "console/inbox.html",
        current,
        rows=[_row_view(s, r) for r in rows],
        total=total,
        page=page,
        pages=pages,
        raw=raw,
        query=query,
        latest=latest,
        poll_ms=int(s.poll_seconds * 1000),
        statuses=["new", *OFFICE_ACTIONS],
        categories=[(c.code, c.label) for c in s.services.content.categories.values()],
        units=await s.repo.units(),
        sources=SOURCES,
        refusals=dict(s.refusals.counts),
    )


async def new_arrivals(request: web.Request) -> web.Response:
    """For the inbox's small script: reports newer than the newest one shown (JSON)."""
    s = state(request)
    current = await s.staff.session(request.cookies.get(COOKIE))
    if current is None or current.session.stage != "full":
        return web.json_response({"error": "login"}, status=401)
    try:
        after = int(request.query.get("sau", "0"))
    except ValueError:
        after = 0
    rows = await s.repo.newer_than(after)
    return web.json_response({"rows": [_row_view(s, r) for r in rows]})


# ---------------------------------------------------------------------------- a report


async def _report_values(s: WebState, report_id: int) -> dict[str, Any]:
    services = s.services
    report = await services.reports.reports.get(report_id)
    if report is None:
        raise web.HTTPNotFound(text=services.content.texts.raw("office.unknown"))
    tz = services.clock.tz
    body = services.cipher.decrypt_json(report.body)
    unit = await services.people.units.get(report.unit_code) if report.unit_code else None
    events = await services.reports.reports.events(report.id)
    timeline = [
        {
            "at": format_local(e.at, tz),
            "actor": _actor(s, e.actor),
            "action": e.action,
            "what": _event_text(s, e.action, e.from_status, e.to_status),
            "note": services.cipher.decrypt_optional(e.note) if e.note else None,
        }
        for e in events
    ]
    files = []
    for file_id, kind, ref, added_by in await s.repo.report_files(report.id):
        plain = services.cipher.decrypt(ref)
        viewable = plain.startswith("web:") or is_store_id(plain)  # else a chat's file id only
        files.append({"id": file_id, "kind": kind, "web": viewable, "added_by": added_by})
    occurred = body.get("occurred_on")
    source, assignee = await s.repo.source_and_assignee(report.id)
    return {
        "report": report,
        "body": body,
        "kind": services.content.texts.raw(
            "web.console.kind_tip" if report.anonymous else "web.console.kind_report"
        ),
        "category": services.desk.category_label(report.category),
        "status_text": services.content.texts.raw(f"status.{report.status}"),
        "created": format_local(report.created_at, tz),
        "occurred": datetime.fromisoformat(occurred).strftime("%d/%m/%Y") if occurred else "",
        "unit": unit.name if unit else "",
        "source": source,
        "timeline": timeline,
        "files": files,
        "version": await services.reports.reports.version(report.id),
        "assignee": assignee,
        "actions": [(a, services.content.texts.raw(f"office.action.{a}")) for a in OFFICE_ACTIONS],
    }


def _actor(s: WebState, actor: str) -> str:
    t = s.services.content.texts.raw
    kind, _, who = actor.partition(":")
    if kind == "staff":
        return t("web.console.actor_staff", username=who)
    if kind == "office":
        return t("audit.actor.office", id=who)
    return t("web.console.actor_sender") if kind == "sender" else actor


def _event_text(s: WebState, action: str, before: str | None, after: str | None) -> str:
    t = s.services.content.texts.raw
    if action == "status" and after:
        return t("web.console.event_status", status=t(f"status.{after}"))
    key = f"web.console.event_{action}"
    return t(key) if s.services.content.texts.has(key) else action


async def report_page(
    request: web.Request, message: str | None = None, status: int = 200
) -> web.Response:
    s = state(request)
    current = await _session(request)
    values = await _report_values(s, int(request.match_info["id"]))
    return _page(
        request, "console/report.html", current, message=message, http_status=status, **values
    )


async def handover_sheet(request: web.Request) -> web.Response:
    s = state(request)
    current = await _session(request)
    values = await _report_values(s, int(request.match_info["id"]))
    values["printed"] = format_local(s.services.clock.now(), s.services.clock.tz)
    return _page(request, "console/handover.html", current, **values)


async def _acting(request: web.Request) -> tuple[WebState, StaffSession, Any, int, int | None]:
    s = state(request)
    current = await _session(request)
    data = await _posted(request, current)
    if not current.can_act:
        raise web.HTTPForbidden(text=s.services.content.texts.raw("web.console.viewer_only"))
    try:
        version: int | None = int(str(data.get("version", "")))
    except ValueError:
        version = None
    return s, current, data, int(request.match_info["id"]), version


async def _after(request: web.Request, result: ActionResult, report_id: int) -> web.Response:
    s = state(request)
    t = s.services.content.texts.raw
    if result.outcome == "stale":
        return await report_page(request, t("web.console.stale"), 409)
    if result.outcome == "unknown":
        raise web.HTTPNotFound(text=t("office.unknown"))
    _redirect(request, f"{PREFIX}/tin/{report_id}")
    raise AssertionError("unreachable")


async def act_status(request: web.Request) -> web.Response:
    s, current, data, report_id, version = await _acting(request)
    action = _text(data, "action", 32)
    if action not in OFFICE_ACTIONS or version is None:
        raise web.HTTPBadRequest(text=s.services.content.texts.raw("office.unknown"))
    result = await s.services.desk.act_as(report_id, action, current.actor, version)
    return await _after(request, result, report_id)


async def act_take(request: web.Request) -> web.Response:
    s, current, data, report_id, version = await _acting(request)
    result = await s.services.desk.take_as(
        report_id, current.actor, current.staff.username, version
    )
    return await _after(request, result, report_id)


async def act_note(request: web.Request) -> web.Response:
    s, current, data, report_id, version = await _acting(request)
    text = _text(data, "note", MAX_REPLY)
    if not text:
        return await report_page(request, s.services.content.texts.raw("web.console.empty"), 400)
    result = await s.services.desk.note_as(report_id, current.actor, text, version)
    return await _after(request, result, report_id)


async def act_reply(request: web.Request) -> web.Response:
    s, current, data, report_id, version = await _acting(request)
    text = _text(data, "reply", MAX_REPLY)
    if not text:
        return await report_page(request, s.services.content.texts.raw("web.console.empty"), 400)
    result = await s.services.desk.reply_as(report_id, current.actor, text, version)
    return await _after(request, result, report_id)


INLINE_IMAGES = {"image/jpeg", "image/png", "image/webp", "image/gif"}  # re-encoded by the store


async def _stored_file(request: web.Request, stored_id: str) -> web.StreamResponse:
    """A file of the bot's store (sent on a chat channel), decrypted chunk by chunk."""
    files = state(request).services.files
    info = await files.info(stored_id)
    if info is None:
        raise web.HTTPNotFound()
    mime = info.mime_type or "application/octet-stream"
    inline = mime in INLINE_IMAGES
    extension = "".join(c for c in PurePath(info.file_name or "").suffix if c.isalnum() or c == ".")
    name = f"tep-{stored_id[:8]}{extension[:8]}"  # the sender's own file name stays out of headers
    response = web.StreamResponse(
        headers={
            "Content-Type": mime if inline else "application/octet-stream",
            "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{name}"',
            "Cache-Control": "private, no-store",
            "Content-Length": str(info.size),
        }
    )
    await response.prepare(request)
    async for piece in files.chunks(stored_id):
        await response.write(piece)
    await response.write_eof()
    return response


async def report_file(request: web.Request) -> web.StreamResponse:
    """A file of a report: web images from our store; a chat's files only by their channel."""
    s = state(request)
    await _session(request)
    services = s.services
    ref = await s.repo.file_ref(int(request.match_info["id"]))
    if ref is None:
        raise web.HTTPNotFound()
    plain = services.cipher.decrypt(ref)
    if is_store_id(plain):
        return await _stored_file(request, plain)
    if not plain.startswith("web:"):
        raise web.HTTPNotFound(text=services.content.texts.raw("web.console.chat_file"))
    blob = await s.repo.blob(int(plain.removeprefix("web:")))
    if blob is None:
        raise web.HTTPNotFound()
    data = base64.b64decode(services.cipher.decrypt(blob.data))
    inline = blob.mime_type.startswith("image/")
    disposition = "inline" if inline else "attachment"
    return web.Response(
        body=data,
        content_type=blob.mime_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{blob.file_name}"',
            "Cache-Control": "private, no-store",
        },
    )
