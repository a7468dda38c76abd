"""aiohttp server speaking Zalo's OA API, OAuth and the sandbox control API on loopback."""

from __future__ import annotations

import asyncio

from aiohttp import web

from sandbox.control_api import LoopbackServer
from sandbox.zalo.config import ZaloSandboxConfig
from sandbox.zalo.control import ControlApi
from sandbox.zalo.models import SimClock
from sandbox.zalo.oa_api import OaApi, json_response
from sandbox.zalo.state import ZaloState
from sandbox.zalo.webhook import WebhookEmitter

MAX_BODY = 8 * 1024 * 1024


class ZaloSandboxServer(LoopbackServer):
    """A fake Zalo OA bound to loopback, running in the caller's event loop.

    One server stands for both `openapi.zalo.me` and `oauth.zaloapp.com`: point both base URLs at
    `.url`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: ZaloSandboxConfig | None = None,
        clock: SimClock | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.state = ZaloState(config or ZaloSandboxConfig(), clock or SimClock())
        self.webhook = WebhookEmitter(self.state)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config(self) -> ZaloSandboxConfig:
        return self.state.config

    async def sleep(self, seconds: float) -> None:
        """A slow answer (fault injection): the one place the fake really waits."""
        await asyncio.sleep(seconds)

    async def start(self) -> None:
        """Bind and serve; with port 0 a free port is chosen and stored in `.port`."""
        app = web.Application(client_max_size=MAX_BODY)
        ControlApi(self).routes(app)
        OaApi(self).routes(app)
        app.router.add_route("GET", "/media/{media_id}", self._media)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=1024)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        await self.webhook.stop()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _media(self, request: web.Request) -> web.Response:
        media = self.state.media.get(request.match_info["media_id"])
        if media is None:
            return web.Response(status=404)
        return web.Response(body=media.data, content_type=media.content_type)

    async def _not_found(self, request: web.Request) -> web.Response:
        return json_response({"error": -404, "message": "Not found"}, 404)
