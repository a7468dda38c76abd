"""`antq units invites`: the invitation links of the units as an Excel file and a CSV file."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from bot.invitations.service import Issued, LinkOf
from bot.kernel.clock import format_local
from bot.kernel.hygiene import xml_safe
from content.texts import Texts

COLUMNS = ("code", "name", "kind", "area", "link", "expires")
WIDTHS = (14, 45, 14, 28, 60, 18)
_FORMULA_START = ("=", "+", "-", "@")


def _safe(value: str) -> str:
    """A CSV cell Excel will not take for a formula."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def rows(issued: list[Issued], link: LinkOf, tz: ZoneInfo) -> list[list[str]]:
    return [
        [
            xml_safe(item.unit.code),  # a control character would break the workbook
            xml_safe(item.unit.name),
            xml_safe(item.unit.kind),
            xml_safe(item.unit.area),
            link(item.code),
            format_local(item.expires_at, tz),
        ]
        for item in issued
    ]


def write_files(
    issued: list[Issued], link: LinkOf, out: Path, texts: Texts, tz: ZoneInfo
) -> tuple[Path, Path]:
    """The .xlsx at `out` and a .csv beside it (UTF-8 with BOM, for Excel); owner-only."""
    out = out.with_suffix(".xlsx")
    csv_path = out.with_suffix(".csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    header = [texts.raw(f"invite.file.{column}") for column in COLUMNS]
    data = rows(issued, link, tz)

    book = Workbook()
    sheet = book.active
    sheet.title = texts.raw("invite.file.sheet")
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in data:
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            cell.data_type = "s"  # a name starting with '=' stays text
        url_cell = sheet.cell(row=sheet.max_row, column=COLUMNS.index("link") + 1)
        url_cell.hyperlink = url_cell.value
    for index, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    _write_private(out, buffer.getvalue())

    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows([[_safe(value) for value in values] for values in data])
    _write_private(csv_path, ("\ufeff" + text.getvalue()).encode("utf-8"))
    return out, csv_path


def _write_private(path: Path, content: bytes) -> None:
    """The links are keys to the units: readable by the owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    os.chmod(path, 0o600)
