"""Flood limits (global, per private chat, per group) with an injectable clock.

Two algorithms, because Telegram does not document its own and a bot must do well under both:

* ``bucket`` (the default): a token bucket per limit, refilled at the rate, with a burst;
* ``window``: a strict sliding window, no more than N accepted calls in any window of its
  length (global ``global_rate`` a second, a private chat ``chat_rate`` a second, a group
  ``group_per_minute`` a minute); the bursts do not apply.

A refused call answers 429 with ``retry_after`` (whole seconds, >= 1), like Telegram.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

Clock = Callable[[], float]

ALGORITHMS = ("bucket", "window")
SEND_LOG_SIZE = 200_000  # accepted calls remembered (time, chat) for tests and benchmarks


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    """Flood-control settings; a rate <= 0 switches that bucket off."""

    enabled: bool = True
    global_rate: float = 30.0
    global_burst: int = 30
    chat_rate: float = 1.0
    chat_burst: int = 3
    group_per_minute: float = 20.0
    group_burst: int = 20
    max_text_length: int = 4096
    max_caption_length: int = 1024
    algorithm: str = "bucket"  # "bucket" or "window" (strict sliding window)

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}")

    @classmethod
    def disabled(cls) -> LimitsConfig:
        return cls(enabled=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, data: Mapping[str, Any]) -> LimitsConfig:
        """Return a copy with the given fields changed; unknown fields raise ValueError."""
        types = {f.name: f.type for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, value in data.items():
            if key not in types:
                raise ValueError(f"unknown limits field: {key}")
            kind = types[key]
            if kind == "bool":
                if not isinstance(value, bool):
                    raise ValueError(f"{key} must be a boolean")
                changes[key] = value
            elif kind == "str":
                if value not in ALGORITHMS:
                    raise ValueError(f"{key} must be one of {', '.join(ALGORITHMS)}")
                changes[key] = value
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} must be a number")
            else:
                changes[key] = int(value) if kind == "int" else float(value)
        return replace(self, **changes)


class TokenBucket:
    """Classic token bucket: `capacity` tokens, refilled at `rate` tokens per second."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: int, now: float) -> None:
        self.rate = rate
        self.capacity = float(max(1, capacity))
        self.tokens = self.capacity
        self.stamp = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0.0 when one is available now)."""
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0

    def give_back(self) -> None:
        self.tokens = min(self.capacity, self.tokens + 1.0)


class SlidingWindow:
    """At most `limit` accepted calls in any window of `seconds`; t counts in (t - s, t]."""

    __slots__ = ("limit", "seconds", "stamps")

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = max(1, limit)
        self.seconds = seconds
        self.stamps: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        """Seconds until a call would be accepted (0.0 when it would be accepted now)."""
        stamps = self.stamps
        while stamps and stamps[0] <= now - self.seconds:
            stamps.popleft()
        if len(stamps) < self.limit:
            return 0.0
        return stamps[len(stamps) - self.limit] + self.seconds - now

    def take(self, now: float) -> None:
        self.stamps.append(now)

    def give_back(self) -> None:
        if self.stamps:
            self.stamps.pop()


Limit = TokenBucket | SlidingWindow


class RateLimiter:
    """Applies LimitsConfig: a call must pass the global and the chat limit.

    Every accepted call is logged as (clock time, chat id) in `sent` (the last SEND_LOG_SIZE),
    so tests and benchmarks can check what reached the server in any window.
    """

    def __init__(self, config: LimitsConfig | None = None, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._config = config or LimitsConfig()
        self._global: Limit | None = None
        self._chats: dict[int, Limit] = {}
        self.sent: deque[tuple[float, int | None]] = deque(maxlen=SEND_LOG_SIZE)
        self.configure(self._config)

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def config(self) -> LimitsConfig:
        return self._config

    def configure(self, config: LimitsConfig) -> None:
        """Install a new config and start every bucket full."""
        self._config = config
        self._chats.clear()
        self.sent.clear()
        rate = config.global_rate
        if rate <= 0:
            self._global = None
        elif config.algorithm == "window":
            self._global = SlidingWindow(_per_window(rate), 1.0)
        else:
            self._global = TokenBucket(rate, config.global_burst, self._clock())

    def reset(self) -> None:
        self.configure(self._config)

    def _chat_bucket(self, chat_id: int, now: float) -> Limit | None:
        bucket = self._chats.get(chat_id)
        if bucket is not None:
            return bucket
        cfg = self._config
        group = chat_id < 0
        if group:
            rate, burst = cfg.group_per_minute / 60.0, cfg.group_burst
        else:
            rate, burst = cfg.chat_rate, cfg.chat_burst
        if rate <= 0:
            return None
        limit: Limit
        if cfg.algorithm == "window":
            # a group's limit is per minute, a private chat's per second
            span = 60.0 if group else 1.0
            limit = SlidingWindow(_per_window(rate * span), span)
        else:
            limit = TokenBucket(rate, burst, now)
        self._chats[chat_id] = limit
        return limit

    def acquire(self, chat_id: int | None) -> int:
        """Take a token for a call to `chat_id`; return 0 on success, else retry_after (>= 1)."""
        if not self._config.enabled:
            return 0
        now = self._clock()
        chat = self._chat_bucket(chat_id, now) if chat_id is not None else None
        wait = 0.0
        if self._global is not None:
            wait = self._global.wait_time(now)
        if chat is not None:
            wait = max(wait, chat.wait_time(now))
        if wait > 0.0:
            return max(1, math.ceil(wait - 1e-9))
        for limit in (self._global, chat):
            if isinstance(limit, SlidingWindow):
                limit.take(now)
            elif limit is not None:
                limit.take()
        self.sent.append((now, chat_id))
        return 0

    def release(self, chat_id: int | None) -> None:
        """Give back the tokens of a call that turned out to have no effect."""
        if not self._config.enabled:
            return
        if self._global is not None:
            self._global.give_back()
        bucket = self._chats.get(chat_id) if chat_id is not None else None
        if bucket is not None:
            bucket.give_back()
        if self.sent and self.sent[-1][1] == chat_id:
            self.sent.pop()


def _per_window(count: float) -> int:
    """A window's whole number of calls (30.0 a second -> 30; at least 1)."""
    return max(1, math.floor(count + 1e-9))


def max_in_window(times: list[float], seconds: float = 1.0) -> int:
    """The most calls in any window of `seconds` ((t - seconds, t]), `times` sorted."""
    most, first = 0, 0
    for last, stamp in enumerate(times):
        while times[first] <= stamp - seconds:
            first += 1
        most = max(most, last - first + 1)
    return most
