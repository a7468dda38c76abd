"""What the core answers: text in the neutral markup and a flat list of buttons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ButtonGroup = Literal["main", "option", "nav"]


@dataclass(frozen=True)
class Button:
    """A button: its label (plain text) and the data it sends back when pressed.

    `group` tells a channel that lays buttons out in rows which ones belong together: the main
    choice of a question ("main", e.g. Gửi / Hủy), its options, and navigation (Quay lại, Bỏ qua,
    pages). Channels without rows ignore it; the order of the list is the order people read.
    """

    label: str
    data: str
    group: ButtonGroup = "option"


@dataclass(frozen=True)
class Reply:
    """One message: text in the neutral markup (<b>, <i>, <code>, escaped text) and buttons."""

    text: str
    buttons: list[Button] = field(default_factory=list)
    columns: int = 1  # how many options a channel with rows may put side by side

    def with_lead(self, lead: str) -> Reply:
        """The same message with a line in front (a problem, an explanation)."""
        return Reply(f"{lead}\n\n{self.text}", self.buttons, self.columns)
