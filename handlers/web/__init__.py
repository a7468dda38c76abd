"""The web channel: one aiohttp application (public pages, the office console, and whatever
other channels mount on it, e.g. the Zalo webhook), served in the bot's own process."""

from __future__ import annotations

from handlers.web.app import WebServer, WebState, add_routes, build_web_app

__all__ = ["WebServer", "WebState", "add_routes", "build_web_app"]
