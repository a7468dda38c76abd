"""Staff and system (admins only): the CLI's staff actions in the browser, and a health page:
each channel's state, the outbox's queue and rate, the scheduled jobs' last runs, the database's
size and its last backup."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.office.staff import StaffError
from handlers.web.sections.common import PREFIX, administering, alarms, local, page, text
from storage.backup import LAST_BACKUP
from storage.db import from_db
from storage.staff import ROLES
from storage.zalo import ZaloTokenRepository


def register(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{PREFIX}/canbo", staff_page)
    r.add_post(f"{PREFIX}/canbo", staff_add)
    r.add_post(f"{PREFIX}/canbo/{{username}}/{{action:khoa|datlai}}", staff_act)
    r.add_get(f"{PREFIX}/hethong", health)


async def staff_page(
    request: web.Request,
    message: str | None = None,
    one_time: tuple[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    s, current, _ = await administering(request)
    rows = await s.staff.list()
    return page(
        request, "console/staff.html", current, rows=rows, roles=ROLES, message=message,
        one_time=one_time, http_status=status,
    )  # fmt: skip


async def staff_add(request: web.Request) -> web.Response:
    s, current, data = await administering(request, post=True)
    t = s.services.content.texts.raw
    try:
        row, one_time = await s.staff.add(
            text(data, "username", 64), text(data, "name", 120), text(data, "role", 16), None,
            current.actor,
        )  # fmt: skip
    except StaffError as exc:
        return await staff_page(request, t(f"web.staff.{exc.key}"), status=400)
    return await staff_page(request, one_time=(row.username, one_time or ""))


async def staff_act(request: web.Request) -> web.Response:
    s, current, _ = await administering(request, post=True)
    t = s.services.content.texts.raw
    username = request.match_info["username"]
    if username == current.staff.username:
        return await staff_page(request, t("web.sys.not_yourself"), status=400)
    try:
        if request.match_info["action"] == "khoa":
            await s.staff.disable(username, current.actor)
            return await staff_page(request, t("web.staff.disabled", username=username))
        one_time = await s.staff.reset(username, current.actor)
    except StaffError as exc:
        return await staff_page(request, t(f"web.staff.{exc.key}"), status=400)
    return await staff_page(request, one_time=(username, one_time))


async def health(request: web.Request) -> web.Response:
    s, current, _ = await administering(request)
    assert s.console is not None
    services = s.services
    settings = services.settings
    now = services.clock.now()
    channels: list[dict[str, Any]] = []
    telegram = services.senders.get("telegram")
    channels.append(
        {
            "name": "telegram",
            "configured": settings.bot_token is not None,
            "running": telegram is not None,
            "dead": getattr(telegram, "needs_administrator", None),
            "last_sent": local(s, getattr(telegram, "last_sent_at", None)),
            "stats": dict(getattr(telegram, "stats", {})),
            "token": None,
        }
    )
    zalo = services.senders.get("zalo")
    tokens = await ZaloTokenRepository(services.db).load()
    expires = tokens.access_expires_at if tokens else None
    channels.append(
        {
            "name": "zalo",
            "configured": tokens is not None or zalo is not None,
            "running": zalo is not None,
            "dead": getattr(zalo, "needs_administrator", None),
            "last_sent": local(s, getattr(zalo, "last_sent_at", None)),
            "stats": dict(getattr(zalo, "stats", {})),
            "token": {
                "valid": expires is None or expires > now,
                "expires": local(s, expires) if expires else "",
            }
            if tokens
            else None,
        }
    )
    for name, sender in services.senders.items():
        if name not in ("telegram", "zalo"):
            channels.append(
                {"name": name, "configured": True, "running": True, "token": None,
                 "dead": sender.needs_administrator, "last_sent": local(s, sender.last_sent_at),
                 "stats": dict(sender.stats)}
            )  # fmt: skip
    last_hour = await s.console.sent_since(now - timedelta(hours=1))
    jobs = [
        (job_id, local(s, services.scheduler.last_run.get(job_id)))
        for job_id in services.scheduler.jobs
    ]
    path = Path(settings.database_path)
    wal = Path(f"{path}-wal")
    size = await s.console.size()
    backup = await s.console.meta(LAST_BACKUP)
    backup_text = None
    if backup:
        at, _, rest = backup.partition(" ")
        backup_size, _, name = rest.partition(" ")
        try:
            backup_text = (local(s, from_db(at)), _megabytes(int(backup_size)), name)
        except ValueError:
            backup_text = None
    return page(
        request, "console/system.html", current, channels=channels, queue=await s.console.queue(),
        last_hour=last_hour, jobs=jobs, size=_megabytes(size),
        wal=_megabytes(await asyncio.to_thread(_size, wal)),
        backup=backup_text, alarms=alarms(s), checked=local(s, now),
    )  # fmt: skip


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f}".replace(".", ",")
