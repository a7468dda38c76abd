"""Runs a person's open dialog: load state, step the engine, commit, and only then answer."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.chat.ref import ChatRef
from bot.chat.reply import Reply
from bot.dialogs.engine import Attachment, DialogEngine, DialogState, Incoming, StepResult
from bot.kernel.clock import Clock
from content.schema import AttachmentsStep
from content.texts import Texts
from storage.db import Database, Transaction
from storage.dialog_states import DialogStateRepository


@dataclass
class Finish:
    """What a finished dialog leads to: replies, and possibly the next dialog to open."""

    replies: list[Reply] = field(default_factory=list)
    next_dialog: str | None = None
    next_context: dict[str, str] = field(default_factory=dict)


Finisher = Callable[[Transaction, ChatRef, dict[str, Any], dict[str, str]], Awaitable[Finish]]
"""Stores what a finished dialog collected (answers, context) in the transaction closing it."""

Sanitizer = Callable[[ChatRef, Attachment], Awaitable[Attachment | str]]
"""Cleans a file of hidden metadata before a dialog accepts it; a str is a refusal's text key."""


def _same(text: str) -> str:
    return text


@dataclass
class Answer:
    replies: list[Reply] = field(default_factory=list)
    notice: str | None = None  # short feedback on a button press: a toast, or a message
    advanced: bool = False  # the dialog moved on (or ended), so older buttons are stale
    alert: bool = False  # the notice matters: a channel with toasts shows it as an alert


class Conversations:
    def __init__(
        self,
        db: Database,
        engine: DialogEngine,
        texts: Texts,
        clock: Clock,
        finishers: Mapping[str, Finisher],
        *,
        seal: Callable[[str], str] = _same,
        unseal: Callable[[str], str] = _same,
        pseudonym: Callable[[str], str] = _same,
        after_commit: Callable[[], None] | None = None,
        common_context: Mapping[str, str] | None = None,
        former_pseudonyms: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.db = db
        self.engine = engine
        self.texts = texts
        self.clock = clock
        self.finishers = dict(finishers)
        self.states = DialogStateRepository(db)
        self.seal = seal  # open dialogs hold what people typed: stored encrypted
        self.unseal = unseal
        self.pseudonym = pseudonym  # open dialogs are filed under this, not under the chat id
        self.after_commit = after_commit
        # what every dialog's texts may name, e.g. how long content is kept (a setting)
        self.common_context = dict(common_context or {})
        self.former_pseudonyms = former_pseudonyms  # after a key rotation: where rows were
        self.sanitizer: Sanitizer | None = None  # set by the channel that can fetch files
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
        raw = await self.states.get(self._owner(chat))
        if raw is None:
            raw = await self._refile(chat)
        return DialogState.model_validate_json(self.unseal(raw)) if raw else None

    def _owner(self, chat: ChatRef) -> str:
        return self.pseudonym(f"{chat.channel}:{chat.chat_id}")

    def _former_owners(self, chat: ChatRef) -> list[str]:
        if self.former_pseudonyms is None:
            return []
        return self.former_pseudonyms(f"{chat.channel}:{chat.chat_id}")

    async def _refile(self, chat: ChatRef) -> str | None:
        """A dialog filed under an older key's pseudonym (the data key was rotated), moved to
        the current one; None if there is none."""
        for former in self._former_owners(chat):
            raw = await self.states.get(former)
            if raw is None:
                continue
            state = DialogState.model_validate_json(self.unseal(raw))
            async with self.db.transaction() as tx:
                await self.states.put(tx, self._owner(chat), state.dialog, raw, self.clock.now())
                await self.states.delete(tx, former)
            return raw
        return None

    async def begin(
        self, chat: ChatRef, dialog_id: str, context: Mapping[str, str] | None = None
    ) -> Answer:
        """Start a dialog, replacing any open one."""
        await self._refile(chat)  # so that one kept under an older key is replaced, not orphaned
        # the channel goes into the dialog's context: texts with a variant per channel use it
        context = {**self.common_context, **(context or {}), "channel": chat.channel}
        result = await self.engine.start(dialog_id, context)
        return await self._settle(chat, dialog_id, result)

    async def handle(self, chat: ChatRef, incoming: Incoming) -> Answer | None:
        """Feed input to the open dialog; None when the person has no open dialog."""
        state = await self.current(chat)
        if state is None:
            return None
        seq = state.seq
        refusal = await self._sanitize(chat, state, incoming)
        if refusal is not None:
            prompt = await self.engine.prompt(state)
            problem = self.texts.get(refusal)
            return Answer([Reply(f"{problem}\n\n{prompt.text}", prompt.buttons)], problem)
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
        await self.current(chat)  # one kept under an older key's pseudonym is closed too
        async with self.db.transaction() as tx:
            existed = await self.states.get_in(tx, self._owner(chat)) is not None
            await self.states.delete(tx, self._owner(chat))
        return existed

    async def _sanitize(self, chat: ChatRef, state: DialogState, incoming: Incoming) -> str | None:
        """Swap a document for its cleaned copy where the step asks; a refusal's key otherwise."""
        step = self.engine.current_step(state)
        attachment = incoming.attachment
        if not (isinstance(step, AttachmentsStep) and step.sanitize and attachment):
            return None
        if attachment.kind != "document" or attachment.kind not in step.kinds:
            return None
        if self.sanitizer is None:
            return "dialog.error.file_kind"
        cleaned = await self.sanitizer(chat, attachment)
        if isinstance(cleaned, str):
            return cleaned
        incoming.attachment = cleaned
        return None

    async def _settle(self, chat: ChatRef, dialog_id: str, result: StepResult) -> Answer:
        """Commit the outcome of a step; the replies are returned only after the commit."""
        replies = list(result.replies)
        async with self.db.transaction() as tx:
            state = result.state if result.outcome == "continue" else None
            if result.outcome == "finished":
                finish = await self.finishers[dialog_id](tx, chat, result.answers, result.context)
                replies += finish.replies
                if finish.next_dialog:
                    following = await self.engine.start(
                        finish.next_dialog,
                        {**self.common_context, **finish.next_context, "channel": chat.channel},
                    )
                    replies += following.replies
                    state = following.state
            if state is not None:
                await self.states.put(
                    tx,
                    self._owner(chat),
                    state.dialog,
                    self.seal(state.model_dump_json()),
                    self.clock.now(),
                )
            else:
                await self.states.delete(tx, self._owner(chat))
        if result.outcome == "finished" and self.after_commit is not None:
            self.after_commit()
        return Answer(replies, result.notice)
