"""`antq deadlines import FILE`: deadlines from a YAML or CSV file, checked, then all or nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.deadlines.reminder_plan import PlanError, format_plan, parse_plan
from bot.deadlines.service import (
    DeadlineItem,
    DeadlineService,
    Scope,
    parse_description,
    parse_title,
    read_due,
    split_codes,
)
from bot.units.importer import _FileProblem, _header_key, _read_csv
from content.texts import Texts, fold

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
HEADER_ALIASES = {
    "key": ("Mã", "Mã hạn chót", "key"),
    "title": ("Tên hạn chót", "Tên", "title"),
    "description": ("Mô tả", "Nội dung", "description"),
    "due": ("Hạn chót", "Hạn", "due"),
    "units": ("Đơn vị", "Đơn vị áp dụng", "units"),
    "reminders": ("Lịch nhắc", "Nhắc", "reminders"),
}
REQUIRED = ("title", "due", "units")
_ALIAS = {_header_key(alias): name for name, aliases in HEADER_ALIASES.items() for alias in aliases}
_P = "deadlines_import.problem."


@dataclass
class Parsed:
    items: list[DeadlineItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # readable lines
    code_lists: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # to look up


@dataclass
class ImportOutcome:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_file(path: Path, texts: Texts, tz: ZoneInfo, default_plan: str) -> Parsed:
    """Read a .yaml/.yml or .csv file of deadlines; every problem is reported, none is fatal."""
    suffix = path.suffix.lower()
    reader = _Reader(texts, tz, default_plan)
    try:
        if suffix in (".yaml", ".yml"):
            reader.yaml_file(path)
        elif suffix == ".csv":
            reader.csv_file(path)
        else:
            reader.file_problem("unsupported_type", value=path.suffix or path.name)
    except _FileProblem as exc:  # the CSV reader's own file-level problems
        problem = exc.problem
        reason = texts.raw(problem.reason_key, value=problem.value)
        reader.parsed.problems.append(texts.raw("deadlines_import.report.file", reason=reason))
    return reader.parsed


async def import_deadlines(
    service: DeadlineService, path: Path, texts: Texts, created_by: str = "cli"
) -> ImportOutcome:
    parsed = parse_file(path, texts, service.tz, service.default_plan)
    problems = list(parsed.problems)
    for where, codes in parsed.code_lists:
        _, unknown = await service.check_codes(list(codes))
        if unknown:
            reason = texts.raw(_P + "unknown_units", codes=", ".join(unknown[:20]))
            problems.append(_line(texts, where, reason))
    if problems:
        return ImportOutcome(problems=problems)
    result = await service.upsert_many(parsed.items, created_by)
    if result.problems:
        return ImportOutcome(
            problems=[
                _line(texts, where, texts.raw(key, **params))
                for where, key, params in result.problems
            ]
        )
    return ImportOutcome(result.added, result.updated, result.unchanged)


def format_outcome(outcome: ImportOutcome, texts: Texts, limit: int = 50) -> str:
    if outcome.ok:
        return texts.raw(
            "deadlines_import.report.done",
            total=outcome.added + outcome.updated + outcome.unchanged,
            added=outcome.added,
            updated=outcome.updated,
            unchanged=outcome.unchanged,
        )
    lines = [texts.raw("deadlines_import.report.failed", count=len(outcome.problems))]
    lines += outcome.problems[:limit]
    if len(outcome.problems) > limit:
        lines.append(texts.raw("deadlines_import.report.more", count=len(outcome.problems) - limit))
    return "\n".join(lines)


def _line(texts: Texts, where: str, reason: str) -> str:
    return texts.raw("deadlines_import.report.line", where=where, reason=reason)


class _Reader:
    def __init__(self, texts: Texts, tz: ZoneInfo, default_plan: str) -> None:
        self.texts = texts
        self.tz = tz
        self.default_plan = default_plan
        self.parsed = Parsed()
        self.keys: dict[str, str] = {}

    def file_problem(self, key: str, **params: object) -> None:
        reason = self.texts.raw(_P + key, **params)
        self.parsed.problems.append(self.texts.raw("deadlines_import.report.file", reason=reason))

    def problem(self, where: str, key: str, **params: object) -> None:
        self.parsed.problems.append(_line(self.texts, where, self.texts.raw(key, **params)))

    # ------------------------------------------------------------------------- YAML

    def yaml_file(self, path: Path) -> None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            self.file_problem("unreadable", value=path.name)
            return
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 0
            self.file_problem("bad_yaml", line=line)
            return
        entries = data.get("deadlines") if isinstance(data, dict) else data
        if not isinstance(entries, list) or not entries:
            self.file_problem("no_deadlines")
            return
        for number, entry in enumerate(entries, start=1):
            title = entry.get("title") if isinstance(entry, dict) else None
            where = self.texts.raw("deadlines_import.where_item", number=number, title=title or "—")
            if not isinstance(entry, dict):
                self.problem(where, _P + "not_a_mapping")
                continue
            unknown = sorted(set(entry) - set(HEADER_ALIASES))
            if unknown:
                self.problem(where, _P + "unknown_fields", fields=", ".join(map(str, unknown)))
                continue
            self.item(where, entry)

    # -------------------------------------------------------------------------- CSV

    def csv_file(self, path: Path) -> None:
        rows = [(line, cells) for line, cells in _read_csv(path) if any(cells)]
        if not rows:
            self.file_problem("no_deadlines")
            return
        header_line, header = rows[0]
        columns: dict[str, int] = {}
        for index, cell in enumerate(header):
            name = _ALIAS.get(_header_key(cell))
            if name is not None and name not in columns:
                columns[name] = index
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            names = ", ".join(self.texts.raw(f"deadlines_import.column.{m}") for m in missing)
            self.file_problem("missing_columns", columns=names)
            return
        if len(rows) == 1:
            self.file_problem("no_deadlines")
            return
        for line, cells in rows[1:]:
            entry = {name: cells[index] for name, index in columns.items() if index < len(cells)}
            entry = {name: value for name, value in entry.items() if value != ""}
            self.item(self.texts.raw("deadlines_import.where_line", line=line), entry)

    # ---------------------------------------------------------------------- one item

    def item(self, where: str, entry: dict[str, Any]) -> None:
        before = len(self.parsed.problems)
        key = self._key(where, entry.get("key"))
        title = self._field(where, parse_title, entry.get("title"), required=True)
        description = self._field(where, parse_description, entry.get("description") or "")
        due = self._due(where, entry.get("due"))
        reminders = self._reminders(where, entry.get("reminders"))
        scope = self._scope(where, entry.get("units"))
        if len(self.parsed.problems) > before:
            return
        assert title is not None and due is not None and reminders is not None
        assert scope is not None
        self.parsed.items.append(
            DeadlineItem(where, key, title, description or "", due, reminders, scope)
        )

    def _key(self, where: str, value: object) -> str | None:
        if value in (None, ""):
            return None
        key = str(value).strip()
        if not KEY_PATTERN.match(key):
            self.problem(where, _P + "bad_key", value=key)
            return None
        if key in self.keys:
            self.problem(where, _P + "duplicate_key", value=key, first=self.keys[key])
            return None
        self.keys[key] = where
        return key

    def _field(self, where: str, parse: Any, value: object, required: bool = False) -> Any:
        if value is None or str(value).strip() == "":
            if required:
                self.problem(where, _P + "required", field=self.texts.raw(_P + "field_title"))
            return None
        try:
            return parse(str(value))
        except PlanError as exc:
            self.problem(where, exc.key, **exc.params)
            return None

    def _due(self, where: str, value: object) -> datetime | None:
        if value is None or str(value).strip() == "":
            self.problem(where, _P + "required", field=self.texts.raw(_P + "field_due"))
            return None
        if isinstance(value, datetime):
            local = value if value.tzinfo else value.replace(tzinfo=self.tz)
            return local.astimezone(UTC)
        try:
            return read_due(str(value), self.tz)
        except PlanError as exc:
            self.problem(where, exc.key, **exc.params)
            return None

    def _reminders(self, where: str, value: object) -> str | None:
        if value is None or value == "":
            return self.default_plan
        text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        try:
            return format_plan(parse_plan(text))
        except PlanError as exc:
            self.problem(where, exc.key, **exc.params)
            return None

    def _scope(self, where: str, value: object) -> Scope | None:
        scope = read_scope(value)
        if scope is None:
            self.problem(where, _P + "bad_units", value=str(value or ""))
        elif scope.kind == "list":
            self.parsed.code_lists.append((where, scope.codes))
        return scope


_ALL = {"all", "tat ca", "tat ca don vi", "toan bo"}
_PREFIXES = {
    "kind": ("kind", "loai hinh", "loai"),
    "area": ("area", "dia ban", "khu vuc"),
    "list": ("codes", "list", "ma", "ma don vi", "danh sach"),
}


def read_scope(value: object) -> Scope | None:
    """'all', 'kind: THPT', 'địa bàn: Xã Lộc Ninh', 'codes: A, B', a list of codes, or a
    mapping {all: true} / {kind: ...} / {area: ...} / {codes: [...]}."""
    if isinstance(value, list):
        codes = tuple(str(code).strip() for code in value if str(code).strip())
        return Scope("list", None, codes) if codes else None
    if isinstance(value, dict) and len(value) == 1:
        ((name, inner),) = value.items()
        name = fold(str(name))
        if name in _ALL:
            return Scope("all") if inner in (True, None, "", "yes") else None
        if name in ("codes", "list"):
            return read_scope(inner if isinstance(inner, list) else f"codes: {inner}")
        if name in ("kind", "area") and str(inner or "").strip():
            return Scope(name, " ".join(str(inner).split()))
        return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if fold(text) in _ALL:
        return Scope("all")
    head, sep, rest = text.partition(":")
    if sep:
        folded = fold(head)
        rest = rest.strip()
        for kind, prefixes in _PREFIXES.items():
            if folded in prefixes and rest:
                if kind == "list":
                    return Scope("list", None, tuple(split_codes(rest)))
                return Scope(kind, " ".join(rest.split()))
        return None
    listed = split_codes(text)
    return Scope("list", None, tuple(listed)) if listed else None
