"""What people typed, made safe to store and to write out; files of personal data, owner-only."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# Bidi embeddings, overrides and isolates: they reorder what the office reads (U+202E).
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_C1_CONTROLS = re.compile("[\u007f-\u009f]")


def xml_safe(text: str) -> str:
    """Without the control characters XML (and so XLSX) cannot hold; tab and newlines stay."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def clean_input(text: str) -> str:
    """Typed text as it is stored: no control characters other than tab and newlines, no bidi
    overrides. Word pastes \\x0b for a line break inside a paragraph: it becomes a newline."""
    text = text.replace("\x0b", "\n")
    return _BIDI_CONTROLS.sub("", _C1_CONTROLS.sub("", xml_safe(text)))


def visible_length(text: str) -> int:
    """How many characters a reader sees: no controls, format characters (zero-width, bidi),
    spaces or combining marks."""
    return sum(1 for c in text if unicodedata.category(c)[0] not in "CZM")


def private_opener(path: str, flags: int) -> int:
    """An `opener` for open(): the file is (made) readable and writable by its owner only."""
    descriptor = os.open(path, flags, 0o600)
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, 0o600)  # also when it existed before, and whatever the umask
    return descriptor


def create_private(path: Path) -> None:
    """An empty owner-only file at `path`, for a writer that then opens it by name."""
    with open(path, "wb", opener=private_opener):
        pass


_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only ('²'.isdigit() is true), below 2**63


def parse_id(text: str | None) -> int | None:
    """A row id or page number from a button or an argument; None for anything else."""
    return int(text) if text is not None and _ID.fullmatch(text) else None
