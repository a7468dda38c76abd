"""Runs a person's open dialog: load state, step the engine, commit, and only then answer."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock
from bot.dialogs import DialogEngine, DialogState, Incoming, Reply, StepResult
from content.texts import Texts
from storage.db import Database, Transaction
from storage.dialog_states import DialogStateRepository


@dataclass(frozen=True)
class ChatRef:
    """A private conversation on one channel (telegram today, zalo later)."""

    channel: str
    chat_id: int


Finisher = Callable[[Transaction, ChatRef, dict[str, Any]], Awaitable[list[Reply]]]
"""Stores what a finished dialog collected, inside the transaction that closes the dialog."""


@dataclass
class Answer:
    replies: list[Reply] = field(default_factory=list)
    notice: str | None = None  # short toast for a button press
    advanced: bool = False  # the dialog moved on (or ended), so older buttons are stale


class Conversations:
    def __init__(
        self,
        db: Database,
        engine: DialogEngine,
        texts: Texts,
        clock: Clock,
        finishers: Mapping[str, Finisher],
    ) -> None:
        self.db = db
        self.engine = engine
        self.texts = texts
        self.clock = clock
        self.finishers = dict(finishers)
        self.states = DialogStateRepository(db)
        self._locks: weakref.WeakValueDictionary[ChatRef, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def lock(self, chat: ChatRef) -> asyncio.Lock:
        """One update at a time per chat, so that two quick presses cannot race on one state."""
        lock = self._locks.get(chat)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[chat] = lock
        return lock

    async def current(self, chat: ChatRef) -> DialogState | None:
        raw = await self.states.get(chat.channel, chat.chat_id)
        return DialogState.model_validate_json(raw) if raw else None

    async def begin(
        self, chat: ChatRef, dialog_id: str, context: Mapping[str, str] | None = None
    ) -> Answer:
        """Start a dialog, replacing any open one."""
        result = await self.engine.start(dialog_id, context)
        return await self._settle(chat, dialog_id, result)

    async def handle(self, chat: ChatRef, incoming: Incoming) -> Answer | None:
        """Feed input to the open dialog; None when the person has no open dialog."""
        state = await self.current(chat)
        if state is None:
            return None
        seq = state.seq
        result = await self.engine.step(state, incoming)
        answer = await self._settle(chat, state.dialog, result)
        answer.advanced = result.state is None or result.state.seq != seq
        return answer

    async def prompt_again(self, chat: ChatRef, lead_key: str) -> Answer | None:
        """The open dialog's current question, preceded by a short explanation."""
        state = await self.current(chat)
        if state is None:
            return None
        reply = await self.engine.prompt(state)
        lead = self.texts.get(lead_key)
        return Answer([Reply(f"{lead}\n\n{reply.text}", reply.buttons)])

    async def cancel(self, chat: ChatRef) -> bool:
        """Close the open dialog without storing what it collected; False if there was none."""
        async with self.db.transaction() as tx:
            existed = await self.states.get(chat.channel, chat.chat_id) is not None
            await self.states.delete(tx, chat.channel, chat.chat_id)
        return existed

    async def _settle(self, chat: ChatRef, dialog_id: str, result: StepResult) -> Answer:
        """Commit the outcome of a step; the replies are returned only after the commit."""
        replies = list(result.replies)
        async with self.db.transaction() as tx:
            if result.outcome == "continue" and result.state is not None:
                await self.states.put(
                    tx,
                    chat.channel,
                    chat.chat_id,
                    result.state.dialog,
                    result.state.model_dump_json(),
                    self.clock.now(),
                )
            else:
                await self.states.delete(tx, chat.channel, chat.chat_id)
                if result.outcome == "finished":
                    replies += await self.finishers[dialog_id](tx, chat, result.answers)
        return Answer(replies, result.notice)
