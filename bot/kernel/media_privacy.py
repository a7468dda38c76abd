"""Strip identifying metadata (GPS, device, author, comments) from images before they are kept."""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import PurePath

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024  # also the Bot API's download limit; the text says "20 MB"
MAX_PIXELS = 64_000_000  # per frame; about 8000 × 8000
MAX_TOTAL_PIXELS = 200_000_000  # all frames of an animation together

REFUSED_KIND = "security.media.not_accepted"
REFUSED_SIZE = "security.media.too_large"
REFUSED_UNREADABLE = "security.media.unreadable"

# Formats Pillow may open here -> (output format, extension, MIME type). "MPO" is how Pillow
# names the multi-picture JPEGs many phones write; only the main picture is kept. BMP and TIFF
# become PNG: TIFF is itself a tag container, and PNG is smaller than BMP.
OUTPUTS = {
    "JPEG": ("JPEG", "jpg", "image/jpeg"),
    "MPO": ("JPEG", "jpg", "image/jpeg"),
    "PNG": ("PNG", "png", "image/png"),
    "WEBP": ("WEBP", "webp", "image/webp"),
    "GIF": ("GIF", "gif", "image/gif"),
    "BMP": ("PNG", "png", "image/png"),
    "TIFF": ("PNG", "png", "image/png"),
}
OPENERS = ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"]  # Pillow's JPEG opener yields MPO too
ANIMATED = {"PNG", "WEBP", "GIF"}  # every frame is kept; other formats keep only the first
KEPT_INFO = {"transparency", "duration", "loop", "disposal", "blend", "background"}
IMAGE_MIME_TYPES = {
    "image/jpeg",
    "image/jpg",
    "image/pjpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "image/bmp",
    "image/x-ms-bmp",
    "image/tiff",
}
IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".png",
    ".webp",
    ".gif",
    ".bmp",
    ".tif",
    ".tiff",
}
IMAGE_MAGIC = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\0",
    b"MM\0*",
)


@dataclass(frozen=True)
class CleanFile:
    data: bytes
    file_name: str
    mime_type: str


@dataclass(frozen=True)
class Refused:
    reason_key: str  # a text key under security.media


def strip_metadata(
    data: bytes, file_name: str | None, mime_type: str | None, number: int = 1
) -> CleanFile | Refused:
    """A re-encoded copy of an image without EXIF, XMP, IPTC, ICC, comments or text chunks.

    The pixels are kept, turned upright first as the EXIF orientation says; the copy gets a
    neutral name (anh-<number>.<ext>) because the original name may identify someone. Anything
    that is not a JPEG, PNG, WebP, GIF, BMP or single-page TIFF (PDF, Office documents, video,
    audio, HEIC, ...) is refused: it may carry author, device or place where we cannot see it.
    """
    if len(data) > MAX_BYTES:
        return Refused(REFUSED_SIZE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=OPENERS)
    except Image.DecompressionBombError:
        return Refused(REFUSED_SIZE)
    except Exception as exc:  # untrusted bytes: any failure to recognise them is a refusal
        log.info("file not opened as an image: %s", type(exc).__name__)
        said_image = claims_image(data, file_name, mime_type)
        return Refused(REFUSED_UNREADABLE if said_image else REFUSED_KIND)
    with image:
        return _clean(image, number)


def _clean(image: Image.Image, number: int) -> CleanFile | Refused:
    source = image.format or ""
    out_format, extension, out_mime = OUTPUTS[source]
    try:
        frames_in_file = getattr(image, "n_frames", 1)  # GIF counts by reading every frame
    except Exception as exc:
        log.info("image frames could not be counted: %s", type(exc).__name__)
        return Refused(REFUSED_UNREADABLE)
    if source == "TIFF" and frames_in_file > 1:
        return Refused(REFUSED_KIND)  # a multi-page document
    frame_count = frames_in_file if source in ANIMATED else 1
    width, height = image.size
    if width * height > MAX_PIXELS or width * height * frame_count > MAX_TOTAL_PIXELS:
        return Refused(REFUSED_SIZE)
    try:
        frames = [_clean_frame(image, index) for index in range(frame_count)]
        data = _encode(frames, out_format)
    except Exception as exc:  # damaged or truncated data shows only when decoded
        log.info("image could not be re-encoded: %s", type(exc).__name__)
        return Refused(REFUSED_UNREADABLE)
    return CleanFile(data, f"anh-{number}.{extension}", out_mime)


def _clean_frame(image: Image.Image, index: int) -> Image.Image:
    """One frame, upright, as a new image whose info holds only harmless display settings."""
    image.seek(index)
    upright = ImageOps.exif_transpose(image)
    frame = upright.copy() if upright is image else upright
    frame.info = {key: value for key, value in image.info.items() if key in KEPT_INFO}
    return frame


def _encode(frames: list[Image.Image], out_format: str) -> bytes:
    first = frames[0]
    options: dict[str, object] = {}
    if out_format == "JPEG":
        if first.mode not in ("L", "RGB", "CMYK"):
            first = first.convert("RGB")
        options = {"quality": 92}
    elif out_format == "PNG" and first.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        has_alpha = "A" in first.mode or "transparency" in first.info
        frames = [frame.convert("RGBA" if has_alpha else "RGB") for frame in frames]
        first = frames[0]
    elif out_format == "WEBP":
        options = {"quality": 90}
    if len(frames) > 1:
        options.update(
            save_all=True,
            append_images=frames[1:],
            duration=[frame.info.get("duration", 100) for frame in frames],
        )
        if "loop" in first.info:
            options["loop"] = first.info["loop"]
    output = io.BytesIO()
    # No exif=, xmp=, icc_profile=, comment= or pnginfo= is passed, and frame.info no longer
    # holds any of them, so the encoders write none.
    first.save(output, out_format, **options)
    return output.getvalue()


def claims_image(data: bytes, file_name: str | None, mime_type: str | None) -> bool:
    """Whether the file says it is an image we accept (so failing to open it means damage)."""
    if mime_type and mime_type.split(";")[0].strip().lower() in IMAGE_MIME_TYPES:
        return True
    if file_name and PurePath(file_name).suffix.lower() in IMAGE_SUFFIXES:
        return True
    return data.startswith(IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
