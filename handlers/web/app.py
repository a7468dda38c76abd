"""build_web_app: the aiohttp application with its pages, headers and state; WebServer runs it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.kernel.config import Settings
from bot.kernel.services import Services
from bot.office.staff import SLOW_STEP, StaffService
from bot.reports.receipts import AttemptLimiter
from bot.reports.service import LOOKUP_FAILURES, LOOKUP_WINDOW, REPORTS_PER_HOUR
from handlers.web.security import (
    MIN_FILL_SECONDS,
    FormTokens,
    PublicOrigin,
    Refusals,
    SourceKeyer,
    security_headers,
)
from storage.web import WebRepository

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATE: web.AppKey[WebState] = web.AppKey("antq_web_state")
GLOBAL_SUBMISSIONS_PER_HOUR = 1000  # all visitors together
MAX_UPLOAD = 5 * 20 * 1024 * 1024 + 1024 * 1024  # five images of 20 MB and the text


@dataclass
class WebState:
    """What the pages share: the core's services and the web's own in-memory guards."""

    services: Services
    settings: Settings
    origin: PublicOrigin
    staff: StaffService
    repo: WebRepository
    tokens: FormTokens
    keyer: SourceKeyer
    refusals: Refusals
    submissions: AttemptLimiter  # per source (an in-memory HMAC of the address)
    budget: AttemptLimiter  # every visitor together
    lookup_failures: AttemptLimiter  # per source; the global budget is the chat's own
    env: jinja2.Environment
    min_fill_seconds: float
    poll_seconds: float = 20.0  # how often the inbox's script asks for new arrivals

    def render(
        self, request: web.Request, name: str, http_status: int = 200, **values: Any
    ) -> web.Response:
        template = self.env.get_template(name if name.endswith(".html") else f"{name}.html")
        html = template.render(request_path=request.path, **values)
        return web.Response(
            text=html, status=http_status, content_type="text/html", charset="utf-8"
        )


def build_web_app(
    services: Services,
    settings: Settings | None = None,
    *,
    routes: Iterable[web.AbstractRouteDef] = (),
    min_fill_seconds: float = MIN_FILL_SECONDS,
    submissions_per_hour: int = REPORTS_PER_HOUR,
    global_submissions_per_hour: int = GLOBAL_SUBMISSIONS_PER_HOUR,
    login_slow_step: float = SLOW_STEP,
    poll_seconds: float = 20.0,
) -> web.Application:
    """The whole web application. Other channels add theirs with `routes` or `add_routes`
    before the server starts (e.g. `POST /zalo/webhook`)."""
    from handlers.web import console, public  # the route modules need STATE defined first

    settings = settings or services.settings
    origin = PublicOrigin(settings.public_url)
    app = web.Application(middlewares=[security_headers(origin)], client_max_size=MAX_UPLOAD)
    now = services.clock.now
    texts = services.content.texts
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["t"] = texts.raw
    env.globals["org_name"] = settings.org_name
    app[STATE] = WebState(
        services=services,
        settings=settings,
        origin=origin,
        staff=StaffService(services.db, services.cipher, services.clock, slow_step=login_slow_step),
        repo=WebRepository(services.db),
        tokens=FormTokens(),
        keyer=SourceKeyer(),
        refusals=Refusals(),
        submissions=AttemptLimiter(submissions_per_hour, timedelta(hours=1), now),
        budget=AttemptLimiter(global_submissions_per_hour, timedelta(hours=1), now),
        lookup_failures=AttemptLimiter(LOOKUP_FAILURES, LOOKUP_WINDOW, now),
        env=env,
        min_fill_seconds=min_fill_seconds,
        poll_seconds=poll_seconds,
    )
    public.register(app)
    console.register(app)
    app.router.add_static("/static", HERE / "static", append_version=False)
    add_routes(app, routes)
    return app


def add_routes(app: web.Application, routes: Iterable[web.AbstractRouteDef]) -> None:
    """Mount more routes (another channel's webhook) on the same application, before it starts."""
    app.router.add_routes(list(routes))


def state(request: web.Request) -> WebState:
    return request.app[STATE]


class _NoPeer(logging.Filter):
    """aiohttp's server log names the peer's address on errors: keep the message, drop that."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "from %s" in record.msg:
            record.msg = record.msg.replace(" from %s", "")
            record.args = ()
        return True


class WebServer:
    """Runs the application on ANTQ_HTTP_LISTEN, without an access log (it would record IPs)."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        server_log = logging.getLogger("aiohttp.server")
        if not any(isinstance(f, _NoPeer) for f in server_log.filters):
            server_log.addFilter(_NoPeer())
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("web pages served on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
