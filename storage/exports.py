"""Read-only queries of the office's export, streamed row by row from a connection of its own."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from storage.db import BUSY_TIMEOUT_MS, from_db, to_db

HANDLED = ("forwarded", "resolved", "dismissed", "spam")


@dataclass(frozen=True)
class Period:
    """Local days first..last, and the UTC moments [start, end) they cover."""

    first: date
    last: date
    start: datetime
    end: datetime

    @property
    def weeks(self) -> tuple[str, str]:
        """Bounds for local dates stored as text (week_start): first <= day < after last."""
        return self.first.isoformat(), date.fromordinal(self.last.toordinal() + 1).isoformat()


def open_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection: one snapshot for the whole export, writers go on (WAL)."""
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"  # percent-encoded: any file name works
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute("BEGIN")  # every sheet reads the same committed state
    return conn


def _moment(text: str | None) -> datetime | None:
    return from_db(text) if text else None


def reports(conn: sqlite3.Connection, period: Period) -> Iterator[tuple]:
    """(code, anonymous, category, unit code, unit name, status, created, first action, body)."""
    cursor = conn.execute(
        "SELECT r.code, r.anonymous, r.category, r.unit_code, u.name, r.status, r.created_at, "
        "r.first_action_at, r.body FROM reports r LEFT JOIN units u ON u.code = r.unit_code "
        "WHERE r.created_at >= ? AND r.created_at < ? ORDER BY r.created_at, r.id",
        (to_db(period.start), to_db(period.end)),
    )
    for code, anonymous, category, unit, name, status, created, first, body in cursor:
        yield (code, bool(anonymous), category, unit, name, status, _moment(created),
               _moment(first), body)  # fmt: skip


def scorecard(conn: sqlite3.Connection, period: Period, now: datetime) -> Iterator[tuple]:
    """Per unit: (code, name, kind, area, reports, handled, weeks confirmed, deadlines,
    done on time, done late, not done) for the period; a deadline counts once it is due."""
    s, e = to_db(period.start), to_db(period.end)
    handled = ",".join("?" for _ in HANDLED)
    cursor = conn.execute(
        "SELECT u.code, u.name, u.kind, u.area, "
        "(SELECT COUNT(*) FROM reports r WHERE r.unit_code = u.code "
        " AND r.created_at >= ? AND r.created_at < ?), "
        "(SELECT COUNT(*) FROM reports r WHERE r.unit_code = u.code "
        f" AND r.created_at >= ? AND r.created_at < ? AND r.status IN ({handled})), "
        "(SELECT COUNT(*) FROM unit_confirmations c WHERE c.unit_code = u.code "
        " AND c.week_start >= ? AND c.week_start < ?), "
        "COUNT(d.id), "
        "COALESCE(SUM(du.done_at IS NOT NULL AND du.done_at <= d.due_at), 0), "
        "COALESCE(SUM(du.done_at IS NOT NULL AND du.done_at > d.due_at), 0), "
        "COALESCE(SUM(d.id IS NOT NULL AND du.done_at IS NULL), 0) "
        "FROM units u "
        "LEFT JOIN deadline_units du ON du.unit_code = u.code "
        "LEFT JOIN deadlines d ON d.id = du.deadline_id AND d.state IN ('open', 'closed') "
        " AND d.due_at >= ? AND d.due_at < ? AND d.due_at <= ? "
        "GROUP BY u.code ORDER BY u.code",
        (s, e, s, e, *HANDLED, *period.weeks, s, e, to_db(now)),
    )
    yield from cursor


def deadlines(conn: sqlite3.Connection, period: Period) -> Iterator[tuple]:
    """(deadline id, title, due, state, unit code, unit name, done at) per deadline and unit."""
    cursor = conn.execute(
        "SELECT d.id, d.title, d.due_at, d.state, du.unit_code, u.name, du.done_at "
        "FROM deadlines d JOIN deadline_units du ON du.deadline_id = d.id "
        "LEFT JOIN units u ON u.code = du.unit_code "
        "WHERE d.state IN ('open', 'closed') AND d.due_at >= ? AND d.due_at < ? "
        "ORDER BY d.due_at, d.id, du.unit_code",
        (to_db(period.start), to_db(period.end)),
    )
    for deadline_id, title, due, state, unit, name, done in cursor:
        yield deadline_id, title, _moment(due), state, unit, name, _moment(done)


def outreach(conn: sqlite3.Connection, period: Period) -> Iterator[tuple]:
    """Per week: (monday, planned recipients, sent, blocked, failed, units confirmed)."""
    cursor = conn.execute(
        "SELECT p.week_start, SUM(p.recipients), "
        "(SELECT COUNT(*) FROM outbox o WHERE o.kind = 'outreach' "
        " AND o.ref = 'outreach:' || p.week_start AND o.state = 'sent'), "
        "(SELECT COUNT(*) FROM outbox o WHERE o.kind = 'outreach' "
        " AND o.ref = 'outreach:' || p.week_start AND o.state = 'blocked'), "
        "(SELECT COUNT(*) FROM outbox o WHERE o.kind = 'outreach' "
        " AND o.ref = 'outreach:' || p.week_start AND o.state = 'failed'), "
        "(SELECT COUNT(*) FROM unit_confirmations c WHERE c.week_start = p.week_start) "
        "FROM outreach_pushes p WHERE p.week_start >= ? AND p.week_start < ? "
        "GROUP BY p.week_start ORDER BY p.week_start",
        period.weeks,
    )
    yield from cursor


def audit(conn: sqlite3.Connection, period: Period) -> Iterator[tuple]:
    """(at, actor, action, subject, details), oldest first."""
    cursor = conn.execute(
        "SELECT at, actor, action, subject, details FROM audit_log "
        "WHERE at >= ? AND at < ? ORDER BY id",
        (to_db(period.start), to_db(period.end)),
    )
    for at, actor, action, subject, details in cursor:
        yield from_db(at), actor, action, subject, details
