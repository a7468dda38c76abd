"""Import the list of units from a clerk's CSV or XLSX file: parse, validate every row, upsert."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime, time
from pathlib import Path

import openpyxl

from content.texts import Texts, fold
from storage.db import Database
from storage.units import Unit, UnitRepository

log = logging.getLogger(__name__)

FIELDS = ("code", "name", "kind", "area")
HEADER_ALIASES: Mapping[str, tuple[str, ...]] = {
    "code": ("Mã đơn vị", "Mã", "code"),
    "name": ("Tên đơn vị", "Tên", "name"),
    "kind": ("Loại hình", "Loại", "kind"),
    "area": ("Địa bàn", "Huyện/Thành phố", "Khu vực", "area"),
}
CODE_MAX = 32
NAME_MIN, NAME_MAX = 2, 200
KIND_MAX = 60
AREA_MAX = 100
HEADER_SEARCH_ROWS = 10  # title rows above the header ("DANH SÁCH ĐƠN VỊ") are tolerated
MAX_FILE_BYTES = 5_000_000  # a province's units fit in well under 1 MB
MAX_UNITS = 10_000  # rows with something in them; a province has a few thousand units
MAX_LINES = 100_000  # rows read at all, empty ones included (a sheet formatted far down)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

_CODE_RE = re.compile(r"[A-Za-z0-9_.\-]+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\ufeff"))

_P = "units_import.problem."


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong in the file; line 0 is the file as a whole, field "" is the whole row."""

    line: int
    field: str
    reason_key: str
    value: str
    params: Mapping[str, str | int] = dataclass_field(default_factory=dict)


@dataclass
class ImportResult:
    units: list[Unit]
    problems: list[RowProblem]


