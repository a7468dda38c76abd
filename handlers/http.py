"""The process's one HTTP server: Zalo's webhook, Zalo's domain check file, the web pages.

aiohttp, not an ASGI app under uvicorn: the bot is already an asyncio program built on aiohttp
(its Bot API requests, the Zalo client, the sandboxes), so the server runs in the same event
loop as the dialogs and the outbox, shares their database connection and needs no second
framework or process. The web pages (issue 9) mount on the same application.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aiohttp import web

Mount = Callable[[web.Application], None]
MAX_BODY = 1024 * 1024


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def build_http_app(mounts: Iterable[Mount] = ()) -> web.Application:
    """An application with `/healthz` and whatever each channel or surface mounts."""
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_get("/healthz", _health)
    for mount in mounts:
        mount(app)
    return app


class HttpServer:
    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen; with port 0 a free port is chosen and kept in `.port`."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=1024)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
