"""Deadlines in the console: create, edit, open, close, cancel, the reminder plan, the progress
board per deadline with the heads' notes and questions, a reminder now, the Excel of /tiendo.

All of it through DeadlineService, DeadlineDesk and ReminderService, as the office group does."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.deadlines.reminder_plan import PlanError, format_plan, parse_plan
from bot.deadlines.service import (
    Scope,
    parse_description,
    parse_due,
    parse_title,
    split_codes,
)
from bot.office.staff import StaffSession
from handlers.web.app import WebState
from handlers.web.sections.common import (
    PREFIX,
    acting,
    local,
    page,
    plain,
    redirect,
    staff_of,
    text,
    viewing,
)

MAX_ANSWER = 2000


def register(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{PREFIX}/hanchot", deadline_list)
    r.add_post(f"{PREFIX}/hanchot", create)
    r.add_post(f"{PREFIX}/hanchot/tiendo", board_file)
    r.add_get(f"{PREFIX}/hanchot/{{id:\\d+}}", board)
    r.add_post(f"{PREFIX}/hanchot/{{id:\\d+}}/sua", edit)
    r.add_post(f"{PREFIX}/hanchot/{{id:\\d+}}/{{action:mo|dong|huy|nhac}}", act)
    r.add_post(f"{PREFIX}/hanchot/{{id:\\d+}}/traloi/{{question:\\d+}}", answer)


async def _choices(s: WebState) -> dict[str, Any]:
    repo = s.services.deadlines.repo
    return {
        "kinds": await repo.distinct("kind"),
        "areas": await repo.distinct("area"),
        "default_plan": s.services.deadlines.default_plan,
    }


async def deadline_list(
    request: web.Request, message: str | None = None, form: dict[str, str] | None = None
) -> web.Response:
    s, current = await viewing(request)
    assert s.console is not None
    repo = s.services.deadlines.repo
    counts = {d: (units, done) for d, units, done in await s.console.deadline_list(
        ("draft", "open", "closed", "cancelled"))}  # fmt: skip
    questions = await s.console.open_questions()
    rows = []
    for state_name in ("open", "draft", "closed", "cancelled"):
        for d in await repo.in_states(state_name):
            units, done = counts.get(d.id, (0, 0))
            rows.append(
                {
                    "d": d,
                    "due": local(s, d.due_at),
                    "units": units,
                    "done": done,
                    "questions": questions.get(d.id, 0),
                    "overdue": d.state == "open"
                    and d.due_at is not None
                    and d.due_at < s.services.clock.now()
                    and done < units,
                }
            )
    return page(
        request, "console/deadlines.html", current, rows=rows[:200], message=message,
        form=form or {}, http_status=400 if message else 200, **await _choices(s),
    )  # fmt: skip


async def _fields(s: WebState, data: Any, partial: bool) -> dict[str, Any]:
    """The form's fields as DeadlineService.update takes them; PlanError when one is wrong."""
    tz, now = s.services.clock.tz, s.services.clock.now()
    changes: dict[str, Any] = {"title": parse_title(text(data, "title", 400))}
    changes["description"] = parse_description(text(data, "description", 3000))
    due = text(data, "due", 40)
    if due or not partial:
        changes["due_at"] = parse_due(due.replace("T", " "), tz, now)
    plan = text(data, "reminders", 200)
    if plan:
        changes["reminders"] = format_plan(parse_plan(plan))
    scope = text(data, "scope", 10)
    if scope == "all":
        changes["scope"] = Scope("all")
    elif scope in ("kind", "area"):
        value = text(data, scope, 200)
        if not value:
            raise PlanError("deadline.error.units_empty")
        changes["scope"] = Scope(scope, value)
    elif scope == "list":
        codes = split_codes(text(data, "codes", 20_000))
        if not codes:
            raise PlanError("deadline.error.units_empty")
        found, unknown = await s.services.deadlines.check_codes(codes)
        if unknown:
            raise PlanError("deadline.error.unknown_units", codes=", ".join(unknown[:20]))
        changes["scope"] = Scope("list", None, tuple(found))
    elif not partial:
        raise PlanError("deadline.error.units_empty")
    return changes


def _problem(s: WebState, exc: PlanError) -> str:
    return plain(s.services.content.texts.get(exc.key, **exc.params))


def _form(data: Any) -> dict[str, str]:
    names = ("title", "description", "due", "reminders", "scope", "kind", "area", "codes")
    return {name: text(data, name, 20_000) for name in names}


