"""Pydantic models for the guided dialogs declared in content/dialogs/*.yaml."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FileKind = Literal["photo", "video", "document"]
FILE_KINDS: tuple[FileKind, ...] = ("photo", "video", "document")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    value: str = Field(min_length=1, max_length=40)
    label: str  # text key
    requires: str | None = None  # shown only when the dialog's context has this value
    summary: str | None = None  # text key: how the choice reads in a summary, if not its label


class _Step(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    prompt: str  # text key
    optional: bool = False
    label: str | None = None  # text key naming the answer in a summary; None keeps it out
    when: dict[str, list[str]] = Field(default_factory=dict)  # asked only if answers match


class ChoiceStep(_Step):
    kind: Literal["choice"]
    options: list[Option] = Field(default_factory=list)
    source: str | None = None  # name of an option source given to the engine (e.g. units)
    searchable: bool = False
    page_size: int = Field(default=6, ge=1, le=20)
    columns: int = Field(default=1, ge=1, le=4)

    @model_validator(mode="after")
    def _options_or_source(self) -> ChoiceStep:
        if bool(self.options) == bool(self.source):
            raise ValueError(f"step {self.id}: give either options or a source, not both")
        if len({option.value for option in self.options}) != len(self.options):
            raise ValueError(f"step {self.id}: option values must be unique")
        return self


class TextStep(_Step):
    kind: Literal["text"]
    min_length: int = Field(default=1, ge=1)
    max_length: int = Field(default=1000, le=4000)

    @model_validator(mode="after")
    def _bounds(self) -> TextStep:
        if self.min_length > self.max_length:
            raise ValueError(f"step {self.id}: min_length is above max_length")
        return self


class DateStep(_Step):
    kind: Literal["date"]
    allow_future: bool = False
    max_days_past: int | None = Field(default=None, ge=0)
    quick: list[Literal["today", "yesterday"]] = Field(default_factory=list)


class PhoneStep(_Step):
    kind: Literal["phone"]


class AttachmentsStep(_Step):
    kind: Literal["attachments"]
    max_files: int = Field(default=5, ge=1, le=10)
    kinds: list[FileKind] = Field(default_factory=lambda: list(FILE_KINDS))
    sanitize: bool = False  # documents pass the channel's metadata stripper before they count


class LocationStep(_Step):
    kind: Literal["location"]


class ConfirmStep(_Step):
    kind: Literal["confirm"]
    accept: str  # text key of the button that goes on
    decline: str  # text key of the button that stops
    summary: bool = False  # list the answers above the question, each with an edit button
    cancel_text: str | None = None  # text key shown when the person says no


Step = Annotated[
    ChoiceStep | TextStep | DateStep | PhoneStep | AttachmentsStep | LocationStep | ConfirmStep,
    Field(discriminator="kind"),
]


class DialogSpec(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> DialogSpec:
        ids = [step.id for step in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"dialog {self.id}: step ids must be unique")
        for index, step in enumerate(self.steps):
            for field in step.when:
                if field not in ids[:index]:
                    raise ValueError(
                        f"dialog {self.id}, step {step.id}: 'when' refers to {field}, "
                        "which is not an earlier step"
                    )
        return self

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def index(self, step_id: str) -> int:
        return [step.id for step in self.steps].index(step_id)

    def text_keys(self) -> set[str]:
        """Every text key this dialog refers to, for validation against the texts file."""
        keys: set[str] = set()
        for step in self.steps:
            keys.add(step.prompt)
            if step.label:
                keys.add(step.label)
            if isinstance(step, ChoiceStep):
                keys.update(option.label for option in step.options)
                keys.update(option.summary for option in step.options if option.summary)
            if isinstance(step, ConfirmStep):
                keys.update({step.accept, step.decline})
                if step.cancel_text:
                    keys.add(step.cancel_text)
        return keys
