"""Weekly pushes (planned once per week and audience, in SQL) and units' confirmations."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from storage.db import Database, Transaction, to_db


class OutreachRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def push_planned(self, tx: Transaction, week: date, audience: str) -> bool:
        row = await tx.fetch_one(
            "SELECT 1 FROM outreach_pushes WHERE week_start = ? AND audience = ?",
            [week.isoformat(), audience],
        )
        return row is not None

    async def plan_push(
        self,
        tx: Transaction,
        *,
        week: date,
        audience: str,
        payload_by_role: Mapping[str, str],
        kind: str,
        priority: int,
        not_before: datetime | None,
        now: datetime,
    ) -> int:
        """Queue the week's message for every subscribed, reachable person of the audience.

        One INSERT ... SELECT, so a million subscribers cost no Python objects; each row's
        dedupe key makes sure nobody gets a week's item twice, whatever happens.
        """
        roles = list(payload_by_role)
        cases = " ".join("WHEN ? THEN ?" for _ in roles)
        case_params = [value for role in roles for value in (role, payload_by_role[role])]
        marks = ",".join("?" for _ in roles)
        stamp = to_db(now)
        key = f"outreach:{week.isoformat()}:{audience}:"
        before = await tx.fetch_one("SELECT total_changes()")
        await tx.execute(
            "INSERT OR IGNORE INTO outbox (channel, chat_id, kind, payload, ref, priority, state, "
            "attempts, not_before, created_at, dedupe_key) "
            f"SELECT channel, chat_id, ?, CASE role {cases} END, ?, ?, 'pending', 0, ?, ?, "
            "? || id FROM people "
            f"WHERE subscribed = 1 AND active = 1 AND role IN ({marks})",
            [
                kind,
                *case_params,
                f"outreach:{week.isoformat()}",
                priority,
                to_db(not_before) if not_before else None,
                stamp,
                key,
                *roles,
            ],
        )
        after = await tx.fetch_one("SELECT total_changes()")
        added = int(after[0]) - int(before[0]) if before and after else 0
        await tx.execute(
            "INSERT INTO outreach_pushes (week_start, audience, planned_at, recipients) "
            "VALUES (?, ?, ?, ?)",
            [week.isoformat(), audience, stamp, added],
        )
        return added

    async def pushed_to(self, week: date, audience: str, person_id: int) -> bool:
        """Whether the week's push was queued for this person (see plan_push's dedupe key)."""
        row = await self.db.fetch_one(
            "SELECT 1 FROM outbox WHERE dedupe_key = ?",
            [f"outreach:{week.isoformat()}:{audience}:{person_id}"],
        )
        return row is not None

    async def confirm(
        self, tx: Transaction, unit_code: str, week: date, person_id: int, now: datetime
    ) -> bool:
        """Record that a unit used the week's material; False if it had already confirmed."""
        changed = await tx.execute(
            "INSERT OR IGNORE INTO unit_confirmations (unit_code, week_start, person_id, "
            "confirmed_at) VALUES (?, ?, ?, ?)",
            [unit_code, week.isoformat(), person_id, to_db(now)],
        )
        return changed > 0

    async def confirmed_units(self, week: date) -> set[str]:
        rows = await self.db.fetch_all(
            "SELECT unit_code FROM unit_confirmations WHERE week_start = ?", [week.isoformat()]
        )
        return {row[0] for row in rows}
