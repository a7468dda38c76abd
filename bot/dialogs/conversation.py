"""Runs a person's open dialog: load state, step the engine, commit, and only then answer."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.chat.ref import ChatRef
from bot.chat.reply import Reply
from bot.dialogs.engine import (
    Attachment,
    DialogEngine,
    DialogState,
    Incoming,
    StepResult,
    Upload,
    stored_ref,
)
from bot.kernel.clock import Clock
from bot.kernel.files import TOO_LARGE, FetchError, FileStore, Refusal, StoredFile
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

Fetcher = Callable[[Upload], AsyncIterable[bytes]]
"""A channel's download of a file a person sent (bounded; raises FetchError when it fails)."""

CLEANED_NOTE = "files.cleaned"


def _same(text: str) -> str:
    return text


DIALOG_EXPIRY = timedelta(hours=24)
"""An open dialog untouched this long is dropped (its stored row by the daily retention job,
one held in memory when next looked at): nothing keyed by a chat's pseudonym stays forever."""


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
        in_memory: frozenset[str] = frozenset(),
        files: FileStore | None = None,
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
        # Dialogs whose state would link a chat to an anonymous tip (the receipt step after a
        # tip, the passphrase and follow-up of /tracuu): held in this process only, never in
        # the database under the chat's pseudonym (F6). A restart forgets them: the person
        # types /tracuu again; the receipt's code and passphrase were already shown.
        self.in_memory = in_memory
        self._held: dict[str, tuple[str, datetime]] = {}
        self.files = files  # where accepted files are kept, cleaned and encrypted
        self.fetchers: dict[str, Fetcher] = {}  # per channel: set by the channel that has files
        # bytes already stored for what the dialog's context names (a report being added to)
        self.stored_before: Callable[[Mapping[str, str]], Awaitable[int]] | None = None
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
        held = self._held_state(self._owner(chat))
        if held is not None:
            return DialogState.model_validate_json(self.unseal(held))
        raw = await self.states.get(self._owner(chat))
        if raw is None:
            raw = await self._refile(chat)
        return DialogState.model_validate_json(self.unseal(raw)) if raw else None

    def _held_state(self, owner: str) -> str | None:
        """A dialog held in memory, unless it expired (then it is dropped)."""
        now = self.clock.now()
        for key, (_, at) in list(self._held.items()):
            if now - at > DIALOG_EXPIRY:
                del self._held[key]
        held = self._held.get(owner)
        return held[0] if held else None

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
        replaced = await self.current(chat)
        # the channel goes into the dialog's context: texts with a variant per channel use it
        context = {**self.common_context, **(context or {}), "channel": chat.channel}
        result = await self.engine.start(dialog_id, context)
        answer = await self._settle(chat, dialog_id, result)
        await self._discard_files(replaced)
        return answer

    async def handle(self, chat: ChatRef, incoming: Incoming) -> Answer | None:
        """Feed input to the open dialog; None when the person has no open dialog."""
        state = await self.current(chat)
        if state is None:
            return None
        seq = state.seq
        step = self.engine.current_step(state)
        tell_cleaned = isinstance(step, AttachmentsStep) and step.sanitize
        stored = await self._store_upload(chat, state, incoming)
        if isinstance(stored, Refusal):
            prompt = await self.engine.prompt(state)
            problem = self.texts.get(
                stored.reason_key, **{**stored.params, "channel": chat.channel}
            )
            return Answer([Reply(f"{problem}\n\n{prompt.text}", prompt.buttons)], problem)
        result = await self.engine.step(state, incoming)
        if stored is not None and stored.cleaned and tell_cleaned and result.replies:
            first = result.replies[0]
            note = self.texts.get(CLEANED_NOTE, channel=chat.channel)
            result.replies[0] = Reply(f"{note}\n{first.text}", first.buttons)
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
        state = await self.current(chat)  # one kept under an older key's pseudonym is closed too
        held = self._held.pop(self._owner(chat), None) is not None
        async with self.db.transaction() as tx:
            existed = await self.states.get_in(tx, self._owner(chat)) is not None
            await self.states.delete(tx, self._owner(chat))
        await self._discard_files(state)
        return existed or held

    async def _discard_files(self, state: DialogState | None) -> None:
        """The stored files of a dialog closed without being submitted: nobody will need them."""
        if state is None or self.files is None:
            return
        for answer in _attachments(state):
            await self.files.delete(stored_ref(answer))  # a Telegram file id is left alone

    async def _store_upload(
        self, chat: ChatRef, state: DialogState, incoming: Incoming
    ) -> StoredFile | Refusal | None:
        """Fetch a file the channel still holds into the store, cleaned, before the engine sees it.

        Only where the dialog asks for a file of that kind and has room for it; every image is
        re-encoded without metadata, and a step marked `sanitize` (anonymous tips) takes images
        only. None when there was nothing to fetch.
        """
        upload = incoming.upload
        if upload is None:
            return None
        incoming.upload = None
        step = self.engine.current_step(state)
        if not isinstance(step, AttachmentsStep):
            return None  # the engine answers that it expects something else
        if upload.kind not in step.kinds:
            return Refusal("dialog.error.file_kind")
        taken = list(state.answers.get(step.id) or [])
        if len(taken) >= step.max_files:
            return Refusal("dialog.error.too_many_files", {"max": step.max_files})
        fetch = self.fetchers.get(chat.channel)
        if self.files is None or fetch is None:
            return Refusal("dialog.error.file_kind")
        if upload.size is not None and upload.size > self.files.max_file_bytes:
            return Refusal(TOO_LARGE, {"mb": self.files.max_file_bytes // (1024 * 1024)})
        used = sum(int(a.get("size") or 0) for a in _attachments(state))
        if self.stored_before is not None:
            used += await self.stored_before(state.context)
        try:
            stored = await self.files.take(
                fetch(upload),
                kind=upload.kind,
                file_name=upload.file_name,
                mime_type=upload.mime_type,
                number=len(taken) + 1,
                images_only=step.sanitize,
                room=self.files.max_report_bytes - used,
            )
        except FetchError:
            return Refusal("files.unavailable")
        if isinstance(stored, StoredFile):
            incoming.attachment = Attachment(
                kind=upload.kind,
                stored_id=stored.id,
                file_name=stored.file_name,
                mime_type=stored.mime_type,
                size=stored.size,
            )
        return stored

    async def _settle(self, chat: ChatRef, dialog_id: str, result: StepResult) -> Answer:
        """Commit the outcome of a step; the replies are returned only after the commit."""
        replies = list(result.replies)
        owner = self._owner(chat)
        held: str | None = None
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
            if state is not None and state.dialog in self.in_memory:
                held = self.seal(state.model_dump_json())
                await self.states.delete(tx, owner)
            elif state is not None:
                sealed = self.seal(state.model_dump_json())
                await self.states.put(tx, owner, state.dialog, sealed, self.clock.now())
            else:
                await self.states.delete(tx, owner)
        if held is not None:  # only once committed, as a stored state would be
            self._held[owner] = (held, self.clock.now())
        else:
            self._held.pop(owner, None)
        if result.outcome == "finished" and self.after_commit is not None:
            self.after_commit()
        return Answer(replies, result.notice)


def _attachments(state: DialogState) -> list[dict[str, Any]]:
    """Every file a dialog has accepted so far, over all its steps (one report's budget)."""
    found: list[dict[str, Any]] = []
    for value in state.answers.values():
        if isinstance(value, list):
            found += [
                a for a in value if isinstance(a, dict) and ("stored_id" in a or "file_id" in a)
            ]
    return found


def _is_file(answer: dict[str, Any]) -> bool:
    return "stored_id" in answer or "file_id" in answer
