"""Receipt codes and passphrases for tips, an attempt limiter, and anonymous rate-limit keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import secrets
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from content import CONTENT_DIR, ContentError
from content.texts import fold

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_LENGTH = 8
CODE_TYPOS = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
CODE_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_.·]+")

WORDS_FILE = CONTENT_DIR / "data" / "passphrase_words.txt"
PASSPHRASE_WORDS = 5
MIN_ENTROPY_BITS = 40
WORD_PATTERN = re.compile(r"[a-z]{1,8}")
# Syllables that, unaccented, let two words of a passphrase read as an insult ("me-thang")
# or are rude on their own: never in the list a tipster has to write down and type.
UNFIT_WORDS = frozenset({"me", "thang", "dit", "lon", "cac", "buoi", "deo", "dech", "cut", "du"})

SCRYPT_N = 2**14  # 16 MiB of memory and about 50 ms per hash
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_MAX_N = 2**17
SALT_BYTES = 16
HASH_BYTES = 32


# ------------------------------------------------------------------------------ receipt codes


def new_code() -> str:
    """A fresh random receipt code, XXXX-XXXX (40 bits); the caller checks it is not taken."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{chars[:4]}-{chars[4:]}"


def normalize_code(typed: str) -> str | None:
    """The canonical XXXX-XXXX for what a person typed (case, spaces, dashes, O/0, I/L/1, U/V)."""
    if len(typed) > 64:
        return None
    chars = CODE_SEPARATORS.sub("", typed).upper().translate(CODE_TYPOS)
    if len(chars) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in chars):
        return None
    return f"{chars[:4]}-{chars[4:]}"


# -------------------------------------------------------------------------------- passphrases


