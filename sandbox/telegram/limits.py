"""Token-bucket flood limits (global, per private chat, per group) with an injectable clock."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

Clock = Callable[[], float]


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


class RateLimiter:
    """Applies LimitsConfig: a call must get a token from the global and the chat bucket."""

    def __init__(self, config: LimitsConfig | None = None, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._config = config or LimitsConfig()
        self._global: TokenBucket | None = None
        self._chats: dict[int, TokenBucket] = {}
        self.configure(self._config)

    @property
    def config(self) -> LimitsConfig:
        return self._config

    def configure(self, config: LimitsConfig) -> None:
        """Install a new config and start every bucket full."""
        self._config = config
        self._chats.clear()
        rate = config.global_rate
        self._global = TokenBucket(rate, config.global_burst, self._clock()) if rate > 0 else None

    def reset(self) -> None:
        self.configure(self._config)

    def _chat_bucket(self, chat_id: int, now: float) -> TokenBucket | None:
        bucket = self._chats.get(chat_id)
        if bucket is not None:
            return bucket
        cfg = self._config
        if chat_id < 0:
            rate, burst = cfg.group_per_minute / 60.0, cfg.group_burst
        else:
            rate, burst = cfg.chat_rate, cfg.chat_burst
        if rate <= 0:
            return None
        bucket = self._chats[chat_id] = TokenBucket(rate, burst, now)
        return bucket

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
        if self._global is not None:
            self._global.take()
        if chat is not None:
            chat.take()
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
