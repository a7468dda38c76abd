"""What the core answers: text in the neutral markup and a flat list of buttons."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Button:
    """A button: its label (plain text) and the data it sends back when pressed.

    `row` is a layout hint for channels that show buttons in rows (Telegram): consecutive buttons
    with the same row share it; None is a row of its own. Channels without rows ignore it; the
    order of the list is the order in which people read the buttons.

    A button with a `url` opens that page instead of sending data back (its `data` is unused):
    Zalo's `oa.open.url`, Telegram's URL button.
    """

    label: str
    data: str
    row: int | None = None
    url: str | None = None


@dataclass(frozen=True)
class Reply:
    """One message: text in the neutral markup (<b>, <i>, <code>, escaped text) and buttons."""

    text: str
    buttons: list[Button] = field(default_factory=list)

    def with_lead(self, lead: str) -> Reply:
        """The same message with a line in front (a problem, an explanation)."""
        return Reply(f"{lead}\n\n{self.text}", self.buttons)


def laid_out(rows: list[list[Button]]) -> list[Button]:
    """A flat list from rows, each button keeping its row as the layout hint."""
    return [replace(button, row=number) for number, row in enumerate(rows) for button in row]


def in_rows(buttons: list[Button], max_per_row: int = 8) -> list[list[Button]]:
    """The rows a channel with rows shows: consecutive buttons of one row hint together."""
    rows: list[list[Button]] = []
    previous: int | None = None
    for button in buttons:
        joins = rows and button.row is not None and button.row == previous
        if joins and len(rows[-1]) < max_per_row:
            rows[-1].append(button)
        else:
            rows.append([button])
        previous = button.row
    return rows