async def create(request: web.Request) -> web.Response:
    """A new deadline, opened at once (the office group's wizard, in one form)."""
    s, current, data = await acting(request)
    service = s.services.deadlines
    try:
        changes = await _fields(s, data, partial=False)
    except PlanError as exc:
        return await deadline_list(request, _problem(s, exc), _form(data))
    deadline_id = await service.create_draft(current.actor)
    await service.update(deadline_id, **changes, actor=current.actor)
    problem = await service.open(deadline_id, current.actor)
    if problem is not None:
        return await deadline_list(request, plain(s.services.content.texts.get(problem)))
    return redirect(request, f"{PREFIX}/hanchot/{deadline_id}")


async def board(
    request: web.Request, message: str | None = None, notice: str | None = None
) -> web.Response:
    s, current = await viewing(request)
    return await _board(request, s, current, int(request.match_info["id"]), message, notice)


async def _board(
    request: web.Request,
    s: WebState,
    current: StaffSession,
    deadline_id: int,
    message: str | None = None,
    notice: str | None = None,
) -> web.Response:
    assert s.console is not None
    view = await s.services.deadline_desk.board_of(deadline_id)
    if view is None:
        raise web.HTTPNotFound(text=plain(s.services.content.texts.get("deadline.desk.unknown")))
    cipher = s.services.cipher
    questions = [
        {
            "q": q,
            "asked": local(s, q.asked_at),
            "answered": local(s, q.answered_at),
            "text": cipher.decrypt_optional(q.question) if q.question else "",
        }
        for q in await s.console.questions(deadline_id)
    ]
    d = view.deadline
    groups = {key: [u for u in view.units if u.state == key] for key in
              ("not_done", "late", "on_time")}  # fmt: skip
    return page(
        request, "console/deadline.html", current, view=view, d=d, groups=groups,
        questions=questions, message=message, notice=notice,
        due_value=d.due_at.astimezone(s.services.clock.tz).strftime("%Y-%m-%dT%H:%M")
        if d.due_at else "",
        editable=d.state in ("draft", "open"), http_status=400 if message else 200,
        **await _choices(s),
    )  # fmt: skip


async def edit(request: web.Request) -> web.Response:
    s, current, data = await acting(request)
    deadline_id = int(request.match_info["id"])
    try:
        changes = await _fields(s, data, partial=True)
    except PlanError as exc:
        return await _board(request, s, current, deadline_id, _problem(s, exc))
    updated = await s.services.deadlines.update(deadline_id, **changes, actor=current.actor)
    if updated is None:
        ended = plain(s.services.content.texts.get("deadline.desk.ended"))
        return await _board(request, s, current, deadline_id, ended)
    return redirect(request, f"{PREFIX}/hanchot/{deadline_id}")


async def act(request: web.Request) -> web.Response:
    s, current, data = await acting(request)
    deadline_id = int(request.match_info["id"])
    action = request.match_info["action"]
    service = s.services.deadlines
    t = s.services.content.texts
    notice: str | None
    if action == "mo":
        problem = await service.open(deadline_id, current.actor)
        if problem is not None:
            return await _board(request, s, current, deadline_id, plain(t.get(problem)))
        notice = plain(t.get("deadline.desk.opened_notice"))
    elif action == "dong":
        ok = await service.close(deadline_id, current.actor)
        notice = plain(t.get("deadline.desk.closed", id=deadline_id)) if ok else None
    elif action == "huy":
        ok = await service.cancel(deadline_id, current.actor)
        notice = plain(t.get("deadline.desk.cancelled", id=deadline_id)) if ok else None
    else:
        deadline = await service.repo.get(deadline_id)
        if deadline is None:
            raise web.HTTPNotFound()
        count = await s.services.reminders.remind_now(deadline, current.actor)
        notice = t.raw("web.dl.reminded", count=count)
    if notice is None:
        ended = plain(t.get("deadline.desk.ended"))
        return await _board(request, s, current, deadline_id, ended)
    return await _board(request, s, current, deadline_id, notice=notice)


async def answer(request: web.Request) -> web.Response:
    """An answer to a head's "Cần hỗ trợ": sent on their channel by ReminderService.answer."""
    s, current, data = await acting(request)
    deadline_id = int(request.match_info["id"])
    reply = text(data, "answer", MAX_ANSWER)
    if not reply:
        empty = s.services.content.texts.raw("web.console.empty")
        return await _board(request, s, current, deadline_id, empty)
    result = await s.services.reminders.answer(
        int(request.match_info["question"]), reply, staff_of(current).actor
    )
    return await _board(request, s, current, deadline_id, notice=plain(result))


async def board_file(request: web.Request) -> web.StreamResponse:
    """The Excel file of /tiendo (every open deadline), as DeadlineDesk.board_file makes it."""
    s, current, _ = await acting(request)
    made = await s.services.deadline_desk.board_file(staff_of(current))
    if made is None:
        return redirect(request, f"{PREFIX}/hanchot")
    content, name = made
    return web.Response(
        body=content,
        headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )
