"""The office's workbook for the assessment: reports, scorecard, deadlines, outreach, log."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from bot.kernel.crypto import Cipher
from bot.kernel.hygiene import create_private, private_opener, xml_safe
from bot.office.audit import AuditText
from content import Texts
from content.texts import fold
from storage import exports
from storage.exports import Period

SHEETS = ("reports", "scorecard", "deadlines", "outreach", "audit")
DATE_TIME_FORMAT = "dd/mm/yyyy hh:mm"
DATE_FORMAT = "dd/mm/yyyy"
COLUMNS = {
    "reports": (
        "code", "kind", "category", "unit_code", "unit_name", "status", "created",
        "first_action", "occurred", "where", "what", "people", "sender", "phone",
    ),
    "scorecard": (
        "unit_code", "unit_name", "unit_kind", "area", "reports", "handled", "weeks_confirmed",
        "deadlines", "on_time", "late", "not_done",
    ),
    "deadlines": ("deadline", "title", "due", "state", "unit_code", "unit_name", "done_at",
                  "result"),
    "outreach": ("week", "planned", "sent", "blocked", "failed", "units_confirmed"),
    "audit": ("at", "actor", "action", "subject", "details"),
}  # fmt: skip


def period_of(first: date, last: date, tz: ZoneInfo) -> Period:
    """Local days first..last inclusive, as UTC moments [start, end)."""
    start = datetime.combine(first, time(0), tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tz)
    return Period(first, last, start, end)


def school_year(today: date) -> tuple[date, date]:
    """The school year containing today: 1 September to 31 August."""
    year = today.year if today.month >= 9 else today.year - 1
    return date(year, 9, 1), date(year + 1, 8, 31)


FIRST_YEAR, LAST_YEAR = 2000, 2100  # beyond these a date is a typo, and overflows UTC arithmetic


def parse_day(text: str) -> date:
    """DD/MM/YYYY as people write it, in 2000..2100; ValueError otherwise."""
    day = datetime.strptime(text.strip(), "%d/%m/%Y").date()
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"{text.strip()}: {FIRST_YEAR}..{LAST_YEAR}")
    return day


@dataclass
class ExportResult:
    files: list[Path]
    rows: dict[str, int] = field(default_factory=dict)


class _XlsxSink:
    """One workbook in write-only mode: rows are streamed to disk, never all held in memory."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.book = Workbook(write_only=True)
        self.sheet: Any = None

    def begin(self, title: str, headers: list[str]) -> None:
        self.sheet = self.book.create_sheet(title)
        self.sheet.freeze_panes = "A2"
        self.sheet.append([self._cell(h, bold=True) for h in headers])

    def _cell(self, value: object, bold: bool = False) -> object:
        if isinstance(value, str):
            value = xml_safe(value)  # one control character would break the whole workbook
        if isinstance(value, datetime):
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.number_format = DATE_TIME_FORMAT
            return cell
        if isinstance(value, date):
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.number_format = DATE_FORMAT
            return cell
        if isinstance(value, str) and (bold or value.startswith("=")):
            # '=...' written by a person is text, never a formula; other strings are text anyway
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.data_type = "s"
            if bold:
                cell.font = Font(bold=True)
            return cell
        return value

    def row(self, values: Iterable[object]) -> None:
        self.sheet.append([self._cell(v) for v in values])

    def finish(self) -> list[Path]:
        partial = self.target.with_name(self.target.name + ".partial")
        create_private(partial)  # decrypted personal data: owner-only, before a byte is written
        self.book.save(partial)
        os.replace(partial, self.target)
        return [self.target]


