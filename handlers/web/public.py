"""Public pages: /togiac (anonymous tip), /baocao (a report under a name), /tracuu (look-up).

No cookie is set, and nothing about the visitor's connection (address, forwarded-for, user
agent, referrer) is stored or logged: limits key in-memory counters by an HMAC of the address.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.kernel.clock import format_local
from bot.kernel.files import StoredFile
from bot.kernel.media_privacy import CleanFile, Refused, strip_metadata
from bot.reports.receipts import normalize_code, verify_passphrase
from bot.reports.service import LOOKUP_WINDOW
from handlers.web.app import WebState, state
from storage.reports import ReportFile, ReportRow

MAX_IMAGES = 5
MAX_WHAT = 3000
MIN_WHAT = 10
MAX_PEOPLE = 1000
MAX_WHERE = 300
MAX_DAYS_PAST = 730
DEFAULT_CATEGORY = "khac"
# what a reporter reads for each status: a report judged spam is not called so to its sender
PUBLIC_STATUS = {
    "new": "web.status.new",
    "received": "web.status.received",
    "in_progress": "web.status.in_progress",
    "forwarded": "web.status.forwarded",
    "resolved": "web.status.resolved",
    "dismissed": "web.status.closed",
    "spam": "web.status.closed",
}
PHONE = re.compile(r"[0-9+][0-9 .\-]{7,18}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}")


@dataclass
class Form:
    """What the visitor typed, kept to show the form again with a message."""

    values: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    images: list[CleanFile] = field(default_factory=list)


def register(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/togiac", tip_form)
    app.router.add_post("/togiac", tip_submit)
    app.router.add_get("/baocao", report_form)
    app.router.add_post("/baocao", report_submit)
    app.router.add_get("/tracuu", lookup_form)
    app.router.add_post("/tracuu", lookup_submit)
    app.router.add_post("/tracuu/bosung", lookup_addition)


async def home(request: web.Request) -> web.Response:
    return state(request).render(request, "home")


# ----------------------------------------------------------------------------- the forms


async def tip_form(request: web.Request) -> web.Response:
    return await _show_form(request, anonymous=True, form=Form())


async def report_form(request: web.Request) -> web.Response:
    return await _show_form(request, anonymous=False, form=Form())


async def _show_form(
    request: web.Request, *, anonymous: bool, form: Form, status: int = 200
) -> web.Response:
    s = state(request)
    name = "tip" if anonymous else "report"
    values = {"category": DEFAULT_CATEGORY, "when": s.services.clock.today().isoformat()}
    values.update(form.values)
    categories = [(c.code, c.label) for c in s.services.content.categories.values()]
    return s.render(
        request,
        "form",
        http_status=status,
        anonymous=anonymous,
        action=f"/{'togiac' if anonymous else 'baocao'}",
        token=s.tokens.issue(name),
        values=values,
        errors=form.errors,
        categories=categories,
        units=await s.repo.units(),
        today=s.services.clock.today().isoformat(),
        max_images=MAX_IMAGES,
    )


async def tip_submit(request: web.Request) -> web.Response:
    return await _submit(request, anonymous=True)


async def report_submit(request: web.Request) -> web.Response:
    return await _submit(request, anonymous=False)


async def _submit(request: web.Request, *, anonymous: bool) -> web.Response:
    s = state(request)
    name = "tip" if anonymous else "report"
    try:
        data = await request.post()
    except web.HTTPRequestEntityTooLarge:
        s.refusals.add("too_large")
        form = Form(errors=[s.services.content.texts.raw("web.form.too_large")])
        return await _show_form(request, anonymous=anonymous, form=form, status=413)
    token = _field(data, "csrf_token", 200)
    verdict = s.tokens.check(name, token, min_age=s.min_fill_seconds)
    if verdict == "missing":
        s.refusals.add("no_token")
        raise web.HTTPForbidden(text=s.services.content.texts.raw("web.forbidden"))
    form = _read_values(s, data, anonymous)
    t = s.services.content.texts.raw
    if verdict != "ok":
        s.refusals.add(f"token_{verdict}")
        form.errors.insert(0, t(f"web.form.token_{verdict}"))
        return await _show_form(request, anonymous=anonymous, form=form, status=400)
    source = s.keyer.key(request)
    if not s.submissions.allowed(source) or not s.budget.allowed("all"):
        s.refusals.add("rate")
        wait = max(s.submissions.retry_after(source), s.budget.retry_after("all"))
        minutes = max(1, int(wait.total_seconds() // 60) + 1)
        return s.render(
            request, "message", http_status=429, title=t("web.limit.title"),
            text=t("web.limit.text", minutes=minutes),
        )  # fmt: skip
    await _read_images(s, data, form)
    if form.errors:
        return await _show_form(request, anonymous=anonymous, form=form, status=400)
    answers = await _answers(s, form.values, anonymous)
    services = s.services
    passphrase = await services.reports.form_passphrase()
    stored = await _store_images(s, form.images)  # into the file store, before the transaction
    try:
        async with services.db.transaction() as tx:
            submitted = await services.reports.submit_form(
                tx,
                answers,
                anonymous=anonymous,
                source="web",
                passphrase=passphrase,
                files=[("photo", image.id) for image in stored],
            )
            if submitted is not None and submitted.named_passphrase_hash:
                report = submitted.report
                await s.repo.set_passphrase(tx, report.id, submitted.named_passphrase_hash)
    except BaseException:
        await _discard(s, stored)
        raise
    if submitted is None:
        await _discard(s, stored)
    assert token is not None
    s.tokens.spend(token)
    if submitted is None:
        s.refusals.add("duplicate")
        return s.render(
            request, "message", title=t("web.duplicate.title"), text=t("web.duplicate.text")
        )
    services.desk.notify()
    s.submissions.record(source)
    s.budget.record("all")
    return s.render(
        request,
        "receipt",
        anonymous=anonymous,
        code=submitted.report.code,
        passphrase=submitted.passphrase,
    )


def _field(data: MultiDictProxy[Any], name: str, limit: int) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        return ""
    return value.replace("\r\n", "\n").strip()[: limit + 1]


def _read_values(s: WebState, data: MultiDictProxy[Any], anonymous: bool) -> Form:
    t = s.services.content.texts.raw
    form = Form()
    v = form.values
    v["category"] = _field(data, "category", 40)
    if v["category"] not in s.services.content.categories:
        v["category"] = DEFAULT_CATEGORY
    v["what"] = _field(data, "what", MAX_WHAT)
    if len(v["what"]) < MIN_WHAT:
        form.errors.append(t("web.form.what_short", min=MIN_WHAT))
    elif len(v["what"]) > MAX_WHAT:
        form.errors.append(t("web.form.too_long", field=t("web.form.what"), max=MAX_WHAT))
    v["unit"] = _field(data, "unit", 200)
    v["where_text"] = _field(data, "where_text", MAX_WHERE)
    if len(v["where_text"]) > MAX_WHERE:
        form.errors.append(t("web.form.too_long", field=t("web.form.where_text"), max=MAX_WHERE))
    v["people"] = _field(data, "people", MAX_PEOPLE)
    if len(v["people"]) > MAX_PEOPLE:
        form.errors.append(t("web.form.too_long", field=t("web.form.people"), max=MAX_PEOPLE))
    today = s.services.clock.today()
    v["when"] = _field(data, "when", 10) or today.isoformat()
    try:
        when = date.fromisoformat(v["when"])
        if when > today or when < today - timedelta(days=MAX_DAYS_PAST):
            form.errors.append(t("web.form.bad_date"))
    except ValueError:
        form.errors.append(t("web.form.bad_date"))
    if not anonymous:
        v["contact_name"] = _field(data, "contact_name", 100)
        v["contact_phone"] = _field(data, "contact_phone", 20)
        v["contact_email"] = _field(data, "contact_email", 254)
        v["contact_unit"] = _field(data, "contact_unit", 200)
        if len(v["contact_name"]) < 2 or len(v["contact_name"]) > 100:
            form.errors.append(t("web.form.name_needed"))
        if not v["contact_phone"] and not v["contact_email"]:
            form.errors.append(t("web.form.contact_needed"))
        if v["contact_phone"] and not PHONE.fullmatch(v["contact_phone"]):
            form.errors.append(t("web.form.bad_phone"))
        if v["contact_email"] and not EMAIL.fullmatch(v["contact_email"]):
            form.errors.append(t("web.form.bad_email"))
    return form


async def _read_images(s: WebState, data: MultiDictProxy[Any], form: Form) -> None:
    t = s.services.content.texts.raw
    uploads = [f for f in data.getall("images", []) if isinstance(f, web.FileField) and f.filename]
    if len(uploads) > MAX_IMAGES:
        form.errors.append(t("web.form.too_many_images", max=MAX_IMAGES))
        return
    for number, upload in enumerate(uploads, start=1):
        raw = upload.file.read()
        result = await asyncio.to_thread(
            strip_metadata, raw, upload.filename, upload.content_type, number
        )
        if isinstance(result, Refused):
            reason = t(f"web.media.{result.reason_key.rsplit('.', 1)[1]}")
            form.errors.append(t("web.form.image_refused", number=number, reason=reason))
        else:
            form.images.append(result)
    if form.images and form.errors:
        form.errors.append(t("web.form.choose_again"))


async def _answers(s: WebState, values: dict[str, str], anonymous: bool) -> dict[str, Any]:
    unit_code = await s.repo.unit_by_name(values["unit"]) if values.get("unit") else None
    where_text = values.get("where_text") or ""
    if values.get("unit") and unit_code is None:  # typed, not chosen from the list
        where_text = f"{values['unit']}. {where_text}".strip(". ")
    answers: dict[str, Any] = {
        "category": values["category"],
        "what": values["what"],
        "where": "other_unit" if unit_code else "described",
        "where_unit": unit_code,
        "where_text": where_text or None,
        "when": values["when"],
        "people": values.get("people") or None,
    }
    if not anonymous:
        answers.update(
            contact_name=values["contact_name"],
            contact_phone=values.get("contact_phone") or None,
            contact_email=values.get("contact_email") or None,
            contact_unit=values.get("contact_unit") or None,
        )
    return answers


async def _store_images(s: WebState, images: list[CleanFile]) -> list[StoredFile]:
    """The cleaned images, encrypted into the bot's file store (refs: in the caller's tx)."""
    stored: list[StoredFile] = []
    for image in images:
        result = await s.services.files.put(
            image.data, kind="photo", file_name=image.file_name, mime_type=image.mime_type
        )
        if not isinstance(result, StoredFile):  # the form's own limits are lower than the store's
            await _discard(s, stored)
            raise web.HTTPRequestEntityTooLarge(
                max_size=s.services.files.max_file_bytes, actual_size=len(image.data)
            )
        stored.append(result)
    return stored


async def _discard(s: WebState, stored: list[StoredFile]) -> None:
    for image in stored:
        await s.services.files.delete(image.id)


# ------------------------------------------------------------------------------ look-up


async def lookup_form(request: web.Request) -> web.Response:
    return _lookup_page(request, [])


def _lookup_page(request: web.Request, errors: list[str], status: int = 200) -> web.Response:
    s = state(request)
    return s.render(
        request, "lookup", http_status=status, token=s.tokens.issue("lookup"), errors=errors
    )


def _lookup_locked(s: WebState, source: str) -> int:
    general = s.services.reports.all_lookup_failures
    if s.lookup_failures.allowed(source) and general.allowed("all"):
        return 0
    wait = max(s.lookup_failures.retry_after(source), general.retry_after("all"))
    return max(1, int(wait.total_seconds() // 60) + 1)


async def lookup_submit(request: web.Request) -> web.Response:
    s = state(request)
    t = s.services.content.texts.raw
    data = await request.post()
    token = _field(data, "csrf_token", 200)
    if s.tokens.check("lookup", token, min_age=0) == "missing":
        s.refusals.add("no_token")
        raise web.HTTPForbidden(text=t("web.forbidden"))
    source = s.keyer.key(request)
    locked = _lookup_locked(s, source)
    if locked:
        s.refusals.add("lookup_locked")
        return _lookup_page(request, [t("web.lookup.locked", minutes=locked)], 429)
    code = normalize_code(_field(data, "code", 64))
    passphrase = _field(data, "passphrase", 200)
    report = await s.services.reports.reports.by_code(code) if code else None
    stored = None
    if report is not None:
        stored = report.passphrase_hash or await s.repo.passphrase_hash(report.id)
    matches = bool(stored) and await asyncio.to_thread(verify_passphrase, passphrase, stored or "")
    if report is None or not matches:
        s.lookup_failures.record_failure(source)
        s.services.reports.all_lookup_failures.record_failure("all")
        return _lookup_page(request, [t("web.lookup.not_found")], 404)
    return await _report_status(request, report)


async def _report_status(
    request: web.Request, report: ReportRow, notice: str | None = None
) -> web.Response:
    s = state(request)
    services = s.services
    tz = services.clock.tz
    replies = await services.reports.reports.events(report.id, actions=["reply"])
    shown = [
        (format_local(e.at, tz), services.cipher.decrypt_optional(e.note) or "")
        for e in reversed(replies)
    ]
    return s.render(
        request,
        "lookup_result",
        code=report.code,
        category=services.desk.category_label(report.category),
        created=format_local(report.created_at, tz),
        status=services.content.texts.raw(PUBLIC_STATUS.get(report.status, "web.status.new")),
        replies=shown,
        access=s.tokens.sign_value(str(report.id)),
        token=s.tokens.issue("addition"),
        notice=notice,
        max_images=MAX_IMAGES,
        window_minutes=int(LOOKUP_WINDOW.total_seconds() // 60),
    )


async def lookup_addition(request: web.Request) -> web.Response:
    """More information or images for a report just looked up (a signed, short-lived access)."""
    s = state(request)
    t = s.services.content.texts.raw
    services = s.services
    data = await request.post()
    token = _field(data, "csrf_token", 200)
    if s.tokens.check("addition", token, min_age=0) == "missing":
        s.refusals.add("no_token")
        raise web.HTTPForbidden(text=t("web.forbidden"))
    report_id = s.tokens.unsign_value(_field(data, "access", 200))
    report = await services.reports.reports.get(int(report_id)) if report_id else None
    if report is None:
        return _lookup_page(request, [t("web.lookup.expired")], 403)
    form = Form()
    info = _field(data, "info", MAX_WHAT)
    await _read_images(s, data, form)
    if len(info) > MAX_WHAT:
        form.errors.append(t("web.form.too_long", field=t("web.lookup.info"), max=MAX_WHAT))
    if form.errors or (not info and not form.images):
        errors = form.errors or [t("web.lookup.nothing")]
        return await _report_status(request, report, notice=" ".join(errors))
    stored = await _store_images(s, form.images)
    try:
        await _add(s, report, info, stored)
    except BaseException:
        await _discard(s, stored)
        raise
    services.desk.notify()
    return await _report_status(request, report, notice=t("web.lookup.added"))


async def _add(s: WebState, report: ReportRow, info: str, stored: list[StoredFile]) -> None:
    """What a sender adds by /tracuu: a text, images (already in the store), told to the office."""
    services = s.services
    now = services.clock.now()
    async with services.db.transaction() as tx:
        if info:
            await services.reports.reports.add_event(
                tx,
                report.id,
                at=now,
                actor="sender",
                action="addition",
                note=services.cipher.encrypt(info),
            )
            note = services.content.texts.get("office.addition", code=report.code, text=info)
            await services.desk.tell_office(tx, report.id, note)
        if stored:
            refs = [ReportFile("photo", services.cipher.encrypt(image.id)) for image in stored]
            await services.reports.reports.add_files(
                tx, report.id, refs, added_by="sender", now=now
            )
            note = services.content.texts.get(
                "office.addition_files", count=len(stored), code=report.code
            )
            await services.desk.tell_office(tx, report.id, note)
            files = [("photo", image.id) for image in stored]
            await services.desk.announce_files(tx, report, files)
