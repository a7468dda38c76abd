"""What the fake servers' control APIs share: errors, JSON answers, the guard around routes."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ControlError(Exception):
    """A control request the fake refuses, with the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(payload: Any, status: int = 200) -> web.Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return web.Response(body=body, status=status, content_type="application/json")


def guarded(*bad_request: type[Exception]) -> Callable[[Route], Route]:
    """A route whose refusals and malformed requests become JSON errors, never a traceback."""
    caught: tuple[type[Exception], ...] = (*bad_request, ValueError, TypeError, KeyError)

    def guard(handler: Route) -> Route:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except ControlError as exc:
                return json_response({"ok": False, "error": exc.message}, exc.status)
            except caught as exc:
                return json_response({"ok": False, "error": str(exc)}, 400)

        return wrapped

    return guard


class LoopbackServer:
    """`async with` starts a fake server on loopback and stops it, whatever happens inside."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def serve_until_signalled(self, name: str, url: str | None = None) -> None:
        """Run until SIGINT or SIGTERM, printing where it listens (`python -m sandbox.<name>`)."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        print(f"{name} listening on {url or getattr(self, 'url', '?')}", flush=True)
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def json_body(request: web.Request) -> dict[str, Any]:
    """A control request's JSON object (empty when there is no body)."""
    if not request.can_read_body:
        return {}
    try:
        data = json.loads(await request.read() or b"{}")
    except ValueError:
        raise ControlError(400, "body must be JSON") from None
    if not isinstance(data, dict):
        raise ControlError(400, "body must be a JSON object")
    return data
