"""Announcements in the console: compose (neutral markup in a textarea, an optional image), the
audience (role, area or units, channel), a preview on Telegram and on Zalo with the exact count
of recipients per channel, confirm, live progress with a stop button, the final report.

Every step is AnnouncementService's, as in the office group."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from markupsafe import Markup, escape

from bot.announcements.service import AUDIENCES, ZALO_WINDOW
from bot.chat.markup import TAG, split_text, to_plain
from bot.kernel.files import Refusal
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
from storage.announcements import Announcement

ZALO_LIMIT = 2000  # characters of one Zalo text message
REFRESH_SECONDS = 5
CHANNELS = ("telegram", "zalo")


def register(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{PREFIX}/thongbao", compose_form)
    r.add_post(f"{PREFIX}/thongbao", compose)
    r.add_get(f"{PREFIX}/thongbao/{{id:\\d+}}", announcement_page)
    r.add_post(f"{PREFIX}/thongbao/{{id:\\d+}}/{{action:gui|dung|huy}}", act)


async def compose_form(
    request: web.Request, message: str | None = None, form: dict[str, str] | None = None
) -> web.Response:
    s, current = await viewing(request)
    service = s.services.announcements
    recent = [{"a": a, "audience": _audience_text(s, a)} for a in await service.recent(20)]
    return page(
        request, "console/announcements.html", current, message=message, form=form or {},
        audiences=list(AUDIENCES), areas=await service.repo.areas(), channels=CHANNELS,
        recent=recent, http_status=400 if message else 200,
    )  # fmt: skip


def _audience_text(s: WebState, a: Announcement) -> str:
    t = s.services.content.texts.raw
    if a.audience is None:
        return ""
    parts = [t(f"announce.audience.{a.audience}")]
    if a.units:
        parts.append(t("web.ann.units_count", count=len(a.units)))
    else:
        parts.append(a.area or t("announce.all_areas"))
    parts.append(t(f"web.source.{a.channel}") if a.channel else t("web.ann.all_channels"))
    return ", ".join(parts)


async def compose(request: web.Request) -> web.Response:
    s, current, data = await acting(request)
    service = s.services.announcements
    t = s.services.content.texts.raw
    body = text(data, "text", 4000)
    form = {k: text(data, k, 4000) for k in ("text", "audience", "area", "codes", "channel")}
    audience = form["audience"]
    if audience not in AUDIENCES:
        return await compose_form(request, t("web.ann.choose_audience"), form)
    upload = data.get("image")
    photo: str | None = None
    if isinstance(upload, web.FileField) and upload.filename:
        stored = await s.services.files.take(
            upload.file.read(), kind="photo", file_name=upload.filename,
            mime_type=upload.content_type, images_only=True,
        )  # fmt: skip
        if isinstance(stored, Refusal):
            texts = s.services.content.texts
            short = f"web.media.{stored.reason_key.rsplit('.', 1)[-1]}"
            reason = (
                t(short)
                if texts.has(short)
                else plain(texts.get(stored.reason_key, **stored.params))
            )
            return await compose_form(request, t("web.ann.image_refused", reason=reason), form)
        photo = stored.id
    problem = service.problem(body, photo is not None)
    if problem is not None:
        return await compose_form(request, plain(problem), form)
    codes = [c for c in form["codes"].replace(",", " ").split() if c]
    units: list[str] = []
    if codes:
        found, unknown = await s.services.deadlines.check_codes(codes)
        if unknown:
            return await compose_form(
                request, t("web.ann.unknown_units", codes=", ".join(unknown[:20])), form
            )
        units = found
    areas = await service.repo.areas()
    area = form["area"] if form["area"] in areas else None
    channel = form["channel"] if form["channel"] in CHANNELS else None
    announcement_id = await service.compose(
        staff_of(current), body, audience, area, units, channel, photo
    )
    return redirect(request, f"{PREFIX}/thongbao/{announcement_id}")


def telegram_html(markup: str) -> Markup:
    """The neutral markup as Telegram shows it: only <b>, <i>, <code> and escapes, else text."""
    pieces = TAG.split(markup)
    if any("<" in piece or ">" in piece for piece in pieces):
        return Markup(escape(to_plain(markup)))
    return Markup(markup.replace("\n", "<br>"))


async def announcement_page(request: web.Request, notice: str | None = None) -> web.Response:
    s, current = await viewing(request)
    service = s.services.announcements
    announcement = await service.repo.get(int(request.match_info["id"]))
    if announcement is None or announcement.audience is None:
        raise web.HTTPNotFound(text=plain(s.services.content.texts.get("announce.unknown")))
    values: dict[str, Any] = {
        "a": announcement,
        "audience": _audience_text(s, announcement),
        "notice": notice,
        "created_by": announcement.created_by,
    }
    rendered = service.rendered(announcement)
    values["telegram"] = telegram_html(rendered)
    values["zalo"] = split_text(to_plain(rendered), ZALO_LIMIT)
    values["photo"] = bool(announcement.photo_ref)
    if announcement.state == "draft":
        assert s.console is not None
        roles = AUDIENCES[announcement.audience]
        window_start = s.services.clock.now() - ZALO_WINDOW
        by_channel = await s.console.audience_by_channel(
            roles, announcement.area, announcement.units, announcement.channel, window_start
        )
        values["by_channel"] = sorted(by_channel.items())
        values["total"] = await service.recipients(announcement)
    else:
        values["figures"] = await service.figures(announcement.id)
        assert s.console is not None
        values["per_channel"] = sorted(
            (await s.console.ref_counts(f"announcement:{announcement.id}")).items()
        )
        announcement = await service.repo.get(announcement.id) or announcement
        values["a"] = announcement
    values["refresh"] = REFRESH_SECONDS if values["a"].state == "sending" else None
    values["now"] = local(s, s.services.clock.now())
    return page(request, "console/announcement.html", current, **values)


async def act(request: web.Request) -> web.Response:
    s, current, _ = await acting(request)
    announcement_id = int(request.match_info["id"])
    action = {"gui": "ok", "dung": "stop", "huy": "x"}[request.match_info["action"]]
    outcome = await s.services.announcements.press(announcement_id, action, "", staff_of(current))
    if action == "x":
        return redirect(request, f"{PREFIX}/thongbao")
    if outcome.notice:
        return await announcement_page(request, plain(outcome.notice))
    return redirect(request, f"{PREFIX}/thongbao/{announcement_id}")
