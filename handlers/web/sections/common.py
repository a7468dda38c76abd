"""What every section shares: roles, the CSRF check, the page frame and the console's status."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from aiohttp import web

from bot.chat.markup import to_plain
from bot.chat.ref import Staff
from bot.kernel.clock import format_local
from bot.office.staff import StaffSession
from handlers.web import console
from handlers.web.app import CONSOLE_STATUS, WebState, state

PREFIX = console.PREFIX
log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Status:
    """Shown on every console page: reports nobody took yet, the newest one, channel alarms."""

    unclaimed: int
    latest: int
    alarms: list[str]


@web.middleware
async def console_status(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Before a console page: what its banner and badge say (one small query, no session)."""
    if request.path.startswith(f"{PREFIX}/") and request.method == "GET":
        s = state(request)
        if s.console is not None and request.cookies.get(console.COOKIE):
            request[CONSOLE_STATUS] = Status(
                await s.console.unclaimed(), await s.console.latest_report_id(), alarms(s)
            )
    return await handler(request)


def _urgent(s: WebState) -> frozenset[str]:
    return frozenset(c for c, v in s.services.content.categories.items() if v.urgent)


def alarms(s: WebState) -> list[str]:
    """A channel whose credentials are dead: a red banner on every page, with what to do."""
    t = s.services.content.texts.raw
    found = []
    for channel, sender in s.services.senders.items():
        error = getattr(sender, "needs_administrator", None)
        if error:
            key = f"web.health.dead_{channel}"
            texts = s.services.content.texts
            found.append(t(key) if texts.has(key) else t("web.health.dead_other", name=channel))
    return found


async def viewing(request: web.Request) -> tuple[WebState, StaffSession]:
    """Any logged-in staff member (a viewer reads)."""
    current = await console._session(request)
    return state(request), current


async def acting(request: web.Request) -> tuple[WebState, StaffSession, Any]:
    """A clerk or an admin, with the session's CSRF token and our origin; else 403."""
    s = state(request)
    current = await console._session(request)
    data = await console._posted(request, current)
    if not current.can_act:
        raise web.HTTPForbidden(text=s.services.content.texts.raw("web.console.viewer_only"))
    return s, current, data


async def administering(
    request: web.Request, post: bool = False
) -> tuple[WebState, StaffSession, Any]:
    s = state(request)
    current = await console._session(request)
    data = await console._posted(request, current) if post else None
    if current.staff.role != "admin":
        raise web.HTTPForbidden(text=s.services.content.texts.raw("web.admin_only"))
    return s, current, data


def staff_of(current: StaffSession) -> Staff:
    """The core's view of who acts: `staff:<username>` in the audit log."""
    return Staff(current.actor, current.staff.role, current.staff.name)


def page(request: web.Request, name: str, current: StaffSession, **values: Any) -> web.Response:
    return console._page(request, name, current, **values)


def redirect(request: web.Request, path: str) -> web.Response:
    console._redirect(request, path)
    raise AssertionError("unreachable")


def text(data: Any, name: str, limit: int) -> str:
    return console._text(data, name, limit)


def plain(markup: str) -> str:
    """A core message (neutral markup) as the browser shows it: tags dropped, escapes resolved."""
    return to_plain(markup)


def local(s: WebState, moment: datetime | None) -> str:
    return format_local(moment, s.services.clock.tz) if moment else ""


def day(text_value: str) -> date | None:
    try:
        return datetime.strptime(text_value.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None


STALE_FACTOR = 10  # a value this many times older than `seconds` is never served


async def cached(s: WebState, key: str, seconds: float, make: Callable[[], Awaitable[T]]) -> T:
    """A slow page's figures, computed at most once every `seconds` (statistics of a year).

    A value older than that but not by much is served at once while a fresh one is computed in
    the background for the next visitor (nobody waits twice for the same period)."""
    now = time.monotonic()
    hit = s.cache.get(key)
    if hit is not None and now - hit[0] < seconds:
        return hit[1]
    if hit is not None and now - hit[0] < seconds * STALE_FACTOR:
        if key not in _refreshing:
            _refreshing[key] = asyncio.ensure_future(_refresh(s, key, make))
        return hit[1]
    value = await make()
    _store(s, key, value)
    return value


_refreshing: dict[str, asyncio.Future[None]] = {}


async def _refresh(s: WebState, key: str, make: Callable[[], Awaitable[Any]]) -> None:
    try:
        _store(s, key, await make())
    except Exception:  # the stale value stays; the next visitor tries again
        log.exception("web: refreshing %s failed", key)
    finally:
        _refreshing.pop(key, None)


def _store(s: WebState, key: str, value: Any) -> None:
    s.cache[key] = (time.monotonic(), value)
    if len(s.cache) > 64:
        oldest = min(s.cache, key=lambda k: s.cache[k][0])
        del s.cache[oldest]


def page_number(query: Any) -> int:
    try:
        return max(1, min(100_000, int(str(query.get("trang", "1")))))
    except ValueError:
        return 1


WEEK = timedelta(days=7)
