"""Read-only figures of the office's console: the dashboard, the outbox, units, weeks, audit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from storage.audit import AuditEntry
from storage.db import Database, from_db, to_db
from storage.outbox import WAITING_FOR_INTERACTION

CLOSED_STATUSES = ("resolved", "dismissed", "spam")


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    kind: str
    area: str
    heads: int  # active heads, every channel
    head_channels: str  # e.g. "telegram,zalo"
    open_invitations: int
    used_invitations: int


@dataclass(frozen=True)
class InvitationRow:
    id: int
    unit_code: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    used_at: datetime | None


@dataclass(frozen=True)
class QuestionRow:
    id: int
    deadline_id: int
    unit_code: str | None
    unit_name: str | None
    channel: str | None
    asked_at: datetime
    answered_at: datetime | None
    question: str | None  # encrypted


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" for _ in values) or "NULL"


class ConsoleRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ----------------------------------------------------------------------- reports

    async def open_reports(self, urgent: Iterable[str]) -> dict[tuple[str, bool], int]:
        """Reports not closed, by (status, urgent)."""
        urgent = list(urgent)
        rows = await self.db.fetch_all(
            f"SELECT status, category IN ({_marks(urgent)}), COUNT(*) FROM reports "
            f"WHERE status NOT IN ({_marks(CLOSED_STATUSES)}) GROUP BY 1, 2",
            [*urgent, *CLOSED_STATUSES],
        )
        return {(str(r[0]), bool(r[1])): int(r[2]) for r in rows}

    async def unclaimed_over(
        self, urgent: Iterable[str], before: datetime, urgent_before: datetime
    ) -> int:
        """New reports nobody took, older than their limit (urgent ones have a shorter one)."""
        urgent = list(urgent)
        marks = _marks(urgent)
        row = await self.db.fetch_one(
            "SELECT COUNT(*) FROM reports WHERE status = 'new' AND assignee IS NULL AND "
            f"((category IN ({marks}) AND created_at < ?) "
            f"OR (category NOT IN ({marks}) AND created_at < ?))",
            [*urgent, to_db(urgent_before), *urgent, to_db(before)],
        )
        return int(row[0]) if row else 0

    async def unclaimed(self) -> int:
        """New reports nobody took yet (the badge on every console page)."""
        row = await self.db.fetch_one(
            "SELECT COUNT(*) FROM reports WHERE status = 'new' AND assignee IS NULL"
        )
        return int(row[0]) if row else 0

    async def arrivals_since(self, report_id: int) -> tuple[int, int]:
        """(reports newer than report_id, the newest id)."""
        row = await self.db.fetch_one(
            "SELECT COUNT(*), COALESCE(MAX(id), ?) FROM reports WHERE id > ?",
            [report_id, report_id],
        )
        return (int(row[0]), int(row[1])) if row else (0, report_id)

    async def latest_report_id(self) -> int:
        row = await self.db.fetch_one("SELECT COALESCE(MAX(id), 0) FROM reports")
        return int(row[0]) if row else 0

    # ----------------------------------------------------------------------- outbox

    async def ref_counts(self, ref: str) -> dict[tuple[str, str], int]:
        """Messages of one ref by (channel, state); pending ones held for the person's next
        interaction are counted under the state 'waiting'."""
        rows = await self.db.fetch_all(
            "SELECT channel, CASE WHEN state = 'pending' AND not_before = ? THEN 'waiting' "
            "ELSE state END, COUNT(*) FROM outbox WHERE ref = ? GROUP BY 1, 2",
            [WAITING_FOR_INTERACTION, ref],
        )
        return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}

    async def week_refs(self, first: str, last: str) -> dict[tuple[str, str], int]:
        """Outreach messages of the weeks first..last (ISO Mondays) by (week, state)."""
        rows = await self.db.fetch_all(
            "SELECT substr(ref, 10), CASE WHEN state = 'pending' AND not_before = ? THEN 'waiting' "
            "ELSE state END, COUNT(*) FROM outbox WHERE kind = 'outreach' "
            "AND ref >= ? AND ref <= ? GROUP BY 1, 2",
            [WAITING_FOR_INTERACTION, f"outreach:{first}", f"outreach:{last}"],
        )
        return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}

    async def pushes(self) -> dict[str, int]:
        """Recipients planned per week (ISO Monday)."""
        rows = await self.db.fetch_all(
            "SELECT week_start, SUM(recipients) FROM outreach_pushes GROUP BY week_start"
        )
        return {str(r[0]): int(r[1] or 0) for r in rows}

    async def confirmations(self) -> dict[str, int]:
        rows = await self.db.fetch_all(
            "SELECT week_start, COUNT(*) FROM unit_confirmations GROUP BY week_start"
        )
        return {str(r[0]): int(r[1]) for r in rows}

    async def queue(self) -> list[tuple[str, str, str, int]]:
        """The outbox's rows not sent yet: (kind, channel, state, count)."""
        rows = await self.db.fetch_all(
            "SELECT kind, channel, CASE WHEN state = 'pending' AND not_before = ? THEN 'waiting' "
            "ELSE state END, COUNT(*) FROM outbox WHERE state IN ('pending', 'sending') "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            [WAITING_FOR_INTERACTION],
        )
        return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    async def sent_since(self, since: datetime) -> dict[str, int]:
        """Messages sent per channel since a moment (the outbox's recent rate)."""
        rows = await self.db.fetch_all(
            "SELECT channel, COUNT(*) FROM outbox WHERE state = 'sent' AND sent_at >= ? "
            "GROUP BY channel",
            [to_db(since)],
        )
        return {str(r[0]): int(r[1]) for r in rows}

    # ----------------------------------------------------------------------- audience

    async def audience_by_channel(
        self,
        roles: Sequence[str],
        area: str | None,
        units: Sequence[str] | None,
        channel: str | None,
        window_start: datetime,
    ) -> dict[str, tuple[int, int]]:
        """Active people of the roles (in an area or units, on a channel): per channel, (how
        many, of which without an interaction since window_start)."""
        where = f"p.active = 1 AND p.role IN ({_marks(roles)})"
        params: list[object] = list(roles)
        if units:
            where += f" AND p.unit_code IN ({_marks(units)})"
            params += list(units)
        elif area is not None:
            where += " AND p.unit_code IN (SELECT code FROM units WHERE area = ?)"
            params.append(area)
        if channel is not None:
            where += " AND p.channel = ?"
            params.append(channel)
        rows = await self.db.fetch_all(
            "SELECT p.channel, COUNT(*), SUM(CASE WHEN i.last_at IS NULL OR i.last_at < ? "
            "THEN 1 ELSE 0 END) FROM people p LEFT JOIN channel_interactions i "
            f"ON i.channel = p.channel AND i.chat_id = p.chat_id WHERE {where} GROUP BY p.channel",
            [to_db(window_start), *params],
        )
        return {str(r[0]): (int(r[1]), int(r[2] or 0)) for r in rows}

    async def subscribers(self, window_start: datetime) -> list[tuple[str, str, int, int]]:
        """Subscribed, active people: (role, channel, how many, of which without an interaction
        since window_start), what a weekly push reaches."""
        rows = await self.db.fetch_all(
            "SELECT p.role, p.channel, COUNT(*), SUM(CASE WHEN i.last_at IS NULL OR i.last_at < ? "
            "THEN 1 ELSE 0 END) FROM people p LEFT JOIN channel_interactions i "
            "ON i.channel = p.channel AND i.chat_id = p.chat_id "
            "WHERE p.subscribed = 1 AND p.active = 1 GROUP BY 1, 2 ORDER BY 1, 2",
            [to_db(window_start)],
        )
        return [(str(r[0]), str(r[1]), int(r[2]), int(r[3] or 0)) for r in rows]

    async def channels(self) -> list[str]:
        rows = await self.db.fetch_all("SELECT DISTINCT channel FROM people ORDER BY channel")
        return [str(r[0]) for r in rows]

    # ----------------------------------------------------------------------- units

    async def units(self, query: str | None, offset: int, limit: int) -> tuple[list[UnitRow], int]:
        where, params = "1", []
        if query:
            where = "(u.name_folded LIKE ? OR u.code LIKE ? OR u.area LIKE ?)"
            like = f"%{query}%"
            params = [like, like, like]
        total = await self.db.fetch_one(f"SELECT COUNT(*) FROM units u WHERE {where}", params)
        rows = await self.db.fetch_all(
            "SELECT u.code, u.name, u.kind, u.area, "
            "(SELECT COUNT(*) FROM people p WHERE p.unit_code = u.code AND p.role = 'head' "
            " AND p.active = 1), "
            "(SELECT group_concat(DISTINCT p.channel) FROM people p WHERE p.unit_code = u.code "
            " AND p.role = 'head' AND p.active = 1), "
            "(SELECT COUNT(*) FROM invitations i WHERE i.unit_code = u.code AND i.used_at IS NULL "
            " AND i.revoked_at IS NULL AND i.expires_at > ?), "
            "(SELECT COUNT(*) FROM invitations i WHERE i.unit_code = u.code "
            " AND i.used_at IS NOT NULL) "
            f"FROM units u WHERE {where} ORDER BY u.area, u.name_folded, u.code LIMIT ? OFFSET ?",
            [to_db(datetime.now().astimezone()), *params, limit, offset],
        )
        return [
            UnitRow(
                str(r[0]),
                str(r[1]),
                str(r[2]),
                str(r[3]),
                int(r[4]),
                str(r[5] or ""),
                int(r[6]),
                int(r[7]),
            )  # fmt: skip
            for r in rows
        ], int(total[0]) if total else 0

    async def invitations_of(self, unit_code: str) -> list[InvitationRow]:
        rows = await self.db.fetch_all(
            "SELECT id, unit_code, created_at, expires_at, revoked_at, used_at FROM invitations "
            "WHERE unit_code = ? ORDER BY id DESC LIMIT 20",
            [unit_code],
        )
        return [
            InvitationRow(
                int(r[0]),
                str(r[1]),
                from_db(r[2]),
                from_db(r[3]),
                from_db(r[4]) if r[4] else None,
                from_db(r[5]) if r[5] else None,
            )  # fmt: skip
            for r in rows
        ]

    async def heads_of(self, unit_code: str) -> list[tuple[str, datetime]]:
        rows = await self.db.fetch_all(
            "SELECT channel, created_at FROM people WHERE unit_code = ? AND role = 'head' "
            "AND active = 1 ORDER BY id",
            [unit_code],
        )
        return [(str(r[0]), from_db(r[1])) for r in rows]

    # ----------------------------------------------------------------------- deadlines

    async def questions(self, deadline_id: int) -> list[QuestionRow]:
        rows = await self.db.fetch_all(
            "SELECT q.id, q.deadline_id, q.unit_code, u.name, q.channel, q.asked_at, "
            "q.answered_at, q.question FROM deadline_questions q "
            "LEFT JOIN units u ON u.code = q.unit_code WHERE q.deadline_id = ? ORDER BY q.id",
            [deadline_id],
        )
        return [
            QuestionRow(
                int(r[0]),
                int(r[1]),
                r[2],
                r[3],
                r[4],
                from_db(r[5]),
                from_db(r[6]) if r[6] else None,
                r[7],
            )  # fmt: skip
            for r in rows
        ]

    async def open_questions(self) -> dict[int, int]:
        rows = await self.db.fetch_all(
            "SELECT deadline_id, COUNT(*) FROM deadline_questions WHERE answered_at IS NULL "
            "GROUP BY deadline_id"
        )
        return {int(r[0]): int(r[1]) for r in rows}

    async def deadline_list(self, states: Sequence[str]) -> list[tuple[int, int, int]]:
        """(deadline id, units, units done) of the deadlines in these states."""
        rows = await self.db.fetch_all(
            "SELECT d.id, COUNT(du.unit_code), COUNT(du.done_at) FROM deadlines d "
            "LEFT JOIN deadline_units du ON du.deadline_id = d.id "
            f"WHERE d.state IN ({_marks(states)}) GROUP BY d.id",
            list(states),
        )
        return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]

    # ----------------------------------------------------------------------- audit

    async def audit(
        self,
        *,
        actor: str | None,
        action: str | None,
        start: datetime | None,
        end: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[list[AuditEntry], int]:
        clauses, params = ["1"], list[object]()
        if actor:
            clauses.append("actor LIKE ?")
            params.append(f"%{actor}%")
        if action:
            clauses.append("action = ?")
            params.append(action)
        if start:
            clauses.append("at >= ?")
            params.append(to_db(start))
        if end:
            clauses.append("at < ?")
            params.append(to_db(end))
        where = " AND ".join(clauses)
        total = await self.db.fetch_one(f"SELECT COUNT(*) FROM audit_log WHERE {where}", params)
        rows = await self.db.fetch_all(
            f"SELECT id, at, actor, action, subject, details FROM audit_log WHERE {where} "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        entries = [
            AuditEntry(int(r[0]), from_db(r[1]), str(r[2]), str(r[3]), r[4], r[5]) for r in rows
        ]
        return entries, int(total[0]) if total else 0

    async def audit_actions(self) -> list[str]:
        rows = await self.db.fetch_all("SELECT DISTINCT action FROM audit_log ORDER BY action")
        return [str(r[0]) for r in rows]

    # ----------------------------------------------------------------------- system

    async def size(self) -> int:
        row = await self.db.fetch_one(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
        )
        return int(row[0]) if row else 0

    async def meta(self, key: str) -> str | None:
        row = await self.db.fetch_one("SELECT value FROM meta WHERE key = ?", [key])
        return str(row[0]) if row else None


def week_key(day: date) -> str:
    return day.isoformat()
