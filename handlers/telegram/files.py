"""Files between Telegram and the bot's store: downloads of what people send, uploads on send.

A file a person sends is downloaded (bounded by the store's per-file limit, which the Bot API's
20 MB download limit matches) and put into the store, cleaned; Telegram's own file id is never
kept as the identity of evidence. When the bot sends a stored file, the first send uploads its
bytes and remembers the file id Telegram returns for it (`file_channel_ids`); later sends reuse
that id.

References from before the store (Telegram file ids in `report_files` and `announcements`) are
adopted lazily: `adopt_legacy_files` runs once the bot is up, downloads each such file from
Telegram while Telegram still has it, stores it (images cleaned) and replaces the reference. Until
then, and for any outbox row queued before the upgrade, a Telegram file id is still sent as is.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator

from telegram import Bot, InputFile, Message
from telegram.error import TelegramError

from bot.dialogs.engine import Upload
from bot.kernel.crypto import Cipher
from bot.kernel.files import FetchError, FileStore, StoredFile, is_store_id
from content.schema import FileKind
from storage.files import LegacyRefs

log = logging.getLogger(__name__)

CHANNEL = "telegram"
DOWNLOAD_CHUNK = 64 * 1024


class TelegramFiles:
    def __init__(self, bot: Bot, store: FileStore) -> None:
        self.bot = bot
        self.store = store
        self._uploads: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # ---------------------------------------------------------------------------- download

    async def fetch(self, upload: Upload) -> AsyncIterator[bytes]:
        """The bytes of a file a person sent; FetchError when Telegram will not give them."""
        async for piece in self.download(upload.channel_file_id):
            yield piece

    async def download(self, telegram_file_id: str) -> AsyncIterator[bytes]:
        limit = self.store.max_file_bytes
        try:
            telegram_file = await self.bot.get_file(telegram_file_id)
            if telegram_file.file_size is not None and telegram_file.file_size > limit:
                raise FetchError("larger than the store takes")
            data = await telegram_file.download_as_bytearray()
        except TelegramError as exc:
            raise FetchError(type(exc).__name__) from None
        if len(data) > limit:
            raise FetchError("larger than the store takes")
        view = memoryview(data)
        for start in range(0, len(view), DOWNLOAD_CHUNK):
            yield bytes(view[start : start + DOWNLOAD_CHUNK])

    async def take(
        self, telegram_file_id: str, kind: FileKind, *, images_only: bool = False
    ) -> StoredFile | str:
        """A Telegram file into the store, cleaned; a refusal's text key otherwise."""
        try:
            stored = await self.store.take(
                self.download(telegram_file_id), kind=kind, images_only=images_only
            )
        except FetchError:
            return "files.unavailable"
        return stored if isinstance(stored, StoredFile) else stored.reason_key

    # ------------------------------------------------------------------------------ upload

    def upload_lock(self, stored_id: str) -> asyncio.Lock:
        """One upload at a time per stored file, so a broadcast uploads it once."""
        lock = self._uploads.get(stored_id)
        if lock is None:
            lock = asyncio.Lock()
            self._uploads[stored_id] = lock
        return lock

    async def cached(self, stored_id: str) -> str | None:
        return await self.store.channel_id(stored_id, CHANNEL)

    async def input_file(self, stored_id: str) -> InputFile:
        """The stored file's clean bytes, to upload (the Bot API takes a file in one piece)."""
        info = await self.store.info(stored_id)
        data = await self.store.read(stored_id)
        name = (info.file_name if info else None) or "tep"
        return InputFile(data, filename=name)

    async def remember(self, stored_id: str, sent: Message) -> None:
        telegram_id = sent_file_id(sent)
        if telegram_id is not None:
            await self.store.remember_channel_id(stored_id, CHANNEL, telegram_id)

    async def forget_cached(self, stored_id: str) -> None:
        """Telegram no longer knows its id (another bot token): upload again next time."""
        await self.store.repo.forget_channel_id(stored_id, CHANNEL)

    # ------------------------------------------------------------------------ legacy refs

    async def adopt_legacy_files(self, cipher: Cipher) -> int:
        """Telegram file ids kept before the store, fetched into it; returns how many moved.

        Idempotent: a reference that is already a store id is left alone; a file Telegram no
        longer gives is logged and tried again at the next start.
        """
        legacy = LegacyRefs(self.store.repo.db)
        moved = 0
        for row_id, kind, ref in await legacy.report_files():
            telegram_id = cipher.decrypt(ref)
            if is_store_id(telegram_id):
                continue
            stored = await self.take(telegram_id, _kind(kind))
            if isinstance(stored, str):
                log.warning("report file %s not adopted into the store: %s", row_id, stored)
                continue
            await legacy.replace_report_file(row_id, ref, cipher.encrypt(stored.id))
            moved += 1
        for announcement_id, photo in await legacy.announcement_photos():
            if is_store_id(photo):
                continue
            stored = await self.take(photo, "photo")
            if isinstance(stored, str):
                log.warning("announcement %s photo not adopted: %s", announcement_id, stored)
                continue
            await legacy.replace_announcement_photo(announcement_id, photo, stored.id)
            moved += 1
        return moved


def _kind(kind: str) -> FileKind:
    return "photo" if kind == "photo" else "video" if kind == "video" else "document"


def sent_file_id(sent: Message) -> str | None:
    """Telegram's id of the file a sent message carries (the largest size of a photo)."""
    if sent.photo:
        return sent.photo[-1].file_id
    for media in (sent.document, sent.video):
        if media is not None:
            return media.file_id
    return None