def load_words(path: Path = WORDS_FILE) -> tuple[str, ...]:
    """The passphrase syllables: lower-case a-z, unique, and enough of them for the entropy."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ContentError(f"{path.name}: {exc}") from exc
    words = [line.strip() for line in lines if line.strip()]
    bad = [word for word in words if not WORD_PATTERN.fullmatch(word)]
    if bad:
        raise ContentError(f"{path.name}: only a-z syllables without diacritics: {bad[:5]}")
    unfit = sorted(set(words) & UNFIT_WORDS)
    if unfit:
        raise ContentError(f"{path.name}: syllables that can read as an insult: {unfit}")
    twice = sorted(word for word, count in Counter(words).items() if count > 1)
    if twice:
        raise ContentError(f"{path.name}: listed twice: {twice[:5]}")
    if PASSPHRASE_WORDS * math.log2(max(len(words), 1)) < MIN_ENTROPY_BITS:
        raise ContentError(
            f"{path.name}: {len(words)} syllables give less than {MIN_ENTROPY_BITS} bits"
        )
    return tuple(words)


@cache
def _words() -> tuple[str, ...]:
    return load_words()


def passphrase_entropy_bits() -> float:
    return PASSPHRASE_WORDS * math.log2(len(_words()))


def new_passphrase() -> str:
    """Five random syllables joined by dashes, e.g. ``hoa-sen-trang-que-vui``.

    The syllables are drawn uniformly (secrets.choice) from content/data/passphrase_words.txt:
    plain Vietnamese syllables without diacritics or digits, easy to read aloud and to copy onto
    paper. With the 420 listed that is 5 × log2(420) ≈ 43.6 bits of entropy
    (passphrase_entropy_bits() computes it from the list loaded; a list giving under 40 bits is
    refused). Verification ignores case, diacritics, spaces and dashes; the few word sequences
    that run together into the same letters cost a negligible fraction of a bit.
    """
    words = _words()
    return "-".join(secrets.choice(words) for _ in range(PASSPHRASE_WORDS))


def normalize_passphrase(typed: str) -> str:
    """Only the letters and digits, folded: 'Hoa Sen-TRẮNG' and 'hoasentrang' are the same."""
    return re.sub(r"[^a-z0-9]", "", fold(typed))


def hash_passphrase(passphrase: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of the normalised passphrase, with a random salt."""
    normalized = normalize_passphrase(passphrase)
    if not normalized:
        raise ValueError("an empty passphrase cannot be hashed")
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(normalized, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_passphrase(passphrase: str, stored: str) -> bool:
    """Whether passphrase matches a hash_passphrase result, compared in constant time.

    A malformed stored hash raises ValueError: it is a fault in the data, not a wrong guess.
    """
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("not a passphrase hash")
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        raise ValueError("not a passphrase hash") from None
    if not (1 < n <= SCRYPT_MAX_N and n & (n - 1) == 0 and 0 < r <= 16 and 0 < p <= 4):
        raise ValueError("passphrase hash parameters out of range")
    normalized = normalize_passphrase(passphrase)
    if not normalized or not expected:
        return False
    actual = _scrypt(normalized, salt, n, r, p, len(expected))
    return hmac.compare_digest(actual, expected)


def _scrypt(text: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    memory = 128 * r * n * p + 128 * r * (n + 2) + 1024 * 1024
    return hashlib.scrypt(
        text.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=memory
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise ValueError("bad base64") from None


# ----------------------------------------------------------------------------- attempt limits


class AttemptLimiter:
    """At most max_attempts events per key within a sliding window, in memory only.

    Count failures (wrong lookup codes: one limiter per chat and one with a shared key for a
    global budget) or any other event (reports sent per sender). Memory is bounded: keys whose
    events have all expired are dropped, and beyond max_keys the least recently used key goes.
    """

    def __init__(
        self,
        max_attempts: int,
        window: timedelta,
        clock_now: Callable[[], datetime],
        max_keys: int = 10_000,
    ) -> None:
        if max_attempts < 1 or window <= timedelta(0) or max_keys < 1:
            raise ValueError("max_attempts, window and max_keys must be positive")
        self.max_attempts = max_attempts
        self.window = window
        self._now = clock_now
        self.max_keys = max_keys
        # Only the latest max_attempts events matter; keys ordered by their latest event.
        self._events: OrderedDict[Hashable, deque[datetime]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._events)

    def allowed(self, key: Hashable) -> bool:
        return self._live(key, self._now()) < self.max_attempts

    def record_failure(self, key: Hashable) -> None:
        """Count one event for key (a failed attempt, or e.g. a report sent)."""
        now = self._now()
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque(maxlen=self.max_attempts)
        events.append(now)
        self._events.move_to_end(key)
        self._evict(now)

    record = record_failure

    def reset(self, key: Hashable) -> None:
        self._events.pop(key, None)

    def retry_after(self, key: Hashable) -> timedelta:
        """How long until key is allowed again; zero when it is allowed now."""
        now = self._now()
        if self._live(key, now) < self.max_attempts:
            return timedelta(0)
        return self._events[key][0] + self.window - now

    def _live(self, key: Hashable, now: datetime) -> int:
        events = self._events.get(key)
        if events is None:
            return 0
        while events and events[0] <= now - self.window:
            events.popleft()
        if not events:
            del self._events[key]
            return 0
        return len(events)

    def _evict(self, now: datetime) -> None:
        horizon = now - self.window
        while self._events:
            oldest_key, events = next(iter(self._events.items()))
            if len(self._events) > self.max_keys or events[-1] <= horizon:
                del self._events[oldest_key]
            else:
                break


class AnonymousKeyer:
    """A rate-limit key for a chat that identifies no one outside this process.

    HMAC-SHA256 of the chat id under a random salt made at start and held only in memory (never
    stored, never logged): the same chat gets the same key until the process restarts, and the
    key cannot be turned back into a chat id from anything written down.
    """

    __slots__ = ("__salt",)

    def __init__(self) -> None:
        self.__salt = secrets.token_bytes(32)

    def __repr__(self) -> str:
        return "AnonymousKeyer()"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("AnonymousKeyer holds an in-memory salt and cannot be pickled or copied")

    def key(self, chat_id: str) -> str:
        return hmac.new(self.__salt, str(int(chat_id)).encode("ascii"), hashlib.sha256).hexdigest()
