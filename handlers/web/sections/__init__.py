"""The office's console beyond the inbox (issue 12): the dashboard, announcements, deadlines,
units and invitations, outreach, statistics, exports and audit, staff and system health.

Every page calls the core's services (the same ones behind the Telegram office group); this
package only reads the request, checks the role and the CSRF token, and renders."""

from __future__ import annotations

from aiohttp import web

from handlers.web.sections import (
    announcements,
    dashboard,
    deadlines,
    exports,
    outreach,
    stats,
    system,
    units,
)
from handlers.web.sections.common import console_status

__all__ = ["console_status", "register"]


def register(app: web.Application) -> None:
    for module in (dashboard, announcements, deadlines, units, outreach, stats, exports, system):
        module.register(app)
