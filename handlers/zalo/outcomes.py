"""Zalo's error codes mapped to the outbox's delivery outcomes (ZALO.md, "Errors to classify")."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.kernel.outbox import (
    Blocked,
    DeliveryError,
    NeedsAdministrator,
    OutsideWindow,
    PermanentFailure,
    RetryLater,
)

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
NIGHT_END = time(6, 5)

TOKEN_INVALID = frozenset({-216, -220, 216, -401, 401})
REFRESH_DEAD = frozenset({-118, -14014, -14019, -14005})
UPLOAD_EXPIRED = -100
RATE_LIMITED = -32
OUTSIDE_WINDOW = frozenset({-230, -232})
OUT_OF_QUOTA = frozenset({-211, -218})
NIGHT = -234
BLOCKED = frozenset({-217, -244, -227})
NOT_FOLLOWING = -213


def seconds_until_morning(now: datetime) -> float:
    """Seconds from `now` to the next 06:05 in Asia/Ho_Chi_Minh."""
    local = now.astimezone(LOCAL)
    target = datetime.combine(local.date(), NIGHT_END, LOCAL)
    if target <= local:
        target = datetime.combine(local.date() + timedelta(days=1), NIGHT_END, LOCAL)
    return (target - local).total_seconds()


def outcome_for(
    code: int, now: datetime, *, quota_seconds: float = 3600.0, rate_seconds: float = 60.0
) -> DeliveryError:
    """The outcome for one Zalo error code; `error_class` carries the code, nothing else."""
    name = f"zalo{code}"
    if code == RATE_LIMITED:
        return RetryLater(rate_seconds, name)
    if code in OUTSIDE_WINDOW:
        return OutsideWindow(None, name)
    if code in OUT_OF_QUOTA:
        return OutsideWindow(quota_seconds, name)
    if code == NIGHT:
        return OutsideWindow(seconds_until_morning(now), name)
    if code in BLOCKED:
        return Blocked(name)
    if code in REFRESH_DEAD:
        return NeedsAdministrator(name)
    return PermanentFailure(name)  # -210, -201, -213 and anything not understood
