"""Files attached to messages: photo sizes, documents, videos, voices, stickers."""

from __future__ import annotations

import mimetypes
import struct
import zlib
from typing import Any

from sandbox.telegram.errors import bad_request
from sandbox.telegram.models import JSON, FileRecord
from sandbox.telegram.params import Upload
from sandbox.telegram.state import SandboxState

_DEFAULT_MIME = {
    "video": "video/mp4",
    "audio": "audio/mpeg",
    "voice": "audio/ogg",
    "animation": "video/mp4",
    "document": "application/octet-stream",
}


def png_bytes(
    width: int = 32, height: int = 24, rgb: tuple[int, int, int] = (30, 90, 200)
) -> bytes:
    """A valid solid-colour PNG, so bots that open images get a real one."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG, when recognisable."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def _meta(kind: str, data: bytes, file_name: str | None, mime: str | None, extra: JSON) -> JSON:
    meta: JSON = {}
    if kind in ("document", "video", "audio", "animation") and file_name:
        meta["file_name"] = file_name
    if kind in ("video", "animation", "video_note"):
        meta["width"] = int(extra.get("width") or 640)
        meta["height"] = int(extra.get("height") or 360)
    if kind in ("video", "audio", "voice", "animation", "video_note"):
        meta["duration"] = int(extra.get("duration") or 1)
    if kind == "video_note":
        meta = {"length": meta.pop("width"), "duration": meta["duration"]}
    if kind == "sticker":
        meta.update(type="regular", width=512, height=512, is_animated=False, is_video=False)
        meta["emoji"] = extra.get("emoji") or "😀"
    if kind in _DEFAULT_MIME:
        guessed = mimetypes.guess_type(file_name)[0] if file_name else None
        meta["mime_type"] = mime or guessed or _DEFAULT_MIME[kind]
    return meta


def new_media(
    state: SandboxState,
    kind: str,
    data: bytes,
    file_name: str | None = None,
    mime_type: str | None = None,
    **extra: Any,
) -> tuple[JSON, str]:
    """Store a new file; return the message fields (e.g. {"photo": [...]}) and the file_id."""
    if mime_type in ("application/octet-stream", ""):
        mime_type = None
    if kind != "photo":
        record = state.add_file(
            kind, data, _meta(kind, data, file_name, mime_type, extra), file_name
        )
        return {kind: record.to_api()}, record.file_id
    size = image_size(data)
    width = int(extra.get("width") or (size[0] if size else 1280))
    height = int(extra.get("height") or (size[1] if size else 960))
    scale = min(1.0, 320 / max(width, height, 1))
    thumb = state.add_file("photo", data, {"width": max(1, int(width * scale))}, file_name)
    thumb.meta["height"] = max(1, int(height * scale))
    full = state.add_file("photo", data, {"width": width, "height": height}, file_name)
    thumb.sizes = full.sizes = [thumb.file_id, full.file_id]
    return _photo_fields(state, full), full.file_id


def _photo_fields(state: SandboxState, record: FileRecord) -> JSON:
    sizes = [state.files[fid] for fid in record.sizes if fid in state.files] or [record]
    return {"photo": [size.to_api() for size in sizes]}


def media_from_input(state: SandboxState, kind: str, value: Upload | str) -> tuple[JSON, str]:
    """Resolve a send* input: an upload, an existing file_id, or an HTTP URL."""
    if isinstance(value, Upload):
        return new_media(state, kind, value.data, value.filename, value.content_type)
    if value.startswith(("http://", "https://")):
        name = value.rsplit("/", 1)[-1].split("?", 1)[0] or None
        return new_media(state, kind, b"", name, None)
    record = state.files.get(value)
    if record is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if record.kind != kind:
        raise bad_request(f"can't use file of type {record.kind.title()} as {kind.title()}")
    if kind == "photo":
        return _photo_fields(state, record), record.sizes[-1] if record.sizes else record.file_id
    return {kind: record.to_api()}, record.file_id
