"""Images and files a Zalo person sends: downloaded bounded, images cleaned, kept encrypted.

Until the bot's file store (bot/kernel/files.py) is on main, a cleaned file lives here as Fernet
ciphertext in `<database folder>/zalo_media/<random>.bin` and the core sees the id
`zalo-media:<random>` as its `file_id`. Every image is re-encoded without EXIF/GPS/XMP by
bot/kernel/media_privacy.py before it is written; the original bytes are never stored.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.kernel import media_privacy
from bot.kernel.crypto import Cipher

log = logging.getLogger(__name__)

PREFIX = "zalo-media:"


class MediaRefused(Exception):
    """The file cannot be taken; `text_key` words it for the person."""

    def __init__(self, text_key: str) -> None:
        super().__init__(text_key)
        self.text_key = text_key


@dataclass(frozen=True)
class StoredMedia:
    file_id: str
    file_name: str
    mime_type: str
    size: int


class ZaloMediaStore:
    def __init__(self, folder: Path, cipher: Cipher) -> None:
        self.folder = folder
        self.cipher = cipher

    def _path(self, file_id: str) -> Path | None:
        name = file_id.removeprefix(PREFIX)
        if not file_id.startswith(PREFIX) or not name.isalnum():
            return None
        return self.folder / f"{name}.bin"

    async def put(self, data: bytes) -> str:
        name = secrets.token_hex(16)
        sealed = self.cipher.encrypt(base64.b64encode(data).decode("ascii"))

        def write() -> None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{name}.bin").write_text(sealed, encoding="ascii")

        await asyncio.to_thread(write)
        return PREFIX + name

    async def get(self, file_id: str) -> bytes | None:
        path = self._path(file_id)
        if path is None or not path.exists():
            return None
        sealed = await asyncio.to_thread(path.read_text, encoding="ascii")
        return base64.b64decode(self.cipher.decrypt(sealed))

    async def delete(self, file_id: str) -> None:
        path = self._path(file_id)
        if path is not None:
            path.unlink(missing_ok=True)

    async def take_image(self, data: bytes, number: int = 1) -> StoredMedia:
        """Cleaned of metadata (or refused), then stored."""
        cleaned = await asyncio.to_thread(media_privacy.strip_metadata, data, None, None, number)
        if isinstance(cleaned, media_privacy.Refused):
            raise MediaRefused(cleaned.reason_key)
        file_id = await self.put(cleaned.data)
        return StoredMedia(file_id, cleaned.file_name, cleaned.mime_type, len(cleaned.data))

    async def take_file(self, data: bytes, name: str) -> StoredMedia:
        """An image sent as a file is cleaned like a photo; anything else is refused (it may
        carry author, device or place where the bot cannot see it), as on Telegram."""
        return await self.take_image(data)


async def download(session: aiohttp.ClientSession, url: str, limit: int, timeout: float) -> bytes:
    """The bytes at a Zalo media URL, at most `limit` of them; MediaRefused otherwise."""
    if not url.startswith(("https://", "http://")):
        raise MediaRefused(media_privacy.REFUSED_UNREADABLE)
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            if response.status != 200:
                raise MediaRefused(media_privacy.REFUSED_UNREADABLE)
            if response.content_length is not None and response.content_length > limit:
                raise MediaRefused(media_privacy.REFUSED_SIZE)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise MediaRefused(media_privacy.REFUSED_SIZE)
                chunks.append(chunk)
            return b"".join(chunks)
    except (TimeoutError, aiohttp.ClientError) as exc:
        log.warning("Zalo media download failed: %s", type(exc).__name__)  # no URL: it names no one
        raise MediaRefused(media_privacy.REFUSED_UNREADABLE) from None
