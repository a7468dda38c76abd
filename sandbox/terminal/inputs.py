"""What the person types, made safe: bytes from stdin to clean text, long text in pieces."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import threading
import unicodedata

MAX_MESSAGE = 4096  # Telegram's longest text message; the apps split longer text like this
_ESCAPES = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|.)?")


def clean(raw: bytes | str) -> tuple[str, int]:
    """The typed line as text: invalid UTF-8 (a paste cut inside a character by the terminal)
    becomes U+FFFD, terminal escape sequences (arrow keys) and control characters are dropped,
    tabs become spaces. Returns the text and how many characters were dropped or replaced."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    # a str from a surrogateescape'd stdin: make it valid first
    text = text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
    text = text.rstrip("\r\n")
    before = len(text)
    text = _ESCAPES.sub("", text).replace("\t", " ")
    kept = "".join(
        c for c in text if unicodedata.category(c) not in ("Cc", "Cs", "Co") or c == "\n"
    )
    kept = unicodedata.normalize("NFC", kept)
    dropped = before - len(kept) + kept.count("\ufffd")
    return kept.strip(), max(0, dropped)


def pieces(text: str, size: int = MAX_MESSAGE) -> list[str]:
    """Text longer than one message in pieces of at most `size`, cut at a space if possible."""
    out: list[str] = []
    while len(text) > size:
        cut = text.rfind(" ", size // 2, size + 1)
        cut = cut if cut > 0 else size
        out.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        out.append(text)
    return out


class LineReader:
    """Lines from stdin as bytes, read in a daemon thread (never blocks the event loop, and
    never keeps the program alive at exit, unlike asyncio.to_thread). None at end of input."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stream: object = None) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        source = stream if stream is not None else sys.stdin
        self._fd = source.fileno() if hasattr(source, "fileno") else 0
        self._thread = threading.Thread(target=self._run, name="terminal-stdin", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                if buffer:
                    self._put(buffer)
                self._put(None)
                return
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                self._put(line)

    def _put(self, item: bytes | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the program is ending
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    async def readline(self) -> bytes | None:
        return await self._queue.get()
