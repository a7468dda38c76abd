"""Encryption at rest: a Fernet cipher, where its data key comes from, and the key check."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from storage.db import Database
from storage.meta import MetaRepository

KEY_CHECK_NAME = "data_key_check"
KEY_CHECK_TEXT = "antq-key-check"
MAX_KEY_FILE_BYTES = 64 * 1024
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}=")  # 32 bytes, URL-safe base64
NEW_KEY_COMMAND = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class DataKeyError(Exception):
    """The data key cannot be used; `text_key` and `params` word the reason for the operator."""

    def __init__(self, message: str, text_key: str, **params: object) -> None:
        super().__init__(message)
        self.text_key = text_key
        self.params = params


class BadKeyError(DataKeyError):
    """A configured or stored key is not a Fernet key."""


class KeyFileError(DataKeyError):
    """The key file is readable by others, or cannot be read or created."""


class WrongKeyError(DataKeyError):
    """A token was not encrypted with any of our keys (wrong key or damaged data)."""


class KeySource(StrEnum):
    CONFIGURED = "configured"  # ANTQ_DATA_KEY
    FILE = "file"  # an existing key file
    CREATED = "created"  # a key file created just now: the operator must back it up


class Cipher:
    """Fernet (AES-128-CBC + HMAC-SHA256) over text; the first key encrypts, any key decrypts."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ValueError("a Cipher needs at least one key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self._count = len(keys)
        raw = [key.encode("ascii") if isinstance(key, str) else key for key in keys]
        # one per key, so that rows filed under an older key are found again after rotation
        self._pseudonym_keys = [hashlib.sha256(b"antq-pseudonym\x00" + key).digest() for key in raw]
        self._pseudonym_key = self._pseudonym_keys[0]

    def __repr__(self) -> str:
        return f"Cipher({self._count} key{'s' if self._count != 1 else ''})"

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode("ascii")

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise WrongKeyError(
                "cannot decrypt: the data key is wrong or the data is damaged",
                "security.key.damaged",
            ) from None

    def pseudonym(self, text: str) -> str:
        """A stable stand-in for an identifier (HMAC with a key derived from the data key).

        Keys rows that must be found again by chat, without the chat id being in the file.
        """
        return hmac.new(self._pseudonym_key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def former_pseudonyms(self, text: str) -> list[str]:
        """The pseudonyms `text` had under the older keys, to re-file what was kept under them."""
        return [
            hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
            for key in self._pseudonym_keys[1:]
        ]

    def rotate(self, token: str) -> str:
        """The same plaintext encrypted again with the first key (after adding a new key)."""
        return self.encrypt(self.decrypt(token))

    def encrypt_json(self, obj: Any) -> str:
        return self.encrypt(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))

    def decrypt_json(self, token: str) -> Any:
        return json.loads(self.decrypt(token))

    def encrypt_optional(self, text: str | None) -> str | None:
        return None if text is None else self.encrypt(text)

    def decrypt_optional(self, token: str | None) -> str | None:
        return None if token is None else self.decrypt(token)


def parse_keys(text: str, text_key: str, **params: object) -> Cipher:
    """Keys separated by commas or new lines; a malformed one is named by position, never shown."""
    keys = [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    if not keys:
        raise _bad_key("the data key is empty", text_key, 1, **params)
    for position, key in enumerate(keys, start=1):
        try:
            if not KEY_PATTERN.fullmatch(key):
                raise ValueError("not 44 characters of URL-safe base64")
            Fernet(key)
        except (ValueError, TypeError):
            raise _bad_key(
                f"data key {position} of {len(keys)} is not a Fernet key "
                "(32 bytes in URL-safe base64, 44 characters)",
                text_key,
                position,
                **params,
            ) from None
    return Cipher(keys)


def _bad_key(message: str, text_key: str, position: int, **params: object) -> BadKeyError:
    return BadKeyError(message, text_key, position=position, command=NEW_KEY_COMMAND, **params)


def load_key(configured: SecretStr | None, key_file: Path) -> tuple[Cipher, KeySource]:
    """The data key from ANTQ_DATA_KEY, else from key_file, else a new key written to key_file.

    A blank ANTQ_DATA_KEY counts as unset. The key file must be readable by its owner only.
    """
    if configured is not None and configured.get_secret_value().strip():
        cipher = parse_keys(configured.get_secret_value(), "security.key.bad_setting")
        return cipher, KeySource.CONFIGURED
    if not key_file.exists():
        try:
            _create_key_file(key_file)
            return _read_key_file(key_file), KeySource.CREATED
        except FileExistsError:
            pass  # created meanwhile by another process: read it like any other
    return _read_key_file(key_file), KeySource.FILE


def _read_key_file(path: Path) -> Cipher:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise _file_error(path, exc) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # checked before fdopen, which refuses a folder
        os.close(fd)
        raise KeyFileError(
            f"{path}: not a regular file",
            "security.key.file_unreadable",
            path=path,
            detail="not a regular file",
        )
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if os.name == "posix" and info.st_mode & 0o077:
            mode = oct(stat.S_IMODE(info.st_mode))[2:]
            raise KeyFileError(
                f"{path}: the data key file can be read by others (mode {mode}); chmod 600 it",
                "security.key.file_permissions",
                path=path,
                mode=mode,
            )
        raw = handle.read(MAX_KEY_FILE_BYTES + 1)
    if len(raw) > MAX_KEY_FILE_BYTES:
        raise _bad_key(f"{path}: too large to be a key file", "security.key.bad_file", 1, path=path)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise _bad_key(f"{path}: not a key file", "security.key.bad_file", 1, path=path) from None
    return parse_keys(text, "security.key.bad_file", path=path)


def _create_key_file(path: Path) -> None:
    """A new key in a file created exclusively with mode 0600 (never over an existing one)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise
    except OSError as exc:
        raise _file_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o600)  # exactly 0600, whatever the umask
            handle.write(Cipher.generate_key().encode("ascii") + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_error(path: Path, exc: OSError) -> KeyFileError:
    detail = exc.strerror or type(exc).__name__
    return KeyFileError(
        f"{path}: {detail}", "security.key.file_unreadable", path=path, detail=detail
    )


async def check_key(db: Database, cipher: Cipher) -> None:
    """On the first start remember a check token; later, refuse a key that cannot read it."""
    token = await MetaRepository(db).set_if_absent(KEY_CHECK_NAME, cipher.encrypt(KEY_CHECK_TEXT))
    try:
        matches = cipher.decrypt(token) == KEY_CHECK_TEXT
    except WrongKeyError:
        matches = False
    if not matches:
        raise WrongKeyError(
            f"the data key does not match this database ({db.path}): start with the key "
            "it was created with (ANTQ_DATA_KEY or the key file)",
            "security.key.wrong",
            database=db.path,
        )
