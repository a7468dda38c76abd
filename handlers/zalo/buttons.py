"""Signed button payloads for Zalo, where a press comes back as text anyone could type.

A payload is `<tag>~<data>`: `data` is the core's button data, `tag` the first 16 hex digits of
a keyed hash (the data key's pseudonym key) of the person's Zalo id and the data. A payload typed
by another person, or changed, does not verify and is refused like a stale Telegram button. The
step is bound by the data itself (dialog data carries the dialog's sequence number, so a press
from an older step is stale in the engine), which also makes a dialog press single-use.

Replaceable by the core's own codec (bot/chat) once it lands: only `sign` and `read` are used.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

TAG_LENGTH = 16
_PAYLOAD = re.compile(r"^([0-9a-f]{16})~(.{1,900})$", re.DOTALL)


@dataclass(frozen=True)
class Pressed:
    """What a typed text turned out to be: a verified press (`data`) or a forged one."""

    data: str | None  # None: it looked like a payload and did not verify


class ButtonCodec:
    def __init__(self, keyed_hash: Callable[[str], str]) -> None:
        self._hash = keyed_hash  # Cipher.pseudonym: HMAC-SHA256 with a key of the data key

    def _tag(self, user_id: str, data: str) -> str:
        return self._hash(f"zalo-button\x00{user_id}\x00{data}")[:TAG_LENGTH]

    def sign(self, user_id: str, data: str) -> str:
        return f"{self._tag(user_id, data)}~{data}"

    def read(self, user_id: str, text: str) -> Pressed | None:
        """None for ordinary text; a Pressed for anything shaped like a payload."""
        match = _PAYLOAD.match(text.strip())
        if match is None:
            return None
        tag, data = match.groups()
        if hmac.compare_digest(tag, self._tag(user_id, data)):
            return Pressed(data)
        return Pressed(None)
