"""Telegram's invitation links: `https://t.me/<bot>?start=<code>` opens the chat with the code."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial


def start_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


def start_links(bot_username: str) -> Callable[[str], str]:
    """code -> the link that opens the bot's chat with it, for one bot."""
    return partial(start_link, bot_username)
