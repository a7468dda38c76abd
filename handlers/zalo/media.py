"""Files a Zalo person sends, fetched for the bot's file store (bot/kernel/files.py).

A Zalo image or file event carries a URL on Zalo's CDN. The channel announces it to the core as
an `Upload` whose channel file id is that URL; the core fetches it through `ZaloFetcher` only when
the dialog's step accepts a file of that kind, and the store re-encodes every image without its
metadata (EXIF, GPS) before anything is kept. The download is bounded by the store's per-file
limit; the URL itself is never stored or logged.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp

from bot.dialogs.engine import Upload
from bot.kernel.files import FetchError

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


class ZaloFetcher:
    def __init__(self, session: aiohttp.ClientSession, limit: int, timeout: float) -> None:
        self.session = session
        self.limit = limit
        self.timeout = timeout

    async def fetch(self, upload: Upload) -> AsyncIterator[bytes]:
        """The bytes at the upload's URL, at most `limit`; FetchError otherwise."""
        url = upload.channel_file_id
        if not url.startswith(("https://", "http://")):
            raise FetchError("not a URL")
        size = 0
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with self.session.get(url, timeout=timeout) as response:
                if response.status != 200:
                    raise FetchError(f"HTTP {response.status}")
                if response.content_length is not None and response.content_length > self.limit:
                    raise FetchError("larger than the store takes")
                async for chunk in response.content.iter_chunked(CHUNK):
                    size += len(chunk)
                    if size > self.limit:
                        raise FetchError("larger than the store takes")
                    yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("Zalo file download failed: %s", type(exc).__name__)  # no URL: no one
            raise FetchError(type(exc).__name__) from None
