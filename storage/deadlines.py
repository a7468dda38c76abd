"""Deadlines, the units they concern and their completion, reminder rounds, and questions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Transaction, from_db, to_db

REMINDER_KIND = "deadline_reminder"
EDITABLE = ("key", "title", "description", "due_at", "reminders", "scope", "scope_value", "state")


@dataclass(frozen=True)
class Deadline:
    id: int
    key: str | None
    title: str
    description: str
    due_at: datetime | None
    reminders: str
    scope: str | None
    scope_value: str | None
    state: str
    version: int
    created_by: str
    awaiting: str | None
    prompt_message_id: str | None


@dataclass(frozen=True)
class UnitStatus:
    """One unit of a deadline as the progress board shows it."""

    code: str
    name: str
    kind: str
    area: str
    done_at: datetime | None
    note: str | None  # encrypted
    files: int
    heads: int


@dataclass(frozen=True)
class Progress:
    total: int
    on_time: int
    late: int
    not_done: int


@dataclass(frozen=True)
class Question:
    id: int
    deadline_id: int
    unit_code: str | None
    channel: str | None
    chat_id: str | None
    answered_at: datetime | None


_COLUMNS = (
    "id, key, title, description, due_at, reminders, scope, scope_value, state, version, "
    "created_by, awaiting, prompt_message_id"
)


def _deadline(row: Sequence[object]) -> Deadline:
    values = list(row)
    values[4] = from_db(str(values[4])) if values[4] else None
    return Deadline(*values)  # type: ignore[arg-type]


def reminder_ref(deadline_id: int, unit_code: str) -> str:
    return f"deadline:{deadline_id}:{unit_code}"


def office_ref(deadline_id: int) -> str:
    return f"deadline:{deadline_id}"


def _range(deadline_id: int) -> tuple[str, str]:
    """Bounds of every reminder ref of a deadline (';' sorts right after ':')."""
    return f"deadline:{deadline_id}:", f"deadline:{deadline_id};"


class DeadlineRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------------- deadlines

    async def create(
        self,
        tx: Transaction,
        *,
        created_by: str,
        reminders: str,
        now: datetime,
        state: str = "draft",
        key: str | None = None,
        title: str = "",
        description: str = "",
        due_at: datetime | None = None,
        scope: str | None = None,
        scope_value: str | None = None,
    ) -> int:
        stamp = to_db(now)
        return await tx.insert(
            "INSERT INTO deadlines (key, title, description, due_at, reminders, scope, "
            "scope_value, state, created_by, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                key,
                title,
                description,
                to_db(due_at) if due_at else None,
                reminders,
                scope,
                scope_value,
                state,
                created_by,
                stamp,
                stamp,
            ],
        )

    async def get(self, deadline_id: int) -> Deadline | None:
        row = await self.db.fetch_one(
            f"SELECT {_COLUMNS} FROM deadlines WHERE id = ?", [deadline_id]
        )
        return _deadline(row) if row else None

    async def pending_for_unit(self, unit_code: str, limit: int) -> list[Deadline]:
        """Open deadlines this unit has not reported done, the nearest due first."""
        columns = ", ".join(f"d.{c.strip()}" for c in _COLUMNS.split(","))
        rows = await self.db.fetch_all(
            f"SELECT {columns} FROM deadlines d JOIN deadline_units du ON du.deadline_id = d.id "
            "WHERE d.state = 'open' AND du.unit_code = ? AND du.done_at IS NULL "
            "ORDER BY d.due_at, d.id LIMIT ?",
            [unit_code, limit],
        )
        return [_deadline(row) for row in rows]

    async def get_in(self, tx: Transaction, deadline_id: int) -> Deadline | None:
        row = await tx.fetch_one(f"SELECT {_COLUMNS} FROM deadlines WHERE id = ?", [deadline_id])
        return _deadline(row) if row else None

    async def by_key(self, tx: Transaction, key: str) -> Deadline | None:
        row = await tx.fetch_one(f"SELECT {_COLUMNS} FROM deadlines WHERE key = ?", [key])
        return _deadline(row) if row else None

    async def in_states(self, *states: str) -> list[Deadline]:
        marks = ",".join("?" for _ in states)
        rows = await self.db.fetch_all(
            f"SELECT {_COLUMNS} FROM deadlines WHERE state IN ({marks}) ORDER BY due_at, id",
            list(states),
        )
        return [_deadline(row) for row in rows]

    async def update(
        self, tx: Transaction, deadline_id: int, now: datetime, *, bump: bool, **fields: object
    ) -> None:
        """Change some fields; `bump` starts a new version (what was planned is planned again)."""
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        values = [to_db(v) if isinstance(v, datetime) else v for v in fields.values()]
        sets = "".join(f"{name} = ?, " for name in fields)
        version = "version = version + 1, " if bump else ""
        await tx.execute(
            f"UPDATE deadlines SET {sets}{version}updated_at = ? WHERE id = ?",
            [*values, to_db(now), deadline_id],
        )

    async def await_reply(
        self, deadline_id: int, field: str | None, message_id: str | None
    ) -> None:
        """Which field the office's reply to which prompt message fills."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE deadlines SET awaiting = ?, prompt_message_id = ? WHERE id = ?",
                [field, message_id, deadline_id],
            )

    async def by_prompt(self, message_id: str) -> Deadline | None:
        row = await self.db.fetch_one(
            f"SELECT {_COLUMNS} FROM deadlines WHERE prompt_message_id = ?", [message_id]
        )
        return _deadline(row) if row else None

    # ----------------------------------------------------------------------------- units

    async def unit_codes(self, tx: Transaction, scope: str, value: str | None) -> list[str]:
        """The codes of the units a scope names: all, by kind, by area."""
        if scope == "all":
            rows = await tx.fetch_all("SELECT code FROM units ORDER BY code")
        else:
            column = {"kind": "kind", "area": "area"}[scope]
            rows = await tx.fetch_all(
                f"SELECT code FROM units WHERE {column} = ? ORDER BY code", [value]
            )
        return [row[0] for row in rows]

    async def known_codes(self, codes: Iterable[str]) -> dict[str, str]:
        """Upper-cased code -> stored code, for the codes that exist."""
        wanted = {code.upper() for code in codes}
        rows = await self.db.fetch_all("SELECT code FROM units")
        return {row[0].upper(): row[0] for row in rows if row[0].upper() in wanted}

    async def distinct(self, column: str) -> list[str]:
        if column not in ("kind", "area"):
            raise ValueError(column)
        rows = await self.db.fetch_all(f"SELECT DISTINCT {column} FROM units ORDER BY {column}")
        return [row[0] for row in rows]

    async def set_units(self, tx: Transaction, deadline_id: int, codes: Iterable[str]) -> None:
        """The deadline concerns exactly these units; completions of those kept stay."""
        wanted = set(codes)
        existing = await self.codes_of(tx, deadline_id)
        await tx.execute_many(
            "DELETE FROM deadline_units WHERE deadline_id = ? AND unit_code = ?",
            ((deadline_id, code) for code in existing - wanted),
        )
        await tx.execute_many(
            "INSERT INTO deadline_units (deadline_id, unit_code) VALUES (?, ?)",
            ((deadline_id, code) for code in sorted(wanted - existing)),
        )

    async def codes_of(self, tx: Transaction, deadline_id: int) -> set[str]:
        rows = await tx.fetch_all(
            "SELECT unit_code FROM deadline_units WHERE deadline_id = ?", [deadline_id]
        )
        return {row[0] for row in rows}

    async def unit_count(self, deadline_id: int) -> tuple[int, int]:
        """(units of the deadline, of which with at least one registered, reachable head)."""
        row = await self.db.fetch_one(
            "SELECT COUNT(*), COUNT(CASE WHEN EXISTS (SELECT 1 FROM people p "
            "WHERE p.unit_code = du.unit_code AND p.role = 'head' AND p.active = 1) THEN 1 END) "
            "FROM deadline_units du WHERE du.deadline_id = ?",
            [deadline_id],
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def unit_of(
        self, tx: Transaction, deadline_id: int, unit_code: str
    ) -> tuple[bool, datetime | None]:
        """(whether the deadline concerns the unit, when it was marked done)."""
        row = await tx.fetch_one(
            "SELECT done_at FROM deadline_units WHERE deadline_id = ? AND unit_code = ?",
            [deadline_id, unit_code],
        )
        if row is None:
            return False, None
        return True, from_db(row[0]) if row[0] else None

    async def mark_done(
        self, tx: Transaction, deadline_id: int, unit_code: str, person_id: int, now: datetime
    ) -> bool:
        """The unit is done (once: False if it already was); its pending reminders are dropped."""
        changed = await tx.execute(
            "UPDATE deadline_units SET done_at = ?, done_by = ? "
            "WHERE deadline_id = ? AND unit_code = ? AND done_at IS NULL",
            [to_db(now), person_id, deadline_id, unit_code],
        )
        if changed:
            await tx.execute(
                "UPDATE outbox SET state = 'cancelled' WHERE ref = ? AND state = 'pending'",
                [reminder_ref(deadline_id, unit_code)],
            )
        return changed > 0

    async def add_note(
        self, tx: Transaction, deadline_id: int, unit_code: str, note: str | None, files: int
    ) -> None:
        await tx.execute(
            "UPDATE deadline_units SET note = COALESCE(?, note), files = files + ? "
            "WHERE deadline_id = ? AND unit_code = ?",
            [note, files, deadline_id, unit_code],
        )

    async def progress(self, deadline_id: int, due_at: datetime) -> Progress:
        due = to_db(due_at)
        row = await self.db.fetch_one(
            "SELECT COUNT(*), COUNT(CASE WHEN done_at <= ? THEN 1 END), "
            "COUNT(CASE WHEN done_at > ? THEN 1 END), COUNT(CASE WHEN done_at IS NULL THEN 1 END) "
            "FROM deadline_units WHERE deadline_id = ?",
            [due, due, deadline_id],
        )
        return Progress(*(int(value) for value in row)) if row else Progress(0, 0, 0, 0)

    async def not_done_names(
        self, deadline_id: int, limit: int | None = None, tx: Transaction | None = None
    ) -> list[str]:
        """Names of the units not done yet, by name."""
        rows = await (tx or self.db).fetch_all(
            "SELECT u.name FROM deadline_units du JOIN units u ON u.code = du.unit_code "
            "WHERE du.deadline_id = ? AND du.done_at IS NULL ORDER BY u.name_folded, u.code "
            "LIMIT ?",
            [deadline_id, -1 if limit is None else limit],
        )
        return [row[0] for row in rows]

    async def statuses(self, deadline_id: int) -> list[UnitStatus]:
        rows = await self.db.fetch_all(
            "SELECT u.code, u.name, u.kind, u.area, du.done_at, du.note, du.files, "
            "(SELECT COUNT(*) FROM people p WHERE p.unit_code = du.unit_code "
            "AND p.role = 'head' AND p.active = 1) "
            "FROM deadline_units du JOIN units u ON u.code = du.unit_code "
            "WHERE du.deadline_id = ? ORDER BY u.area, u.name_folded, u.code",
            [deadline_id],
        )
        return [
            UnitStatus(code, name, kind, area, from_db(done) if done else None, note, files, heads)
            for code, name, kind, area, done, note, files, heads in rows
        ]

    # ------------------------------------------------------------------------- reminders

    async def round_planned(self, tx: Transaction | None, deadline_id: int, day: str) -> bool:
        row = await (tx or self.db).fetch_one(
            "SELECT 1 FROM deadline_rounds WHERE deadline_id = ? AND day = ?", [deadline_id, day]
        )
        return row is not None

    async def plan_round(
        self,
        tx: Transaction,
        *,
        deadline_id: int,
        day: str,
        payload: str,
        priority: int,
        not_before: datetime | None,
        now: datetime,
    ) -> int:
        """Queue the day's reminder for every reachable head of every unit not done yet.

        One INSERT ... SELECT; the dedupe key (deadline, local day, person) makes a second
        reminder of the same day impossible, whatever happens to the round record.
        """
        stamp = to_db(now)
        before = await tx.fetch_one("SELECT total_changes()")
        await tx.execute(
            "INSERT OR IGNORE INTO outbox (channel, chat_id, kind, payload, ref, priority, state, "
            "attempts, not_before, created_at, dedupe_key) "
            "SELECT p.channel, p.chat_id, ?, ?, ? || du.unit_code, ?, 'pending', 0, ?, ?, "
            "? || p.id "
            "FROM deadline_units du "
            "JOIN people p ON p.unit_code = du.unit_code AND p.role = 'head' AND p.active = 1 "
            "WHERE du.deadline_id = ? AND du.done_at IS NULL",
            [
                REMINDER_KIND,
                payload,
                f"deadline:{deadline_id}:",
                priority,
                to_db(not_before) if not_before else None,
                stamp,
                f"deadline:{deadline_id}:{day}:",
                deadline_id,
            ],
        )
        after = await tx.fetch_one("SELECT total_changes()")
        added = int(after[0]) - int(before[0]) if before and after else 0
        await tx.execute(
            "INSERT INTO deadline_rounds (deadline_id, day, planned_at, recipients) "
            "VALUES (?, ?, ?, ?)",
            [deadline_id, day, stamp, added],
        )
        return added

    async def replan_from(self, tx: Transaction, deadline_id: int, day: str) -> int:
        """After a change: pending reminders are dropped (their dedupe keys freed so that the
        new plan can queue them again) and rounds from `day` on are forgotten."""
        low, high = _range(deadline_id)
        dropped = await tx.execute(
            "UPDATE outbox SET state = 'cancelled', dedupe_key = NULL "
            "WHERE ref >= ? AND ref < ? AND state = 'pending'",
            [low, high],
        )
        await tx.execute(
            "DELETE FROM deadline_rounds WHERE deadline_id = ? AND day >= ?", [deadline_id, day]
        )
        return dropped

    async def cancel_pending(self, tx: Transaction, deadline_id: int) -> int:
        """Every message of the deadline still waiting, reminders and office digests alike."""
        low, high = _range(deadline_id)
        return await tx.execute(
            "UPDATE outbox SET state = 'cancelled' "
            "WHERE ((ref >= ? AND ref < ?) OR ref = ?) AND state = 'pending'",
            [low, high, office_ref(deadline_id)],
        )

    async def tell_reminded(
        self,
        tx: Transaction,
        *,
        deadline_id: int,
        kind: str,
        payload: str,
        priority: int,
        not_before: datetime | None,
        dedupe_prefix: str,
        now: datetime,
    ) -> int:
        """Queue a message to everyone who was sent a reminder of the deadline and whose unit
        is not done (a change or a cancellation); returns how many."""
        low, high = _range(deadline_id)
        before = await tx.fetch_one("SELECT total_changes()")
        await tx.execute(
            "INSERT OR IGNORE INTO outbox (channel, chat_id, kind, payload, ref, priority, state, "
            "attempts, not_before, created_at, dedupe_key) "
            "SELECT DISTINCT o.channel, o.chat_id, ?, ?, o.ref, ?, 'pending', 0, ?, ?, "
            "? || o.channel || ':' || o.chat_id FROM outbox o "
            "JOIN deadline_units du ON du.deadline_id = ? AND du.done_at IS NULL "
            "AND o.ref = 'deadline:' || du.deadline_id || ':' || du.unit_code "
            "WHERE o.ref >= ? AND o.ref < ? AND o.kind = ? AND o.state = 'sent'",
            [
                kind,
                payload,
                priority,
                to_db(not_before) if not_before else None,
                to_db(now),
                dedupe_prefix,
                deadline_id,
                low,
                high,
                REMINDER_KIND,
            ],
        )
        after = await tx.fetch_one("SELECT total_changes()")
        return int(after[0]) - int(before[0]) if before and after else 0

    # ------------------------------------------------------------------------- questions

    async def add_question(
        self,
        tx: Transaction,
        *,
        deadline_id: int,
        unit_code: str | None,
        channel: str,
        chat_id: str,
        now: datetime,
    ) -> int:
        return await tx.insert(
            "INSERT INTO deadline_questions (deadline_id, unit_code, channel, chat_id, asked_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [deadline_id, unit_code, channel, chat_id, to_db(now)],
        )

    async def question(self, question_id: int) -> Question | None:
        row = await self.db.fetch_one(
            "SELECT id, deadline_id, unit_code, channel, chat_id, answered_at "
            "FROM deadline_questions WHERE id = ?",
            [question_id],
        )
        if row is None:
            return None
        id_, deadline_id, unit, channel, chat_id, answered = row
        return Question(
            id_, deadline_id, unit, channel, chat_id, from_db(answered) if answered else None
        )

    async def set_question_prompt(self, question_id: int, message_id: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE deadline_questions SET prompt_message_id = ? WHERE id = ?",
                [message_id, question_id],
            )

    async def question_by_prompt(self, message_id: str) -> int | None:
        row = await self.db.fetch_one(
            "SELECT id FROM deadline_questions WHERE prompt_message_id = ?", [message_id]
        )
        return int(row[0]) if row else None

    async def answered(self, tx: Transaction, question_id: int, now: datetime) -> None:
        await tx.execute(
            "UPDATE deadline_questions SET answered_at = ? WHERE id = ?", [to_db(now), question_id]
        )

    async def forget_chat(self, tx: Transaction, channel: str, chat_id: str) -> None:
        """/xoadulieu: nothing more about deadlines is sent to this person, and the office
        can no longer answer their questions."""
        await tx.execute(
            "UPDATE deadline_questions SET channel = NULL, chat_id = NULL "
            "WHERE channel = ? AND chat_id = ?",
            [channel, chat_id],
        )
        await tx.execute(
            "UPDATE outbox SET state = 'cancelled' WHERE channel = ? AND chat_id = ? "
            "AND state = 'pending' AND ref LIKE 'deadline:%'",
            [channel, chat_id],
        )
