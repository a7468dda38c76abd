"""aiohttp server speaking the Telegram Bot API (and the sandbox control API) on loopback."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from aiohttp import web

from sandbox.control_api import LoopbackServer
from sandbox.telegram.botapi import METHODS, BotApi
from sandbox.telegram.control import add_control_routes
from sandbox.telegram.errors import (
    NOT_FOUND,
    UNAUTHORIZED,
    ApiError,
    bad_request,
    too_many_requests,
)
from sandbox.telegram.limits import Clock, LimitsConfig, RateLimiter
from sandbox.telegram.params import Params, Upload
from sandbox.telegram.state import SandboxState
from sandbox.telegram.webhook import WebhookDelivery

TOKEN_RE = re.compile(r"^(\d+):[A-Za-z0-9_-]{5,}$")
MAX_UPLOAD = 60 * 1024 * 1024
_FAULT_ERRORS = {
    "500": ApiError(500, "Internal Server Error"),
    "502": ApiError(502, "Bad Gateway"),
}


def json_response(payload: Any, status: int = 200) -> web.Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return web.Response(body=body, status=status, content_type="application/json")


def api_error(exc: ApiError) -> web.Response:
    return json_response(exc.payload(), exc.code)


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Query string plus a JSON, urlencoded or multipart body (PTB sends the latter two)."""
    values: dict[str, Any] = dict(request.query) if request.query_string else {}
    files: dict[str, Upload] = {}
    if not request.can_read_body:
        return values, files
    ctype = request.content_type
    if ctype == "application/json":
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("JSON body must be an object")
        values.update(body)
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[key] = Upload(value.filename, value.content_type, value.file.read())
            else:
                values[key] = value
    else:
        await request.read()
    return values, files


def _chat_key(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


class SandboxServer(LoopbackServer):
    """A fake Telegram Bot API server bound to loopback, running in the caller's event loop."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: LimitsConfig | None = None,
        bot_username: str = "antq_sandbox_bot",
        *,
        group_privacy: bool = True,
        clock: Clock = time.monotonic,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.state = SandboxState(bot_username, group_privacy)
        self.limiter = RateLimiter(limits or LimitsConfig(), clock)
        self.webhook = WebhookDelivery(self.state, timeout=webhook_timeout)
        self.api = BotApi(self.state, self.limiter, self.webhook)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def limits(self) -> LimitsConfig:
        return self.limiter.config

    def set_limits(self, config: LimitsConfig) -> None:
        self.limiter.configure(config)

    async def start(self) -> None:
        """Bind and serve; with port 0 a free port is chosen and stored in `.port`."""
        self.state.closing = False
        app = web.Application(client_max_size=MAX_UPLOAD)
        add_control_routes(app, self)
        app.router.add_route("*", "/bot{token}/{method}", self._bot_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._file)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=2048)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop webhook deliveries, end long polls, close the listening socket."""
        self.state.closing = True
        await self.webhook.stop()
        self.wake_all()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def wake_all(self) -> None:
        state = self.state
        state.updates_pulse.fire()
        for chat in state.chats.values():
            chat.pulse.fire()
        for callback in state.callbacks.values():
            callback.pulse.fire()

    async def _not_found(self, request: web.Request) -> web.Response:
        return api_error(NOT_FOUND)

    async def _file(self, request: web.Request) -> web.Response:
        if not TOKEN_RE.match(request.match_info["token"]):
            return api_error(UNAUTHORIZED)
        file_id = self.state.file_paths.get(request.match_info["path"])
        record = self.state.files.get(file_id) if file_id else None
        if record is None:
            return api_error(NOT_FOUND)
        ctype = str(record.meta.get("mime_type") or "application/octet-stream")
        return web.Response(body=record.data, content_type=ctype)

    async def _bot_api(self, request: web.Request) -> web.StreamResponse:
        token_match = TOKEN_RE.match(request.match_info["token"])
        if token_match is None:
            return api_error(UNAUTHORIZED)
        bot_id = int(token_match.group(1))
        state = self.state
        state.bot_id = bot_id
        raw_name = request.match_info["method"]
        method = METHODS.get(raw_name.lower())
        state.count_method(method.name if method else raw_name)
        if method is None:
            return api_error(NOT_FOUND)
        try:
            values, files = await read_params(request)
        except ApiError as exc:
            return api_error(exc)
        lose_answer = False
        fault = state.take_fault(method.name)
        if fault is not None:
            state.stats.faults_injected += 1
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "lost":
                lose_answer = True
            elif fault.kind == "drop":
                return self._drop(request)
            elif fault.kind == "429":
                state.stats.rate_limited += 1
                return api_error(too_many_requests(max(1, fault.retry_after)))
            else:
                return api_error(_FAULT_ERRORS[fault.kind])
        chat_id: int | None = None
        if method.limited:
            chat_id = _chat_key(values.get("chat_id"))
            retry_after = self.limiter.acquire(chat_id)
            if retry_after:
                state.stats.rate_limited += 1
                return api_error(too_many_requests(retry_after))
        try:
            result = await method.handler(self.api, Params(values, files, bot_id))
        except ApiError as exc:
            if method.limited:
                self.limiter.release(chat_id)
            return api_error(exc)
        if lose_answer:
            return self._drop(request)
        return json_response({"ok": True, "result": result})

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Close the connection without an HTTP answer."""
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError
