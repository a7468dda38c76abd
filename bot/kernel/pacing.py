"""The outbox's pacing: never more than the limits in any sliding window, even spacing, and a
rate that drops when Telegram still answers 429 and comes back slowly.

Telegram does not document its flood-control algorithm; a token bucket and a strict sliding
window ("no more than 30 in any second") are both plausible, so the pacer satisfies both:

* overall, sends are spaced evenly at `rate` a second (no burst, not even when a push starts
  or after a pause; Telegram's 30 by default), and a hard guard counted from the answers keeps
  any window of one second at that many at most, however late or bunched requests arrive
  (see GlobalPace), so the spacing needs no margin of its own;
* per chat, a token bucket whose clock does not run while the chat's request is in flight
  (Telegram counts it somewhere between our sending it and its answer); with a burst of 1 a
  private chat gets at most one message a second, measured from the previous answer;
* a 429 that still comes cuts the rate multiplicatively (and lowers the ceiling it recovers
  to), and the rate climbs back linearly, so the rest of the push goes slower instead of
  pausing and bursting again. After a quiet spell the configured rate is restored.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

# A chat's wait gets this margin on top: its request's arrival is not exactly its answer.
CHAT_MARGIN = 0.05
MAX_CHAT_BUCKETS = 10_000

WINDOW = 1.0  # seconds: the overall limit holds in any window this long
CATCH_UP = 0.5  # a late send may take up to this share of one interval back, never more
DECREASE = 0.7  # a 429 multiplies the rate by this
CEILING_DECREASE = 0.9  # ... and the rate it recovers to becomes this share of the old rate
RECOVERY = 0.02  # share of the configured rate regained per second of sending
MIN_SHARE = 0.1  # the rate never goes below this share of the configured rate
CUT_HOLD = 1.0  # 429s within this many seconds of a cut are one event (they were in flight)
RESET_AFTER = 60.0  # seconds without a send: the next push starts at the configured rate


class ChatBucket:
    """Token bucket on the monotonic clock: `capacity` tokens, refilled at `rate` per second."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: int, now: float) -> None:
        self.rate = rate
        self.capacity = float(max(1, capacity))
        self.tokens = self.capacity
        self.stamp = now

    def wait(self, now: float) -> float:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0

    def hold(self, now: float) -> None:
        """No refill up to `now` (the chat's request was in flight until then)."""
        self.stamp = max(self.stamp, now)

    def idle(self, now: float) -> bool:
        return self.wait(now) == 0.0 and self.tokens >= self.capacity


class GlobalPace:
    """Evenly spaced sends at an adaptive rate, under a hard guard that holds whatever the
    delays between our sending a request and Telegram counting it.

    Telegram counts a request when it arrives, at some moment between our sending it and its
    answer. If a window of one second held `limit + 1` arrivals, the last one sent (at t) would
    find the others sent before t and either still in flight or answered after t - 1 s. So a
    send waits while `limit` requests are in flight or were answered within the last second:
    no window can then hold more than `limit`, however bunched the arrivals are.
    """

    def __init__(self, rate: float, limit: int) -> None:
        self.target = rate
        self.rate = rate
        self.ceiling = rate
        self.limit = max(1, limit)
        self.minimum = max(rate * MIN_SHARE, 1e-3)
        self._next = -math.inf  # the earliest moment of the next send
        self._in_flight = 0
        self._answers: deque[float] = deque()  # answers of the last WINDOW
        self._last_send = -math.inf
        self._last_cut = -math.inf
        self._updated = -math.inf
        self.cuts = 0

    @property
    def cap(self) -> int:
        """Requests that may be in flight or answered in the last WINDOW (see the class)."""
        return max(1, min(self.limit, math.floor(self.rate * WINDOW + 1e-9) + 1))

    def wait(self, now: float) -> float:
        self._refresh(now)
        wait = self._next - now
        answers = self._answers
        while answers and answers[0] <= now - WINDOW:
            answers.popleft()
        over = self._in_flight + len(answers) - self.cap + 1
        if over > 0:
            if over <= len(answers):  # the over-th oldest answer leaves the window
                wait = max(wait, answers[over - 1] + WINDOW - now + 1e-6)
            else:  # only an answer can free a place; the sender is woken by it
                wait = max(wait, WINDOW)
        return max(0.0, wait)

    def take(self, now: float) -> None:
        interval = 1.0 / self.rate
        # the schedule may fall behind `now` by a fraction of an interval (timers wake late),
        # never by more: time nobody used is not saved up for a burst
        self._next = max(self._next, now - CATCH_UP * interval) + interval
        self._in_flight += 1
        self._last_send = now

    def answered(self, now: float) -> None:
        self._in_flight = max(0, self._in_flight - 1)
        self._answers.append(now)

    def slow_down(self, now: float) -> bool:
        """A 429 came: cut the rate; False when it belongs to a cut just made."""
        if now - self._last_cut < CUT_HOLD:
            return False
        self._refresh(now)
        self.ceiling = max(self.minimum, min(self.ceiling, self.rate * CEILING_DECREASE))
        self.rate = max(self.minimum, self.rate * DECREASE)
        self._last_cut = now
        self.cuts += 1
        # the cut applies to the very next send: no catching up at the old pace
        self._next = max(self._next, now)
        return True

    def _refresh(self, now: float) -> None:
        if self._last_send > -math.inf and now - self._last_send > RESET_AFTER:
            self.rate = self.ceiling = self.target
            self._last_send = -math.inf
        if self.rate < self.ceiling and self._updated > -math.inf:
            gained = max(0.0, now - self._updated) * RECOVERY * self.target
            self.rate = min(self.ceiling, self.rate + gained)
        self._updated = now


class Pacer:
    """When each send may go: the overall pace and one bucket per chat (a group's is slower)."""

    def __init__(
        self,
        *,
        global_rate: float,
        per_chat_rate: float,
        per_chat_burst: int,
        group_per_minute: float,
        group_burst: int,
        global_limit: int | None = None,
        is_group: Callable[[str], bool] = lambda chat: False,
    ) -> None:
        self.is_group = is_group
        limit = global_limit or max(1, math.ceil(global_rate - 1e-9))  # 30 a second: 30
        self.global_pace = GlobalPace(global_rate, limit) if global_rate > 0 else None
        self.per_chat_rate, self.per_chat_burst = per_chat_rate, per_chat_burst
        self.group_rate, self.group_burst = group_per_minute / 60.0, group_burst
        self._chats: dict[str, ChatBucket] = {}
        self._in_flight: set[str] = set()

    @property
    def rate(self) -> float:
        """The overall rate now (messages a second; inf when unpaced)."""
        return self.global_pace.rate if self.global_pace is not None else math.inf

    def global_wait(self, now: float) -> float:
        return self.global_pace.wait(now) if self.global_pace is not None else 0.0

    def chat_wait(self, chat: str, now: float) -> float:
        """Seconds until `chat` may get its next message (margin included); 0.0: now."""
        bucket = self._bucket(chat, now)
        wait = bucket.wait(now) if bucket is not None else 0.0
        return wait + CHAT_MARGIN if wait > 0 else 0.0

    def take(self, chat: str, now: float) -> None:
        """A send to `chat` goes now (after both waits were 0)."""
        bucket = self._bucket(chat, now)
        if bucket is not None:
            bucket.take()
        if self.global_pace is not None:
            self.global_pace.take(now)
        self._in_flight.add(chat)

    def answered(self, chat: str, now: float) -> None:
        """The chat's request came back: its bucket refills only from now."""
        self._in_flight.discard(chat)
        if self.global_pace is not None:
            self.global_pace.answered(now)
        bucket = self._chats.get(chat)
        if bucket is not None:
            bucket.hold(now)

    def slow_down(self, now: float) -> bool:
        """A 429 despite the pacing: slow down for the rest of the push."""
        return self.global_pace.slow_down(now) if self.global_pace is not None else False

    def _bucket(self, chat: str, now: float) -> ChatBucket | None:
        bucket = self._chats.get(chat)
        if bucket is not None:
            return bucket
        group = self.is_group(chat)
        rate = self.group_rate if group else self.per_chat_rate
        if rate <= 0:
            return None
        if len(self._chats) >= MAX_CHAT_BUCKETS:
            self._chats = {
                c: b for c, b in self._chats.items() if c in self._in_flight or not b.idle(now)
            }
        burst = self.group_burst if group else self.per_chat_burst
        bucket = self._chats[chat] = ChatBucket(rate, burst, now)
        return bucket
