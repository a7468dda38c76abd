"""The guided-dialog engine: (dialog, state, input) -> (state, replies); no channel, no I/O."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field

from bot.chat.buttons import ButtonFamily
from bot.chat.paging import paging_buttons
from bot.chat.reply import Button, Reply
from bot.kernel.hygiene import clean_input, visible_length
from content.schema import (
    AttachmentsStep,
    ChoiceStep,
    ConfirmStep,
    DateStep,
    DialogSpec,
    FileKind,
    LocationStep,
    Option,
    PhoneStep,
    Step,
    TextStep,
)
from content.texts import Texts, fold

# ---------------------------------------------------------------- what comes in and goes out


class Attachment(BaseModel):
    """A file a dialog accepted: its id in the bot's file store (bot/kernel/files.py).

    States saved before the store hold `file_id` (a Telegram file id): they still load, the
    value landing in `stored_id`; `stored_ref` reads either from an answer.
    """

    kind: FileKind
    stored_id: str = Field(validation_alias=AliasChoices("stored_id", "file_id"))
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None


def stored_ref(answer: Mapping[str, Any]) -> str:
    """The file reference of an attachment answer, written before or after the file store."""
    return str(answer.get("stored_id") or answer["file_id"])


class Upload(BaseModel):
    """A file as a channel announced it, not yet fetched into the store."""

    kind: FileKind
    channel_file_id: str
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None


class Incoming(BaseModel):
    """One thing a person did, in channel-neutral form."""

    kind: Literal["text", "button", "attachment", "location", "contact", "unsupported"]
    text: str | None = None
    data: str | None = None
    attachment: Attachment | None = None  # a file already in the store
    upload: Upload | None = None  # a file the channel still holds; stored before the engine sees it
    latitude: float | None = None
    longitude: float | None = None
    phone: str | None = None
    context_text: str | None = None  # for a button: the text of the message it was under


class DialogState(BaseModel):
    """Where a person is in a dialog; round-trips through JSON to be stored after each step."""

    dialog: str
    step: str
    seq: int = 0
    answers: dict[str, Any] = Field(default_factory=dict)
    display: dict[str, str] = Field(default_factory=dict)
    history: list[str] = Field(default_factory=list)
    query: str | None = None
    page: int = 0
    shown: list[str] = Field(default_factory=list)
    shown_labels: list[str] = Field(default_factory=list)
    return_to: str | None = None
    editing: bool = False  # the summary shows its short list of fields to change
    context: dict[str, str] = Field(default_factory=dict)


Outcome = Literal["continue", "finished", "cancelled"]


@dataclass
class StepResult:
    state: DialogState | None  # None once the dialog has ended
    replies: list[Reply]
    outcome: Outcome = "continue"
    notice: str | None = None  # a short toast for a button press, where the channel has one
    answers: dict[str, Any] = field(default_factory=dict)
    context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OptionPage:
    options: list[tuple[str, str]]  # (value, label) already in the person's language
    total: int


OptionSource = Callable[[str | None, int, int], Awaitable[OptionPage]]
"""(search text or None, offset, limit) -> one page of options."""

# ------------------------------------------------------------------------- button payloads

DIALOG_BUTTON = ButtonFamily("d", int, str, purpose="a step of a dialog: its seq and the action")
_PAYLOAD = re.compile(r"^d:(\d{1,9}):([a-z])(\d{0,3})$")


def payload(seq: int, action: str, index: int | None = None) -> str:
    return DIALOG_BUTTON(seq, f"{action}{'' if index is None else index}")


def is_dialog_payload(data: str | None) -> bool:
    return ButtonFamily.of(data) is DIALOG_BUTTON


MAIN_ROW, PAGE_ROW, NAV_ROW = -1, 9_999, 10_000  # layout hints: rows of a channel with rows
TYPED_ACTIONS = frozenset("bsfyxtvnp")  # actions with words in content (dialog.typed.<action>)

# Actions: o=option, b=back, s=skip, n=next page, p=previous page, y=yes, x=no,
# f=finish attachments, e=edit step, t=today, v=yesterday.

_PHONE_CLEAN = re.compile(r"[\s.\-()]")
_DATE = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{4}|\d{2}))?$")


def normalize_phone(text: str) -> str | None:
    """A Vietnamese phone number in 0xxxxxxxxx form, or None."""
    digits = _PHONE_CLEAN.sub("", text)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return digits if re.fullmatch(r"0\d{9,10}", digits) else None


def typed_date(match: re.Match[str], today: date, *, past: bool) -> date | None:
    """The day a person typed as 27/11/2026, 27/11/26 or 27/11: without a year, this year (or,
    for a day that must be past and has not come yet this year, last year); None if no such
    day exists."""
    day_number, month = int(match.group(1)), int(match.group(2))
    year_text = match.group(3)
    try:
        if year_text is None:
            day = date(today.year, month, day_number)
            if past and day > today:
                day = date(today.year - 1, month, day_number)
            return day
        year = int(year_text)
        return date(2000 + year if len(year_text) == 2 else year, month, day_number)
    except ValueError:
        return None


class DialogEngine:
    """Runs the dialogs declared in content/ against a person's input."""

    def __init__(
        self,
        dialogs: Mapping[str, DialogSpec],
        texts: Texts,
        today: Callable[[], date],
        sources: Mapping[str, OptionSource] | None = None,
    ) -> None:
        self.dialogs = dialogs
        self.texts = texts
        self.today = today
        self.sources = dict(sources or {})
        for spec in dialogs.values():
            for step in spec.steps:
                if isinstance(step, ChoiceStep) and step.source and step.source not in self.sources:
                    raise ValueError(f"dialog {spec.id}: no option source named {step.source}")

    # ------------------------------------------------------------------ public operations

    async def start(self, dialog_id: str, context: Mapping[str, str] | None = None) -> StepResult:
        spec = self.dialogs[dialog_id]
        state = DialogState(dialog=dialog_id, step=spec.steps[0].id, context=dict(context or {}))
        first = self._next_step(spec, state, from_index=-1)
        if first is None:
            return StepResult(None, [], "finished", answers={})
        state.step = first.id
        return await self._enter(spec, state)

    def current_step(self, state: DialogState) -> Step | None:
        spec = self.dialogs.get(state.dialog)
        if spec is None or state.step not in {s.id for s in spec.steps}:
            return None
        return spec.step(state.step)

    async def prompt(self, state: DialogState) -> Reply:
        """The current question again (after a restart, a stray command, or a bad answer)."""
        spec = self.dialogs[state.dialog]
        return await self._render(spec, state, spec.step(state.step))

    async def step(self, state: DialogState, incoming: Incoming) -> StepResult:
        spec = self.dialogs.get(state.dialog)
        if spec is None or state.step not in {s.id for s in spec.steps}:
            return StepResult(None, [Reply(self.texts.get("dialog.gone"))], "cancelled")
        step = spec.step(state.step)
        if incoming.kind == "button":
            return await self._button(spec, state, step, incoming.data or "")
        if incoming.kind == "text" and incoming.text:
            typed = await self._typed_button(spec, state, step, incoming.text)
            if typed is not None:
                return await self._button(spec, state, step, typed)
        return await self._input(spec, state, step, incoming)

    async def _typed_button(
        self, spec: DialogSpec, state: DialogState, step: Step, text: str
    ) -> str | None:
        """A button of the current question answered by typing, on a channel without buttons
        (or by a person who prefers to type): its label or a word for it ("quay lại", "xong",
        "gửi"), or, where no typed answer is a number (a choice, the summary, a date, a place,
        files), its number in the list."""
        wanted = _words(text)
        if not wanted or len(text) > 100:
            return None
        buttons = (await self._render(spec, state, step)).buttons
        numbered = ChoiceStep | ConfirmStep | DateStep | LocationStep | AttachmentsStep
        if wanted.isdigit() and isinstance(step, numbered):  # never a text or phone answer
            number = int(wanted)
            return buttons[number - 1].data if 1 <= number <= len(buttons) else None
        for button in buttons:  # the label, or its first part ("Có" for "Có, gửi cho tôi")
            if wanted in (_words(button.label), _words(re.split(r"[,:(]", button.label)[0])):
                return button.data
        for button in buttons:
            match = _PAYLOAD.match(button.data)
            action = match.group(2) if match else ""
            words = self.texts.raw(f"dialog.typed.{action}") if action in TYPED_ACTIONS else ""
            if wanted in {_words(w) for w in words.split("|") if w.strip()}:
                return button.data
        return None

    def cancel(self, state: DialogState) -> StepResult:
        return StepResult(None, [Reply(self.texts.get("dialog.cancelled"))], "cancelled")

    # ------------------------------------------------------------------------- buttons

    async def _button(
        self, spec: DialogSpec, state: DialogState, step: Step, data: str
    ) -> StepResult:
        match = _PAYLOAD.match(data)
        if not match:
            return await self._reject(spec, state, step, "dialog.error.unknown_button")
        seq, action, index_text = int(match.group(1)), match.group(2), match.group(3)
        if seq != state.seq:
            return await self._reject(spec, state, step, "dialog.error.stale_button")
        index = int(index_text) if index_text else None

        if action == "b" and state.editing:  # from the list of fields to the summary again
            state.editing = False
            return await self._enter(spec, state)
        if action == "b" and state.history:
            return await self._back(spec, state)
        if action == "s" and step.optional:
            return await self._accept(spec, state, step, None, self.texts.raw("dialog.skipped"))
        if isinstance(step, ChoiceStep):
            return await self._choice_button(spec, state, step, action, index)
        if isinstance(step, DateStep) and action in ("t", "v"):
            wanted = "today" if action == "t" else "yesterday"
            if wanted in step.quick:
                day = self.today() - timedelta(days=0 if action == "t" else 1)
                return await self._accept_date(spec, state, step, day)
        if isinstance(step, AttachmentsStep) and action == "f":
            files = state.answers.get(step.id) or []
            if files:
                return await self._accept(
                    spec, state, step, files, self.texts.raw("dialog.files", count=len(files))
                )
        if isinstance(step, ConfirmStep):
            return await self._confirm_button(spec, state, step, action, index)
        return await self._reject(spec, state, step, "dialog.error.unknown_button")

    async def _choice_button(
        self, spec: DialogSpec, state: DialogState, step: ChoiceStep, action: str, index: int | None
    ) -> StepResult:
        if action in ("n", "p") and step.source:
            state.page = max(0, state.page + (1 if action == "n" else -1))
            return StepResult(state, [await self._render(spec, state, step)])
        if action == "o" and index is not None:
            if step.source:
                if index < len(state.shown):
                    value, label = state.shown[index], state.shown_labels[index]
                    return await self._accept(spec, state, step, value, label)
            elif index < len(step.options) and self._offered(step.options[index], state):
                option = step.options[index]
                return await self._accept(
                    spec, state, step, option.value, self._summary_label(option, state)
                )
        return await self._reject(spec, state, step, "dialog.error.unknown_button")

    async def _confirm_button(
        self,
        spec: DialogSpec,
        state: DialogState,
        step: ConfirmStep,
        action: str,
        index: int | None,
    ) -> StepResult:
        if action == "y" and not state.editing:
            return await self._accept(spec, state, step, True, self.texts.raw(step.accept))
        if action == "x" and not state.editing:
            text = self.texts.get(step.cancel_text or "dialog.cancelled")
            return StepResult(None, [Reply(text)], "cancelled")
        if action == "e" and step.summary and index is None and not state.editing:
            state.editing = True  # one "Sửa" button opens the short list of fields
            return await self._enter(spec, state)
        if action == "e" and step.summary and index is not None:
            editable = self._summary_steps(spec, state, step)
            if index < len(editable):
                state.editing = False
                target = editable[index]
                state.history.append(step.id)
                state.return_to = step.id
                state.step = target.id
                return await self._enter(spec, state)
        return await self._reject(spec, state, step, "dialog.error.unknown_button")

    # --------------------------------------------------------------------- typed input

    async def _input(
        self, spec: DialogSpec, state: DialogState, step: Step, incoming: Incoming
    ) -> StepResult:
        if isinstance(step, ChoiceStep):
            return await self._choice_text(spec, state, step, incoming)
        if isinstance(step, TextStep):
            # control characters break exports (F5); invisible-only text says nothing (F20)
            text = clean_input(incoming.text or "").strip()
            if incoming.kind == "attachment" and self._files_later(spec, state, step):
                # people send the picture first: say that it has its own step below
                return await self._reject(spec, state, step, "dialog.error.file_later")
            if incoming.kind != "text" or visible_length(text) == 0:
                return await self._reject(spec, state, step, "dialog.error.expect_text")
            if len(text) > step.max_length:
                return await self._reject(
                    spec,
                    state,
                    step,
                    "dialog.error.too_long",
                    length=len(text),
                    max=step.max_length,
                )
            if visible_length(text) < step.min_length:
                return await self._reject(
                    spec, state, step, "dialog.error.too_short", min=step.min_length
                )
            return await self._accept(spec, state, step, text, _shorten(text, 200))
        if isinstance(step, DateStep):
            if incoming.kind != "text":
                return await self._reject(spec, state, step, "dialog.error.expect_date")
            return await self._date_text(spec, state, step, incoming.text or "")
        if isinstance(step, PhoneStep):
            raw = incoming.phone if incoming.kind == "contact" else incoming.text
            if incoming.kind not in ("text", "contact") or not raw:
                return await self._reject(spec, state, step, "dialog.error.expect_phone")
            phone = normalize_phone(raw)
            if phone is None:
                return await self._reject(spec, state, step, "dialog.error.bad_phone")
            return await self._accept(spec, state, step, phone, phone)
        if isinstance(step, AttachmentsStep):
            return await self._attachment(spec, state, step, incoming)
        if isinstance(step, LocationStep):
            if incoming.kind != "location" or incoming.latitude is None:
                return await self._reject(spec, state, step, "dialog.error.expect_location")
            point = {"latitude": incoming.latitude, "longitude": incoming.longitude}
            return await self._accept(spec, state, step, point, self.texts.raw("dialog.located"))
        return await self._reject(spec, state, step, "dialog.error.expect_button")

    async def _choice_text(
        self, spec: DialogSpec, state: DialogState, step: ChoiceStep, incoming: Incoming
    ) -> StepResult:
        text = (incoming.text or "").strip() if incoming.kind == "text" else ""
        if not text:
            return await self._reject(spec, state, step, "dialog.error.expect_choice")
        if step.source and step.searchable:
            if len(text) > 100:
                return await self._reject(spec, state, step, "dialog.error.search_too_long")
            state.query, state.page = text, 0
            page = await self.sources[step.source](text, 0, step.page_size)
            if page.total == 0:
                state.query = None
                return await self._reject(spec, state, step, "dialog.error.no_match", query=text)
            return StepResult(state, [await self._render(spec, state, step)])
        if not step.source:
            folded = fold(text)
            offered = [o for o in step.options if self._offered(o, state)]
            for number, option in enumerate(offered, start=1):
                label = self._label(option, state)
                if text == str(number) or fold(label) == folded:
                    shown = self._summary_label(option, state)
                    return await self._accept(spec, state, step, option.value, shown)
        return await self._reject(spec, state, step, "dialog.error.expect_choice")

    async def _date_text(
        self, spec: DialogSpec, state: DialogState, step: DateStep, text: str
    ) -> StepResult:
        match = _DATE.match(text.strip())
        if not match:
            return await self._reject(spec, state, step, "dialog.error.bad_date_format")
        day = typed_date(match, self.today(), past=not step.allow_future)
        if day is None:
            return await self._reject(spec, state, step, "dialog.error.no_such_date")
        return await self._accept_date(spec, state, step, day)

    async def _accept_date(
        self, spec: DialogSpec, state: DialogState, step: DateStep, day: date
    ) -> StepResult:
        today = self.today()
        if not step.allow_future and day > today:
            return await self._reject(spec, state, step, "dialog.error.date_in_future")
        if step.max_days_past is not None and day < today - timedelta(days=step.max_days_past):
            earliest = today - timedelta(days=step.max_days_past)
            return await self._reject(
                spec,
                state,
                step,
                "dialog.error.date_too_old",
                earliest=earliest.strftime("%d/%m/%Y"),
            )
        return await self._accept(spec, state, step, day.isoformat(), day.strftime("%d/%m/%Y"))

    async def _attachment(
        self, spec: DialogSpec, state: DialogState, step: AttachmentsStep, incoming: Incoming
    ) -> StepResult:
        if incoming.kind != "attachment" or incoming.attachment is None:
            return await self._reject(spec, state, step, "dialog.error.expect_file")
        if incoming.attachment.kind not in step.kinds:
            return await self._reject(spec, state, step, "dialog.error.file_kind")
        files = list(state.answers.get(step.id) or [])
        if len(files) >= step.max_files:
            return await self._reject(
                spec, state, step, "dialog.error.too_many_files", max=step.max_files
            )
        files.append(incoming.attachment.model_dump())
        state.answers[step.id] = files
        state.display[step.id] = self.texts.raw("dialog.files", count=len(files))
        if len(files) >= step.max_files:
            return await self._accept(spec, state, step, files, state.display[step.id])
        note = self.texts.get("dialog.file_received", count=len(files), max=step.max_files)
        return StepResult(state, [Reply(note, self._attachment_buttons(state, step))])

    # ----------------------------------------------------------------------- transitions

    async def _accept(
        self, spec: DialogSpec, state: DialogState, step: Step, value: Any, display: str
    ) -> StepResult:
        state.answers[step.id] = value
        state.display[step.id] = display
        state.query, state.page = None, 0
        state.history.append(step.id)
        target = None
        if state.return_to:
            target = self._next_step(spec, state, spec.index(step.id), unanswered_only=True)
            if target is None or spec.index(target.id) >= spec.index(state.return_to):
                target = spec.step(state.return_to)
        else:
            target = self._next_step(spec, state, spec.index(step.id))
        if target is None:
            answers = {s.id: state.answers.get(s.id) for s in spec.steps if self._applies(s, state)}
            return StepResult(None, [], "finished", answers=answers, context=state.context)
        if target.id == state.return_to:
            state.return_to = None
        state.step = target.id
        return await self._enter(spec, state)

    async def _back(self, spec: DialogSpec, state: DialogState) -> StepResult:
        previous = state.history.pop()
        if state.return_to == previous:
            state.return_to = None
        state.step = previous
        state.query, state.page = None, 0
        return await self._enter(spec, state)

    async def _enter(self, spec: DialogSpec, state: DialogState) -> StepResult:
        state.seq += 1
        return StepResult(state, [await self._render(spec, state, spec.step(state.step))])

    async def _reject(
        self, spec: DialogSpec, state: DialogState, step: Step, key: str, **params: object
    ) -> StepResult:
        problem = self.texts.get(key, **params)
        reply = await self._render(spec, state, step, problem=problem)
        return StepResult(state, [reply], notice=problem)

    def _label(self, option: Option, state: DialogState) -> str:
        """An option's label: plain text (buttons are not HTML), filled from the context."""
        return self.texts.raw(option.label, **state.context)

    def _summary_label(self, option: Option, state: DialogState) -> str:
        """How a chosen option reads in the summary: its own words there if it has them."""
        if option.summary:
            return self.texts.raw(option.summary, **state.context)
        return self._label(option, state)

    @staticmethod
    def _offered(option: Option, state: DialogState) -> bool:
        return option.requires is None or bool(state.context.get(option.requires))

    def _applies(self, step: Step, state: DialogState) -> bool:
        return all(str(state.answers.get(name)) in values for name, values in step.when.items())

    def _next_step(
        self, spec: DialogSpec, state: DialogState, from_index: int, unanswered_only: bool = False
    ) -> Step | None:
        for step in spec.steps[from_index + 1 :]:
            if not self._applies(step, state):
                continue
            if unanswered_only and step.id in state.answers:
                continue
            return step
        return None

    # ------------------------------------------------------------------------- rendering

    async def _render(
        self, spec: DialogSpec, state: DialogState, step: Step, problem: str | None = None
    ) -> Reply:
        params: dict[str, object] = {**state.context}
        if isinstance(step, TextStep):
            params.update(min=step.min_length, max=step.max_length)
        if isinstance(step, AttachmentsStep):
            params.update(max=step.max_files)
        text = self.texts.get(step.prompt, **params)
        buttons: list[Button] = []
        if isinstance(step, ChoiceStep):
            buttons = await self._choice_buttons(state, step)
            if state.query:
                text = f"{text}\n\n{self.texts.get('dialog.search_results', query=state.query)}"
        elif isinstance(step, DateStep):
            quick = {"today": ("t", "dialog.today"), "yesterday": ("v", "dialog.yesterday")}
            buttons = [
                Button(self.texts.raw(quick[q][1]), payload(state.seq, quick[q][0]), MAIN_ROW)
                for q in step.quick
            ]
        elif isinstance(step, AttachmentsStep):
            buttons = self._attachment_buttons(state, step)
        elif isinstance(step, ConfirmStep) and step.summary and state.editing:
            # the fields of the summary, two a row, to pick the one to change
            text = self.texts.get("dialog.edit_which")
            buttons = [
                Button(self.texts.raw(s.label or ""), payload(state.seq, "e", i), i // 2)
                for i, s in enumerate(self._summary_steps(spec, state, step))
            ]
        elif isinstance(step, ConfirmStep):
            buttons = [
                Button(self.texts.raw(step.accept), payload(state.seq, "y"), MAIN_ROW),
                Button(self.texts.raw(step.decline), payload(state.seq, "x"), MAIN_ROW),
            ]
            if step.summary:  # one button for every change, not one per field
                text = f"{self._summary(spec, state, step)}\n\n{text}"
                buttons.append(Button(self.texts.raw("dialog.edit_open"), payload(state.seq, "e")))
        # "Bỏ qua" before "« Quay lại": the back button is always the last one, in one place
        if step.optional and not (isinstance(step, AttachmentsStep) and state.answers.get(step.id)):
            buttons.append(Button(self.texts.raw("dialog.skip"), payload(state.seq, "s"), NAV_ROW))
        if state.history or state.editing:
            buttons.append(Button(self.texts.raw("dialog.back"), payload(state.seq, "b"), NAV_ROW))
        if problem:
            text = f"{problem}\n\n{text}"
        return Reply(text, buttons)

    async def _choice_buttons(self, state: DialogState, step: ChoiceStep) -> list[Button]:
        if not step.source:
            labels = [
                (i, self._label(o, state))
                for i, o in enumerate(step.options)
                if self._offered(o, state)
            ]
            return [
                Button(label, payload(state.seq, "o", i), n // step.columns)
                for n, (i, label) in enumerate(labels)
            ]
        page = await self.sources[step.source](
            state.query, state.page * step.page_size, step.page_size
        )
        last_page = max(0, (page.total - 1) // step.page_size)
        if state.page > last_page:
            state.page = last_page
            page = await self.sources[step.source](
                state.query, state.page * step.page_size, step.page_size
            )
        state.shown = [value for value, _ in page.options]
        state.shown_labels = [label for _, label in page.options]
        buttons = [
            Button(label, payload(state.seq, "o", i), i // step.columns)
            for i, (_, label) in enumerate(page.options)
        ]

        def turn(page: int) -> str:
            return payload(state.seq, "n" if page > state.page else "p")

        return buttons + paging_buttons(self.texts, state.page, last_page, turn, PAGE_ROW)

    def _attachment_buttons(self, state: DialogState, step: AttachmentsStep) -> list[Button]:
        if state.answers.get(step.id):
            return [Button(self.texts.raw("dialog.files_done"), payload(state.seq, "f"), MAIN_ROW)]
        return []

    def _files_later(self, spec: DialogSpec, state: DialogState, step: Step) -> bool:
        """Whether a later step of this dialog takes files."""
        later = spec.steps[spec.index(step.id) + 1 :]
        return any(isinstance(s, AttachmentsStep) for s in later)

    def _summary_steps(self, spec: DialogSpec, state: DialogState, upto: Step) -> list[Step]:
        before = spec.steps[: spec.index(upto.id)]
        return [s for s in before if s.label and self._applies(s, state) and s.id in state.answers]

    def _summary(self, spec: DialogSpec, state: DialogState, step: Step) -> str:
        lines = [
            self.texts.get(
                "dialog.summary_line",
                label=self.texts.raw(s.label or ""),
                value=state.display.get(s.id) or self.texts.get("dialog.skipped"),
            )
            for s in self._summary_steps(spec, state, step)
        ]
        return "\n".join(lines)


def _words(text: str) -> str:
    """What a typed answer says, for comparing with a label: folded, letters and digits only."""
    return " ".join("".join(c if c.isalnum() else " " for c in fold(text)).split())


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = [
    "Attachment",
    "Button",
    "DialogEngine",
    "DialogState",
    "Incoming",
    "Option",
    "OptionPage",
    "OptionSource",
    "Reply",
    "StepResult",
    "Upload",
    "is_dialog_payload",
    "normalize_phone",
    "stored_ref",
]
