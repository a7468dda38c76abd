"""The bot's own file store: evidence, attachments and photos, encrypted at rest, by unguessable id.

Each file is a blob under the files folder (``ANTQ_FILES_DIR``, by default ``files`` beside the
database) and a row in ``files``. A blob is encrypted with a key of its own (AES-256-GCM, one
authenticated record per 64 KiB chunk, so neither writing nor reading needs the whole file in
memory); that key is stored in the row, wrapped by the data key (Fernet, so several data keys
rotate as everywhere else). Deleting the row is enough to make the blob unreadable; `delete`
removes both.

Every image is re-encoded without metadata before it is stored (`take`), whatever the channel and
whether it came as a photo or as a document: the anonymity of a tip does not depend on a channel
recompressing photos. A channel keeps its own id for a stored file (Telegram's file_id, Zalo's
attachment_id) as a cache in ``file_channel_ids``; the store's id is the identity.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import re
import secrets
import struct
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.kernel import media_privacy
from bot.kernel.crypto import Cipher
from content.schema import FileKind
from storage.db import Database, Transaction
from storage.files import FileRepository, FileRow

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
MAGIC = b"ANTQF1\n"
MB = 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 20 * MB  # also the Bot API's download limit
DEFAULT_MAX_REPORT_BYTES = 50 * MB
ID_PATTERN = re.compile(r"[0-9a-f]{32}")
_RECORD = struct.Struct(">BI")  # final flag, length of the sealed chunk


TOO_LARGE = "files.too_large"
REPORT_TOO_LARGE = "files.report_too_large"
NOT_AN_IMAGE = media_privacy.REFUSED_UNREADABLE
OTHER_IMAGE_SUFFIXES = {".heic", ".heif", ".avif", ".svg", ".ico", ".jp2", ".psd", ".raw", ".dng"}


class FetchError(Exception):
    """A channel could not download a file a person sent (network, expired id)."""


class DamagedFileError(Exception):
    """A blob is missing, cut short or altered, or its key cannot be unwrapped."""


@dataclass(frozen=True)
class StoredFile:
    id: str
    kind: str
    mime_type: str | None
    file_name: str | None
    size: int
    cleaned: bool = False  # an image re-encoded without its metadata


@dataclass(frozen=True)
class Refusal:
    """Why a file was not stored: a text key (and its parameters) to tell the person."""

    reason_key: str
    params: dict[str, object] = field(default_factory=dict)


def is_store_id(ref: str | None) -> bool:
    """Whether a reference names a stored file (else it is a channel's id from before the store)."""
    return ref is not None and ID_PATTERN.fullmatch(ref) is not None


Source = bytes | Iterable[bytes] | AsyncIterable[bytes]


class FileStore:
    def __init__(
        self,
        db: Database,
        cipher: Cipher,
        folder: Path,
        now: Callable[[], datetime],
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        max_report_bytes: int = DEFAULT_MAX_REPORT_BYTES,
    ) -> None:
        self.repo = FileRepository(db)
        self.cipher = cipher
        self.folder = Path(folder)
        self.now = now
        self.max_file_bytes = max_file_bytes
        self.max_report_bytes = max_report_bytes

    # ----------------------------------------------------------------------------- storing

    async def take(
        self,
        source: Source,
        *,
        kind: FileKind,
        file_name: str | None = None,
        mime_type: str | None = None,
        number: int = 1,
        images_only: bool = False,
        room: int | None = None,
    ) -> StoredFile | Refusal:
        """A file a person sent, stored clean: every image re-encoded without metadata.

        A photo must be an image; a document that says or looks like it is one is cleaned
        too. Anything else is refused when `images_only` (anonymous tips), else stored as it
        is. `room` is what is left of the report's budget.
        """
        chunks = _aiter(source)
        head = b""
        async for piece in chunks:
            head += piece
            if len(head) >= 16:
                break
        image = kind == "photo" or _says_image(head, file_name, mime_type)
        if not image:
            if images_only:
                return Refusal(media_privacy.REFUSED_KIND)
            rest = _prepend(head, chunks)
            return await self.put(
                rest, kind=kind, file_name=file_name, mime_type=mime_type, room=room
            )
        data = bytearray(head)
        limit = min(self.max_file_bytes, media_privacy.MAX_BYTES)
        async for piece in chunks:
            data += piece
            if len(data) > limit:
                return self._too_large(limit)
        cleaned = await asyncio.to_thread(
            media_privacy.strip_metadata, bytes(data), file_name, mime_type, number
        )
        del data
        if isinstance(cleaned, media_privacy.Refused):
            reason = cleaned.reason_key
            if reason == media_privacy.REFUSED_KIND and not images_only:
                reason = NOT_AN_IMAGE  # an image format we cannot clean (HEIC): not kept as is
            return Refusal(reason)
        stored = await self.put(
            cleaned.data,
            kind=kind,
            file_name=cleaned.file_name,
            mime_type=cleaned.mime_type,
            room=room,
        )
        return replace(stored, cleaned=True) if isinstance(stored, StoredFile) else stored

    async def put(
        self,
        source: Source,
        *,
        kind: FileKind,
        file_name: str | None = None,
        mime_type: str | None = None,
        room: int | None = None,
    ) -> StoredFile | Refusal:
        """Store bytes as they are (streamed, encrypted); refused past the size limits."""
        limit = self.max_file_bytes if room is None else min(self.max_file_bytes, room)
        file_id = secrets.token_hex(16)
        key = AESGCM.generate_key(bit_length=256)
        writer = await asyncio.to_thread(_BlobWriter, self.folder, file_id, key)
        try:
            buffer = bytearray()  # small pieces are gathered: one thread hop per chunk
            received = 0
            async for piece in _aiter(source):
                received += len(piece)
                if received > limit:
                    await asyncio.to_thread(writer.abort)
                    return self._too_large(limit, over_report=limit < self.max_file_bytes)
                buffer += piece
                if len(buffer) >= CHUNK:
                    await asyncio.to_thread(writer.write, bytes(buffer))
                    buffer.clear()
            await asyncio.to_thread(writer.write, bytes(buffer))
            size, digest = await asyncio.to_thread(writer.finish)
        except BaseException:
            await asyncio.to_thread(writer.abort)
            raise
        row = FileRow(
            id=file_id,
            kind=kind,
            mime=mime_type,
            name=self.cipher.encrypt_optional(file_name),
            size=size,
            sha256=self.cipher.encrypt(digest),
            file_key=self.cipher.encrypt(base64.urlsafe_b64encode(key).decode("ascii")),
            created_at=self.now(),
        )
        try:
            await self.repo.insert(row)
        except BaseException:
            await asyncio.to_thread(_unlink, self.path(file_id))
            raise
        return StoredFile(file_id, kind, mime_type, file_name, size)

    def _too_large(self, limit: int, *, over_report: bool = False) -> Refusal:
        if over_report:
            return Refusal(REPORT_TOO_LARGE, {"mb": self.max_report_bytes // MB})
        return Refusal(TOO_LARGE, {"mb": limit // MB})

    # ----------------------------------------------------------------------------- reading

    def path(self, file_id: str) -> Path:
        if not is_store_id(file_id):
            raise ValueError("not a stored file's id")
        return self.folder / file_id[:2] / file_id

    async def info(self, file_id: str) -> StoredFile | None:
        row = await self.repo.get(file_id) if is_store_id(file_id) else None
        if row is None:
            return None
        name = self.cipher.decrypt_optional(row.name)
        return StoredFile(row.id, row.kind, row.mime, name, row.size)

    async def chunks(self, file_id: str) -> AsyncIterator[bytes]:
        """The clean content, decrypted one chunk at a time."""
        row = await self.repo.get(file_id) if is_store_id(file_id) else None
        if row is None:
            raise DamagedFileError("no such stored file")
        key = base64.urlsafe_b64decode(self.cipher.decrypt(row.file_key))
        reader = await asyncio.to_thread(_BlobReader, self.path(file_id), file_id, key)
        try:
            while (piece := await asyncio.to_thread(reader.next)) is not None:
                yield piece
        finally:
            await asyncio.to_thread(reader.close)

    async def read(self, file_id: str) -> bytes:
        """The whole clean content (for an upload that needs it in one piece)."""
        return b"".join([piece async for piece in self.chunks(file_id)])

    async def total_size(self, refs: Iterable[str]) -> int:
        """Bytes of the stored files among these references (others count nothing)."""
        return await self.repo.total_size([ref for ref in refs if is_store_id(ref)])

    # ---------------------------------------------------------------------- channel caches

    async def channel_id(
        self, file_id: str, channel: str, max_age: timedelta | None = None
    ) -> str | None:
        """The channel's own id for a stored file (Zalo's expire: pass their lifetime)."""
        since = self.now() - max_age if max_age is not None else None
        return await self.repo.channel_id(file_id, channel, since)

    async def remember_channel_id(self, file_id: str, channel: str, channel_file_id: str) -> None:
        await self.repo.remember_channel_id(file_id, channel, channel_file_id, self.now())

    # ---------------------------------------------------------------------------- deleting

    async def delete(self, file_id: str) -> bool:
        """The file's rows and its blob; False if there was no such file."""
        if not is_store_id(file_id):
            return False
        async with self.repo.db.transaction() as tx:
            deleted = await self.forget_in(tx, [file_id])
        await self.remove_blobs([file_id])
        return deleted > 0

    async def forget_in(self, tx: Transaction, file_ids: Sequence[str]) -> int:
        """Delete the rows in a caller's transaction; call `remove_blobs` after the commit.

        Without its row a blob cannot be decrypted any more (its key was in the row).
        """
        return await self.repo.delete_in(tx, [f for f in file_ids if is_store_id(f)])

    async def remove_blobs(self, file_ids: Iterable[str]) -> None:
        for file_id in file_ids:
            if is_store_id(file_id):
                await asyncio.to_thread(_unlink, self.path(file_id))

    async def remove_stale_temp(self, older_than: timedelta = timedelta(hours=1)) -> int:
        """Half-written files a crash left behind (encrypted, never referenced); how many."""
        return await asyncio.to_thread(_remove_stale, self.folder / "tmp", older_than)

    # ---------------------------------------------------------------------------- rotation

    async def rewrap_keys(self) -> int:
        """Wrap every file's key with the first data key (after a new key was added)."""
        count = 0
        for file_id, wrapped in await self.repo.all_keys():
            rotated = self.cipher.rotate(wrapped)
            async with self.repo.db.transaction() as tx:
                await self.repo.set_key(tx, file_id, rotated)
            count += 1
        return count


# -------------------------------------------------------------------------- blob format
#
# MAGIC, then records: flag (1 = last), length (4 bytes, big-endian), AES-GCM(chunk). The
# nonce is the record's number and its flag (each file has its own key, so nonces never
# repeat under a key); the associated data binds each record to its file's id. A blob cut
# short, reordered or with a record swapped from another file fails to decrypt.


def _nonce(index: int, final: bool) -> bytes:
    return struct.pack(">QI", index, 1 if final else 0)


def _aad(file_id: str) -> bytes:
    return MAGIC + file_id.encode("ascii")


class _BlobWriter:
    def __init__(self, folder: Path, file_id: str, key: bytes) -> None:
        self.final_path = folder / file_id[:2] / file_id
        temp_folder = folder / "tmp"
        for directory in (folder, temp_folder, self.final_path.parent):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.temp_path = temp_folder / f"{file_id}.part"
        fd = os.open(self.temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # exactly 0600, whatever the umask
        self.handle: BinaryIO = os.fdopen(fd, "wb")
        self.handle.write(MAGIC)
        self.aead = AESGCM(key)
        self.aad = _aad(file_id)
        self.index = 0
        self.pending = bytearray()
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.hash.update(data)
        self.size += len(data)
        self.pending += data
        while len(self.pending) > CHUNK:
            self._seal(bytes(self.pending[:CHUNK]), final=False)
            del self.pending[:CHUNK]

    def _seal(self, chunk: bytes, *, final: bool) -> None:
        sealed = self.aead.encrypt(_nonce(self.index, final), chunk, self.aad)
        self.handle.write(_RECORD.pack(1 if final else 0, len(sealed)) + sealed)
        self.index += 1

    def finish(self) -> tuple[int, str]:
        self._seal(bytes(self.pending), final=True)
        self.pending.clear()
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.temp_path, self.final_path)
        _fsync_directory(self.final_path.parent)
        return self.size, self.hash.hexdigest()

    def abort(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        self.temp_path.unlink(missing_ok=True)


class _BlobReader:
    def __init__(self, path: Path, file_id: str, key: bytes) -> None:
        try:
            self.handle: BinaryIO = path.open("rb")
        except OSError as exc:
            raise DamagedFileError(f"stored file unreadable: {exc.strerror}") from None
        if self.handle.read(len(MAGIC)) != MAGIC:
            self.handle.close()
            raise DamagedFileError("not a stored file")
        self.aead = AESGCM(key)
        self.aad = _aad(file_id)
        self.index = 0
        self.done = False

    def next(self) -> bytes | None:
        if self.done:
            if self.handle.read(1):
                raise DamagedFileError("data after the last record")
            return None
        header = self.handle.read(_RECORD.size)
        if len(header) < _RECORD.size:
            raise DamagedFileError("stored file cut short")
        flag, length = _RECORD.unpack(header)
        sealed = self.handle.read(length)
        if len(sealed) < length or flag not in (0, 1):
            raise DamagedFileError("stored file cut short")
        try:
            chunk = self.aead.decrypt(_nonce(self.index, flag == 1), sealed, self.aad)
        except InvalidTag:
            raise DamagedFileError("stored file altered or key wrong") from None
        self.index += 1
        self.done = flag == 1
        return chunk

    def close(self) -> None:
        self.handle.close()


def _remove_stale(folder: Path, older_than: timedelta) -> int:
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for path in folder.glob("*.part"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _fsync_directory(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _says_image(head: bytes, file_name: str | None, mime_type: str | None) -> bool:
    """An image by its first bytes, type or name, including formats we cannot clean (HEIC)."""
    if media_privacy.claims_image(head, file_name, mime_type):
        return True
    if mime_type and mime_type.strip().lower().startswith("image/"):
        return True
    return Path(file_name or "").suffix.lower() in OTHER_IMAGE_SUFFIXES or head[4:12] in (
        b"ftypheic",
        b"ftypheix",
        b"ftypmif1",
        b"ftypavif",
    )


# ------------------------------------------------------------------------------ sources


async def _aiter(source: Source) -> AsyncIterator[bytes]:
    """Bytes, an iterable or an async iterable of bytes, as chunks of at most CHUNK."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        for start in range(0, len(data), CHUNK):
            yield data[start : start + CHUNK]
        return
    if isinstance(source, AsyncIterable):
        async for piece in source:
            if piece:
                yield bytes(piece)
        return
    for piece in _sync(source):
        yield piece


def _sync(source: Iterable[bytes]) -> Iterator[bytes]:
    for piece in source:
        if piece:
            yield bytes(piece)


async def _prepend(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if head:
        yield head
    async for piece in rest:
        yield piece
