"""Exports for the office (`/xuat`, `antq export`): the period, the file, the audit entry."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.chat.ref import Staff
from bot.kernel.clock import Clock, format_date
from bot.kernel.crypto import Cipher
from bot.office.export import ExportResult, OfficeExport, parse_day, period_of, school_year
from content import Content
from storage.audit import AuditLog
from storage.db import Database
from storage.exports import Period


class PeriodError(ValueError):
    """Dates that are not DD/MM/YYYY, or a start after the end."""


@dataclass(frozen=True)
class OfficeFile:
    content: bytes
    name: str
    caption: str


class ExportDesk:
    def __init__(self, db: Database, content: Content, cipher: Cipher, clock: Clock) -> None:
        self.db = db
        self.texts = content.texts
        self.clock = clock
        self.audit = AuditLog(db)
        categories = content.categories

        def label(code: str) -> str:
            category = categories.get(code)
            return category.label if category else code

        self.exporter = OfficeExport(db.path, cipher, content.texts, clock.tz, label)

    def period(self, first: str | None, last: str | None) -> Period:
        """From..to as people write them; both missing: this school year."""
        if first is None and last is None:
            start, end = school_year(self.clock.today())
        else:
            try:
                start = parse_day(first or "")
                end = parse_day(last) if last else self.clock.today()
            except ValueError as exc:
                raise PeriodError(str(exc)) from None
        if start > end:
            raise PeriodError(f"{format_date(start)} > {format_date(end)}")
        return period_of(start, end, self.clock.tz)

    async def write(
        self, period: Period, target: Path, actor: str, as_csv: bool = False
    ) -> ExportResult:
        """Write the export in a worker thread, then record it in the audit log."""
        now = self.clock.now()
        result = await asyncio.to_thread(self.exporter.write, period, target, as_csv, now)
        async with self.db.transaction() as tx:
            await self.audit.record(
                tx,
                at=self.clock.now(),
                actor=actor,
                action="export",
                subject=", ".join(path.name for path in result.files),
                details=f"{format_date(period.first)} - {format_date(period.last)}",
            )
        return result

    async def office_file(self, argument: str, staff: Staff) -> OfficeFile:
        """/xuat [from [to]]: the workbook as bytes for the office group."""
        words = argument.split()
        if len(words) > 2:
            raise PeriodError(argument)
        period = self.period(*(words + [None] * (2 - len(words))))
        name = f"xuat_du_lieu_{period.first:%Y%m%d}_{period.last:%Y%m%d}.xlsx"
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / name
            result = await self.write(period, target, staff.actor)
            content = target.read_bytes()
        caption = self.texts.get(
            "export.caption",
            first=format_date(period.first),
            last=format_date(period.last),
            reports=result.rows["reports"],
            units=result.rows["scorecard"],
        )
        return OfficeFile(content, name, caption)
