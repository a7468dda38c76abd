"""Telegram may deliver an update twice (a webhook retried after a timeout, polling after a
crash before the offset was confirmed): each update_id is handled once."""

from __future__ import annotations

from collections import OrderedDict

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

RECENT_KEY = "recent_update_ids"
REMEMBERED = 10_000  # update ids; Telegram redelivers within minutes, far fewer than this


class RecentUpdates:
    """A bounded memory of the update ids seen lately."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self.size = size
        self._seen: OrderedDict[int, None] = OrderedDict()

    def first_time(self, update_id: int) -> bool:
        """True the first time an id is seen; it is remembered from then on (the oldest go)."""
        if update_id in self._seen:
            return False
        self._seen[update_id] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True


async def drop_repeats(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every other handler: a repeated update goes no further."""
    if not isinstance(update, Update):
        return
    recent = context.bot_data.setdefault(RECENT_KEY, RecentUpdates())
    if not recent.first_time(update.update_id):
        raise ApplicationHandlerStop
