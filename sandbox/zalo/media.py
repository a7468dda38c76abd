"""Files simulated people send: a JPEG carrying EXIF with GPS, a small PDF; EXIF read back."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
MAKE = 0x010F


def jpeg_with_gps(
    latitude: float = 11.5353, longitude: float = 106.8832, size: tuple[int, int] = (64, 48)
) -> bytes:
    """A real JPEG whose EXIF names a camera and the place it was taken (to test stripping)."""

    def dms(value: float) -> tuple[float, float, float]:
        value = abs(value)
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = round(((value - degrees) * 60 - minutes) * 60, 2)
        return (float(degrees), float(minutes), seconds)

    image = Image.new("RGB", size, (200, 60, 40))
    exif = image.getexif()
    exif[MAKE] = "SandboxPhone"
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N" if latitude >= 0 else "S"
    gps[2] = dms(latitude)
    gps[3] = "E" if longitude >= 0 else "W"
    gps[4] = dms(longitude)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def has_gps(data: bytes) -> bool:
    """Whether an image's EXIF still carries a GPS block."""
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif().get_ifd(GPS_IFD))


def pdf_bytes(text: str = "sandbox") -> bytes:
    """A minimal PDF (enough for the magic number checks)."""
    return b"%PDF-1.4\n% " + text.encode() + b"\n%%EOF\n"
