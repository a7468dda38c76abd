"""The progress board as an Excel workbook: a summary sheet and one sheet per open deadline."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from bot.kernel.clock import format_local
from bot.kernel.hygiene import xml_safe
from content.texts import Texts
from storage.deadlines import Deadline, Progress, UnitStatus


@dataclass(frozen=True)
class DeadlineSheet:
    deadline: Deadline
    progress: Progress
    units: list[UnitStatus]


def text_cell(sheet: Any, value: str, bold: bool = False) -> WriteOnlyCell:
    """A cell that is text whatever it starts with: '=...' written by a person is no formula."""
    cell = WriteOnlyCell(sheet, value=xml_safe(value))  # a control character breaks the file
    cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)
    return cell


def _header(sheet: Any, texts: Texts, keys: Sequence[str]) -> None:
    sheet.append([text_cell(sheet, texts.raw(f"deadline.excel.{key}"), bold=True) for key in keys])


def progress_workbook(
    sheets: list[DeadlineSheet],
    texts: Texts,
    tz: ZoneInfo,
    now: datetime,
    decrypt: Callable[[str | None], str | None],
) -> bytes:
    """An .xlsx file (bytes) written in write-only mode, so thousands of units stay cheap."""
    book = Workbook(write_only=True)
    summary = book.create_sheet(texts.raw("deadline.excel.summary_sheet"))
    summary.append(
        [text_cell(summary, texts.raw("deadline.excel.generated", now=format_local(now, tz)))]
    )
    _header(summary, texts, ("id", "title", "due", "total", "on_time", "late", "not_done"))
    for item in sheets:
        deadline, progress = item.deadline, item.progress
        assert deadline.due_at is not None
        summary.append(
            [
                deadline.id,
                text_cell(summary, deadline.title),
                format_local(deadline.due_at, tz),
                progress.total,
                progress.on_time,
                progress.late,
                progress.not_done,
            ]
        )
    for item in sheets:
        deadline = item.deadline
        assert deadline.due_at is not None
        sheet = book.create_sheet(f"#{deadline.id}")
        sheet.append([text_cell(sheet, f"#{deadline.id} {deadline.title}", bold=True)])
        sheet.append(
            [
                text_cell(
                    sheet,
                    texts.raw("deadline.excel.due_line", due=format_local(deadline.due_at, tz)),
                )
            ]
        )
        _header(
            sheet,
            texts,
            ("code", "name", "kind", "area", "state", "done_at", "heads", "note", "files"),
        )
        for unit in item.units:
            if unit.done_at is None:
                status = "overdue" if now > deadline.due_at else "not_yet"
            else:
                status = "late" if unit.done_at > deadline.due_at else "on_time"
            sheet.append(
                [
                    text_cell(sheet, unit.code),
                    text_cell(sheet, unit.name),
                    text_cell(sheet, unit.kind),
                    text_cell(sheet, unit.area),
                    texts.raw(f"deadline.excel.status.{status}"),
                    format_local(unit.done_at, tz) if unit.done_at else "",
                    unit.heads,
                    text_cell(sheet, decrypt(unit.note) or ""),
                    unit.files,
                ]
            )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