@dataclass
class ImportReport:
    added: int
    updated: int
    problems: list[RowProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


class _FileProblem(Exception):
    def __init__(self, reason_key: str, value: str = "") -> None:
        super().__init__(reason_key)
        self.problem = RowProblem(0, "", reason_key, value)


def parse_units_file(path: Path) -> ImportResult:
    """Read a .csv or .xlsx file of units; every problem found is reported, none is fatal."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        _check_size(path)
        if suffix == ".csv":
            rows = _read_csv(path)
        elif suffix == ".xlsx":
            rows = _read_xlsx(path)
        else:
            raise _FileProblem(_P + "unsupported_type", path.suffix or path.name)
        return _parse_rows(rows)
    except _FileProblem as exc:
        return ImportResult([], [exc.problem])


async def import_units(db: Database, path: Path) -> ImportReport:
    """Parse the file; only if it has no problem at all, add or update every unit in it."""
    result = await asyncio.to_thread(parse_units_file, path)
    if result.problems:
        return ImportReport(0, 0, result.problems)
    added, updated = await UnitRepository(db).upsert_all(result.units)
    log.info("units imported from %s: %d added, %d updated", path, added, updated)
    return ImportReport(added, updated, [])


def format_report(
    report: ImportReport, texts: Texts, *, html: bool = False, max_problems: int | None = None
) -> str:
    """A Vietnamese summary, one line per problem; html=True escapes values for Telegram."""
    if report.ok:
        return texts.raw(
            "units_import.report.done",
            total=report.added + report.updated,
            added=report.added,
            updated=report.updated,
        )
    lines = [texts.raw("units_import.report.failed", count=len(report.problems))]
    shown = report.problems if max_problems is None else report.problems[:max_problems]
    for problem in shown:
        params = {"value": problem.value, **problem.params}
        reason = (
            texts.get(problem.reason_key, **params)
            if html
            else texts.raw(problem.reason_key, **params)
        )
        if problem.line == 0:
            lines.append(texts.raw("units_import.report.file_problem", reason=reason))
        elif not problem.field:
            lines.append(
                texts.raw("units_import.report.line_problem", line=problem.line, reason=reason)
            )
        else:
            column = texts.raw(f"units_import.column.{problem.field}")
            lines.append(
                texts.raw(
                    "units_import.report.cell_problem",
                    line=problem.line,
                    column=column,
                    reason=reason,
                )
            )
    hidden = len(report.problems) - len(shown)
    if hidden > 0:
        lines.append(texts.raw("units_import.report.more", count=hidden))
    return "\n".join(lines)


# --- reading files ---------------------------------------------------------------------------

Row = tuple[int, list[str]]  # (line as the clerk sees it, cell texts)


def _check_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError:
        return  # reported as unreadable by the reader
    if size > MAX_FILE_BYTES:
        raise _FileProblem(_P + "too_big", path.name)


class _RowCap:
    """Refuses a file with more rows than any list of units has, as soon as it is read."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        self.lines = 0
        self.filled = 0

    def add(self, cells: list[str]) -> None:
        self.lines += 1
        self.filled += any(cells)
        if self.lines > MAX_LINES or self.filled > MAX_UNITS + HEADER_SEARCH_ROWS:
            raise _FileProblem(_P + "too_many_rows", self.name)


def _read_csv(path: Path) -> list[Row]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        log.warning("cannot read %s: %s", path, exc)
        raise _FileProblem(_P + "unreadable", path.name) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _FileProblem(_P + "not_utf8", path.name) from None
    if "\x00" in text:  # UTF-16 ("Unicode text") or a binary file renamed to .csv
        raise _FileProblem(_P + "not_utf8", path.name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    rows: list[Row] = []
    cap = _RowCap(path)
    start = 1
    try:
        for record in reader:
            rows.append((start, [_cell_text(value) for value in record]))
            start = reader.line_num + 1
            cap.add(rows[-1][1])
    except csv.Error as exc:
        log.warning("malformed CSV %s: %s", path, exc)
        raise _FileProblem(_P + "unreadable", path.name) from None
    return rows


def _sniff_delimiter(text: str) -> str:
    """',' or ';' (Vietnamese Excel's choice), by the first line that has either."""
    for line in text.splitlines()[: HEADER_SEARCH_ROWS * 2]:
        commas, semicolons = line.count(","), line.count(";")
        if commas or semicolons:
            return ";" if semicolons > commas else ","
    return ","


def _read_xlsx(path: Path) -> list[Row]:
    rows: list[Row] = []
    cap = _RowCap(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style" and the like: harmless
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a damaged or disguised file: openpyxl raises many kinds
        log.warning("cannot open workbook %s: %r", path, exc)
        raise _FileProblem(_P + "unreadable", path.name) from None
    try:
        if not workbook.worksheets:
            raise _FileProblem(_P + "empty", path.name)
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some programs write a wrong dimension; read every row
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            rows.append((line, [_cell_text(value) for value in values]))
            cap.add(rows[-1][1])
    except _FileProblem:
        raise
    except Exception as exc:
        log.warning("cannot read workbook %s: %r", path, exc)
        raise _FileProblem(_P + "unreadable", path.name) from None
    finally:
        workbook.close()
    return rows


def _cell_text(value: object) -> str:
    """A cell as stripped NFC text; whole numbers typed as numbers lose their '.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, datetime | date | time):
        text = value.isoformat()
    else:
        text = str(value)
    return unicodedata.normalize("NFC", text.translate(_INVISIBLE)).strip()


# --- validation ------------------------------------------------------------------------------


def _header_key(text: str) -> str:
    return "".join(c for c in fold(text) if c.isalnum())


_ALIAS_TO_FIELD = {
    _header_key(alias): name for name, aliases in HEADER_ALIASES.items() for alias in aliases
}


def _parse_rows(rows: Iterable[Row]) -> ImportResult:
    filled = [(line, cells) for line, cells in rows if any(cells)]
    if not filled:
        raise _FileProblem(_P + "empty")
    header_index = _find_header(filled)
    header_line, header = filled[header_index]
    columns, problems = _map_columns(header_line, header)
    if problems:
        return ImportResult([], problems)

    units: list[Unit] = []
    first_seen: dict[str, int] = {}
    data_rows = 0
    for line, cells in filled[header_index + 1 :]:
        values = {name: cells[i] if i < len(cells) else "" for name, i in columns.items()}
        if not any(values.values()):  # e.g. only a pre-numbered "STT" column is filled
            continue
        data_rows += 1
        row_problems = _check_row(line, values, first_seen)
        problems.extend(row_problems)
        if not row_problems:
            units.append(
                Unit(
                    code=values["code"].upper(),
                    name=_squeeze(values["name"]),
                    kind=_squeeze(values["kind"]),
                    area=_squeeze(values["area"]),
                )
            )
    if not data_rows:
        raise _FileProblem(_P + "no_units")
    return ImportResult(units, problems)


def _find_header(filled: list[Row]) -> int:
    """The first of the first rows naming at least two known columns, else the first row."""
    for index, (_, cells) in enumerate(filled[:HEADER_SEARCH_ROWS]):
        known = {_ALIAS_TO_FIELD.get(_header_key(cell)) for cell in cells} - {None}
        if len(known) >= 2:
            return index
    return 0


def _map_columns(line: int, header: list[str]) -> tuple[dict[str, int], list[RowProblem]]:
    columns: dict[str, int] = {}
    problems: list[RowProblem] = []
    for index, cell in enumerate(header):
        name = _ALIAS_TO_FIELD.get(_header_key(cell))
        if name is None:
            continue  # extra columns ("STT", "Ghi chú") are ignored
        if name in columns:
            problems.append(RowProblem(line, name, _P + "duplicate_column", cell))
        else:
            columns[name] = index
    for name in FIELDS:
        if name not in columns:
            problems.append(RowProblem(line, name, _P + "missing_column", ""))
    return columns, problems


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _check_row(line: int, values: dict[str, str], first_seen: dict[str, int]) -> list[RowProblem]:
    problems: list[RowProblem] = []

    def problem(name: str, reason: str, value: str, **params: str | int) -> None:
        problems.append(RowProblem(line, name, _P + reason, value, params))

    code = values["code"]
    if not code:
        problem("code", "required", code)
    elif len(code) > CODE_MAX:
        problem("code", "too_long", code, length=len(code), max=CODE_MAX)
    elif not _CODE_RE.fullmatch(code):
        problem("code", "code_invalid", code)
    elif code.upper() in first_seen:
        problem("code", "duplicate_code", code, first_line=first_seen[code.upper()])
    else:
        first_seen[code.upper()] = line

    limits = {"name": (NAME_MIN, NAME_MAX), "kind": (1, KIND_MAX), "area": (1, AREA_MAX)}
    for name, (low, high) in limits.items():
        value = _squeeze(values[name])
        if _CONTROL.search(values[name]):  # they break the invitations file and every export
            problem(name, "control_char", _CONTROL.sub("", value))
        elif not value:
            problem(name, "required", value)
        elif len(value) > high:
            problem(name, "too_long", value, length=len(value), max=high)
        elif len(value) < low:
            problem(name, "too_short", value, min=low)
    return problems