class _CsvSink:
    """One CSV per sheet beside the target (UTF-8 with BOM, which Excel reads as such)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.files: list[Path] = []
        self._handle: Any = None
        self._writer: Any = None

    def begin(self, title: str, headers: list[str]) -> None:
        self._close()
        slug = re.sub(r"[^0-9a-z]+", "_", fold(title)).strip("_") or "sheet"
        path = self.target.with_name(f"{self.target.stem}_{len(self.files) + 1}_{slug}.csv")
        self.files.append(path)
        self._handle = open(  # noqa: SIM115 - closed in _close
            path, "w", encoding="utf-8-sig", newline="", opener=private_opener
        )
        self._writer = csv.writer(self._handle)
        self._writer.writerow(headers)

    def row(self, values: Iterable[object]) -> None:
        self._writer.writerow([_csv_value(v) for v in values])

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def finish(self) -> list[Path]:
        self._close()
        return self.files


def _csv_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # a spreadsheet would run it as a formula
    return value


class OfficeExport:
    """Writes the office's export from one read snapshot of the database (call in a thread)."""

    def __init__(
        self,
        database: Path,
        cipher: Cipher,
        texts: Texts,
        tz: ZoneInfo,
        category_label: Callable[[str], str],
    ) -> None:
        self.database = database
        self.cipher = cipher
        self.texts = texts
        self.tz = tz
        self.category_label = category_label
        self.audit_text = AuditText(texts, tz)

    def write(
        self, period: Period, target: Path, as_csv: bool = False, now: datetime | None = None
    ) -> ExportResult:
        """Every sheet; deadlines not yet due at `now` (default: the current time) are not
        counted against a unit."""
        now = now or datetime.now(UTC)
        sink: _XlsxSink | _CsvSink = _CsvSink(target) if as_csv else _XlsxSink(target)
        rows: dict[str, int] = {}
        conn = exports.open_reader(self.database)
        try:
            producers = {
                "reports": self._reports(exports.reports(conn, period)),
                "scorecard": exports.scorecard(conn, period, now),
                "deadlines": self._deadlines(exports.deadlines(conn, period), now),
                "outreach": self._outreach(exports.outreach(conn, period)),
                "audit": self._audit(exports.audit(conn, period)),
            }
            for name in SHEETS:
                headers = [self.texts.raw(f"export.column.{c}") for c in COLUMNS[name]]
                sink.begin(self.texts.raw(f"export.sheet.{name}"), headers)
                count = 0
                for values in producers[name]:
                    sink.row(values)
                    count += 1
                rows[name] = count
        finally:
            conn.close()
        return ExportResult(sink.finish(), rows)

    def _local(self, moment: datetime | None) -> datetime | None:
        """Excel has no time zones: local wall time, without tzinfo."""
        return moment.astimezone(self.tz).replace(tzinfo=None) if moment else None

    def _reports(self, rows: Iterator[tuple]) -> Iterator[list[object]]:
        t = self.texts
        for code, anonymous, category, unit, name, status, created, first, body in rows:
            facts = self._body(body)
            occurred = facts.get("occurred_on")
            if anonymous:
                sender, phone = t.raw("export.anonymous"), None
            else:
                sender, phone = facts.get("contact_name") or "", facts.get("contact_phone")
            yield [
                code,
                t.raw("export.kind_tip" if anonymous else "export.kind_report"),
                self.category_label(category),
                unit,
                name,
                t.raw(f"status.{status}"),
                self._local(created),
                self._local(first),
                date.fromisoformat(occurred) if occurred else None,
                facts.get("where"),
                facts.get("what"),
                facts.get("people"),
                sender,
                phone,
            ]

    def _body(self, token: str) -> dict[str, Any]:
        if not token:
            return {}  # erased under the retention rule: the counts stay, the words do not
        try:
            body = self.cipher.decrypt_json(token)
        except Exception:  # a body the key cannot read is exported empty, not as an error
            return {}
        return body if isinstance(body, dict) else {}

    def _deadlines(self, rows: Iterator[tuple], now: datetime) -> Iterator[list[object]]:
        t = self.texts
        for deadline_id, title, due, state, unit, name, done in rows:
            if done is None and due > now:
                result = t.raw("export.result.not_due")
            elif done is None:
                result = t.raw("export.result.not_done")
            else:
                result = t.raw("export.result.on_time" if done <= due else "export.result.late")
            state_text = t.raw(f"export.state.{state}")
            local_due, local_done = self._local(due), self._local(done)
            yield [deadline_id, title, local_due, state_text, unit, name, local_done, result]

    def _outreach(self, rows: Iterator[tuple]) -> Iterator[list[object]]:
        for week, planned, sent, blocked, failed, confirmed in rows:
            yield [date.fromisoformat(week), planned, sent, blocked, failed, confirmed]

    def _audit(self, rows: Iterator[tuple]) -> Iterator[list[object]]:
        a = self.audit_text
        for at, actor, action, subject, details in rows:
            from storage.audit import AuditEntry

            entry = AuditEntry(0, at, actor, action, subject, details)
            yield [
                self._local(at),
                a.actor(actor),
                a.action(action),
                a.ref(subject) if subject else None,
                a.details(entry),
            ]
