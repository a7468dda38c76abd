"""Button data: one typed codec for every kind of button, and a seal for typed-back payloads.

Each kind of button is a `ButtonFamily` with a prefix unique in the whole bot (checked when the
family is declared) and typed fields: `OFFICE_REPORT(12, "spam")` is "r:12:spam", and
`OFFICE_REPORT.parse("r:12:spam")` is (12, "spam"); anything forged or of another shape is None.

On channels where a press comes back as ordinary text (Zalo's `oa.query.hide`), anybody could
type a payload; `ButtonSeal` makes it unguessable and binds it to the person: "b1.<data>.<mac>".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from bot.chat.ref import ChatRef

_ID = re.compile(r"[0-9]{1,18}")
_TEXT = re.compile(r"[A-Za-z0-9_.\-]{0,64}")


class ButtonFamily:
    """A kind of button: its prefix and the types of the fields its data carries."""

    registry: ClassVar[dict[str, ButtonFamily]] = {}

    def __init__(self, prefix: str, *fields: type[int] | type[str], purpose: str = "") -> None:
        if prefix in ButtonFamily.registry:
            raise ValueError(f"button prefix {prefix!r} is already used")
        if not re.fullmatch(r"[a-z]{1,3}", prefix):
            raise ValueError(f"button prefix {prefix!r}: one to three lower-case letters")
        self.prefix, self.fields, self.purpose = prefix, fields, purpose
        ButtonFamily.registry[prefix] = self

    def __call__(self, *values: int | str) -> str:
        if len(values) != len(self.fields):
            raise ValueError(f"{self.prefix}: {len(self.fields)} values expected")
        text = ":".join([self.prefix, *(str(v) for v in values)])
        if len(text.encode()) > 64:  # Telegram's limit for callback data
            raise ValueError(f"button data over 64 bytes: {text!r}")
        return text

    def parse(self, data: str | None) -> tuple[Any, ...] | None:
        """The typed fields of `data`, or None when it is not this family's or malformed."""
        parts = (data or "").split(":", len(self.fields))
        if len(parts) != len(self.fields) + 1 or parts[0] != self.prefix:
            return None
        values: list[int | str] = []
        for kind, part in zip(self.fields, parts[1:], strict=True):
            if kind is int:
                if not _ID.fullmatch(part):
                    return None
                values.append(int(part))
            else:
                if not _TEXT.fullmatch(part):
                    return None
                values.append(part)
        return tuple(values)

    @classmethod
    def of(cls, data: str | None) -> ButtonFamily | None:
        """The family whose prefix `data` starts with."""
        return cls.registry.get((data or "").partition(":")[0])


SEAL_VERSION = "b1"
_SEALED = re.compile(r"^b1\.(.{1,64})\.([0-9a-f]{16})$")


class ButtonSeal:
    """Signs button data for one person, so that a payload typed back as text can be trusted."""

    def __init__(self, sign: Callable[[str], str]) -> None:
        self._sign = sign  # a keyed hash (HMAC) of a string, as hex or base32

    def seal(self, chat: ChatRef, data: str) -> str:
        return f"{SEAL_VERSION}.{data}.{self._mac(chat, data)}"

    def open(self, chat: ChatRef, text: str) -> str | None:
        """The data of a sealed payload sent back by the same person; None if forged or another
        person's."""
        match = _SEALED.match(text.strip())
        if match is None or match.group(2) != self._mac(chat, match.group(1)):
            return None
        return match.group(1)

    @staticmethod
    def looks_sealed(text: str | None) -> bool:
        return text is not None and text.strip().startswith(f"{SEAL_VERSION}.")

    def _mac(self, chat: ChatRef, data: str) -> str:
        """64 bits of a keyed hash (hex) over the person and the data."""
        return self._sign(f"button|{chat.channel}|{chat.chat_id}|{data}")[:16]
