"""Staff accounts of the web console and their server-side sessions (token hashes only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Transaction, from_db, to_db

ROLES = ("admin", "clerk", "viewer")
STAGES = ("password", "totp", "enrol", "full")


@dataclass(frozen=True)
class StaffRow:
    id: int
    username: str
    name: str
    role: str
    password_hash: str
    must_change: bool
    totp_secret: str | None  # encrypted
    totp_last_step: int | None
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class SessionRow:
    id: int
    staff_id: int
    stage: str
    pending_totp: str | None  # encrypted
    created_at: datetime
    last_seen_at: datetime


_STAFF = (
    "id, username, name, role, password_hash, must_change, totp_secret, totp_last_step, "
    "active, created_at"
)


def _staff(row: Sequence[object]) -> StaffRow:
    v = list(row)
    return StaffRow(
        int(v[0]),  # type: ignore[call-overload]
        str(v[1]),
        str(v[2]),
        str(v[3]),
        str(v[4]),
        bool(v[5]),
        v[6] if v[6] is None else str(v[6]),
        None if v[7] is None else int(v[7]),  # type: ignore[call-overload]
        bool(v[8]),
        from_db(str(v[9])),
    )


class StaffRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        tx: Transaction,
        *,
        username: str,
        name: str,
        role: str,
        password_hash: str,
        must_change: bool,
        now: datetime,
    ) -> int:
        stamp = to_db(now)
        return await tx.insert(
            "INSERT INTO staff (username, name, role, password_hash, must_change, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [username, name, role, password_hash, int(must_change), stamp, stamp],
        )

    async def by_username(self, username: str) -> StaffRow | None:
        row = await self.db.fetch_one(f"SELECT {_STAFF} FROM staff WHERE username = ?", [username])
        return _staff(row) if row else None

    async def get(self, staff_id: int) -> StaffRow | None:
        row = await self.db.fetch_one(f"SELECT {_STAFF} FROM staff WHERE id = ?", [staff_id])
        return _staff(row) if row else None

    async def all(self) -> list[StaffRow]:
        rows = await self.db.fetch_all(f"SELECT {_STAFF} FROM staff ORDER BY username")
        return [_staff(r) for r in rows]

    async def set_password(
        self, tx: Transaction, staff_id: int, password_hash: str, must_change: bool, now: datetime
    ) -> None:
        await tx.execute(
            "UPDATE staff SET password_hash = ?, must_change = ?, updated_at = ? WHERE id = ?",
            [password_hash, int(must_change), to_db(now), staff_id],
        )

    async def set_active(self, tx: Transaction, staff_id: int, active: bool, now: datetime) -> None:
        await tx.execute(
            "UPDATE staff SET active = ?, updated_at = ? WHERE id = ?",
            [int(active), to_db(now), staff_id],
        )

    async def set_totp(
        self, tx: Transaction, staff_id: int, secret: str | None, now: datetime
    ) -> None:
        await tx.execute(
            "UPDATE staff SET totp_secret = ?, totp_last_step = NULL, updated_at = ? WHERE id = ?",
            [secret, to_db(now), staff_id],
        )

    async def use_totp_step(self, tx: Transaction, staff_id: int, step: int) -> bool:
        """Record a used TOTP time step; False when it (or a later one) was used already."""
        changed = await tx.execute(
            "UPDATE staff SET totp_last_step = ? WHERE id = ? "
            "AND (totp_last_step IS NULL OR totp_last_step < ?)",
            [step, staff_id, step],
        )
        return changed == 1

    # ---------------------------------------------------------------------------- sessions

    async def add_session(
        self, tx: Transaction, staff_id: int, token_hash: str, stage: str, now: datetime
    ) -> int:
        stamp = to_db(now)
        return await tx.insert(
            "INSERT INTO staff_sessions (token_hash, staff_id, stage, created_at, last_seen_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [token_hash, staff_id, stage, stamp, stamp],
        )

    async def session(self, token_hash: str) -> SessionRow | None:
        row = await self.db.fetch_one(
            "SELECT id, staff_id, stage, pending_totp, created_at, last_seen_at "
            "FROM staff_sessions WHERE token_hash = ?",
            [token_hash],
        )
        if row is None:
            return None
        return SessionRow(
            int(row[0]), int(row[1]), str(row[2]), row[3], from_db(row[4]), from_db(row[5])
        )

    async def touch_session(self, tx: Transaction, session_id: int, now: datetime) -> None:
        await tx.execute(
            "UPDATE staff_sessions SET last_seen_at = ? WHERE id = ?", [to_db(now), session_id]
        )

    async def set_stage(
        self, tx: Transaction, session_id: int, stage: str, pending_totp: str | None = None
    ) -> None:
        await tx.execute(
            "UPDATE staff_sessions SET stage = ?, pending_totp = ? WHERE id = ?",
            [stage, pending_totp, session_id],
        )

    async def drop_session(self, tx: Transaction, session_id: int) -> None:
        await tx.execute("DELETE FROM staff_sessions WHERE id = ?", [session_id])

    async def drop_sessions_of(self, tx: Transaction, staff_id: int) -> int:
        return await tx.execute("DELETE FROM staff_sessions WHERE staff_id = ?", [staff_id])

    async def drop_expired(
        self, tx: Transaction, idle_before: datetime, born_before: datetime
    ) -> int:
        return await tx.execute(
            "DELETE FROM staff_sessions WHERE last_seen_at < ? OR created_at < ?",
            [to_db(idle_before), to_db(born_before)],
        )


# ------------------------------------------------------------------ chats of staff notices


@dataclass(frozen=True)
class StaffChat:
    staff_id: int
    channel: str
    chat_id: str
    linked_at: datetime


class StaffChatRepository:
    """Which chat receives a staff member's notices, and the one-time codes that link one."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def put_code(
        self, tx: Transaction, staff_id: int, code_hash: str, expires_at: datetime
    ) -> None:
        """The staff member's one code (a new one replaces the last)."""
        await tx.execute(
            "INSERT INTO staff_link_codes (staff_id, code_hash, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (staff_id) DO UPDATE SET code_hash = excluded.code_hash, "
            "expires_at = excluded.expires_at",
            [staff_id, code_hash, to_db(expires_at)],
        )

    async def take_code(self, tx: Transaction, code_hash: str, now: datetime) -> int | None:
        """The staff id of a live code, which is used up; None for an unknown or expired one."""
        row = await tx.fetch_one(
            "SELECT staff_id, expires_at FROM staff_link_codes WHERE code_hash = ?", [code_hash]
        )
        if row is None:
            return None
        await tx.execute("DELETE FROM staff_link_codes WHERE code_hash = ?", [code_hash])
        if from_db(str(row[1])) <= now:
            return None
        return int(row[0])

    async def drop_codes_of(self, tx: Transaction, staff_id: int) -> None:
        await tx.execute("DELETE FROM staff_link_codes WHERE staff_id = ?", [staff_id])

    async def link(
        self, tx: Transaction, staff_id: int, channel: str, chat_id: str, now: datetime
    ) -> None:
        """One chat per staff member and channel, one staff member per chat: the last wins."""
        await tx.execute(
            "DELETE FROM staff_chats WHERE (channel = ? AND chat_id = ?) "
            "OR (staff_id = ? AND channel = ?)",
            [channel, chat_id, staff_id, channel],
        )
        await tx.execute(
            "INSERT INTO staff_chats (staff_id, channel, chat_id, linked_at) VALUES (?, ?, ?, ?)",
            [staff_id, channel, chat_id, to_db(now)],
        )

    async def of_staff(self, staff_id: int) -> list[StaffChat]:
        rows = await self.db.fetch_all(
            "SELECT staff_id, channel, chat_id, linked_at FROM staff_chats WHERE staff_id = ? "
            "ORDER BY channel",
            [staff_id],
        )
        return [_chat(r) for r in rows]

    async def of_staff_in(self, tx: Transaction, staff_id: int) -> list[StaffChat]:
        rows = await tx.fetch_all(
            "SELECT staff_id, channel, chat_id, linked_at FROM staff_chats WHERE staff_id = ?",
            [staff_id],
        )
        return [_chat(r) for r in rows]

    async def unlink(self, tx: Transaction, staff_id: int) -> int:
        return await tx.execute("DELETE FROM staff_chats WHERE staff_id = ?", [staff_id])

    async def forget_chat(self, tx: Transaction, channel: str, chat_id: str) -> int:
        return await tx.execute(
            "DELETE FROM staff_chats WHERE channel = ? AND chat_id = ?", [channel, chat_id]
        )

    async def notice_chats(self, tx: Transaction, roles: Sequence[str]) -> list[StaffChat]:
        """The chats of active staff members of these roles, in a stable order."""
        marks = ", ".join("?" for _ in roles)
        rows = await tx.fetch_all(
            "SELECT c.staff_id, c.channel, c.chat_id, c.linked_at FROM staff_chats c "
            f"JOIN staff s ON s.id = c.staff_id WHERE s.active = 1 AND s.role IN ({marks}) "
            "ORDER BY c.staff_id, c.channel",
            list(roles),
        )
        return [_chat(r) for r in rows]


def _chat(row: Sequence[object]) -> StaffChat:
    return StaffChat(int(row[0]), str(row[1]), str(row[2]), from_db(str(row[3])))  # type: ignore[call-overload]
