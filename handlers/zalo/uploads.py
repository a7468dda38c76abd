"""Files the bot sends on Zalo, fitted to what Zalo's uploads take (ZALO.md).

Images: JPG or PNG of at most 1 MB, so a larger or other image is re-encoded as a JPEG, smaller
and smaller, until it fits. Files: PDF, DOC, DOCX or CSV of at most 5 MB; anything else cannot go
to Zalo, and the message says so instead of failing.
"""

from __future__ import annotations

import io

from PIL import Image

IMAGE_MAX_BYTES = 1024 * 1024
FILE_MAX_BYTES = 5 * 1024 * 1024
FILE_KINDS = {".pdf", ".doc", ".docx", ".csv"}
_QUALITIES = (85, 75, 65, 55)


def fitted_image(data: bytes, name: str) -> tuple[bytes, str] | None:
    """The image as Zalo takes it (JPG/PNG, ≤ 1 MB), or None if it is no image at all."""
    is_jpeg, is_png = data[:3] == b"\xff\xd8\xff", data[:8] == b"\x89PNG\r\n\x1a\n"
    if (is_jpeg or is_png) and len(data) <= IMAGE_MAX_BYTES:
        return data, name
    try:
        with Image.open(io.BytesIO(data)) as opened:
            picture = opened.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    stem = name.rsplit(".", 1)[0] or "anh"
    while True:
        for quality in _QUALITIES:
            output = io.BytesIO()
            picture.save(output, "JPEG", quality=quality, optimize=True)
            if output.tell() <= IMAGE_MAX_BYTES:
                return output.getvalue(), f"{stem}.jpg"
        if max(picture.size) <= 64:
            return None
        picture = picture.resize((max(1, picture.width * 3 // 4), max(1, picture.height * 3 // 4)))


def file_fits(data: bytes, name: str) -> bool:
    """Whether Zalo's file upload takes it as it is."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return suffix in FILE_KINDS and len(data) <= FILE_MAX_BYTES
