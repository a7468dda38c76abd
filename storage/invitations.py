"""Invitations of unit heads: only a hash of each code is kept, with its unit and its fate."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, Transaction, from_db, to_db


@dataclass(frozen=True)
class Invitation:
    id: int
    unit_code: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    used_at: datetime | None
    used_by: int | None


_COLUMNS = "id, unit_code, created_at, expires_at, revoked_at, used_at, used_by"


def _invitation(row: Sequence[Any]) -> Invitation:
    id_, unit, created, expires, revoked, used, used_by = row
    return Invitation(
        id_,
        unit,
        from_db(created),
        from_db(expires),
        from_db(revoked) if revoked else None,
        from_db(used) if used else None,
        used_by,
    )


class InvitationRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_many(
        self,
        tx: Transaction,
        rows: Iterable[tuple[str, str]],
        *,
        created_by: str,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        """(code hash, unit code) pairs, all created now and valid until `expires_at`."""
        stamp, expires = to_db(now), to_db(expires_at)
        await tx.execute_many(
            "INSERT INTO invitations (code_hash, unit_code, created_by, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            ((code_hash, unit, created_by, stamp, expires) for code_hash, unit in rows),
        )

    async def by_hash(self, tx: Transaction | None, code_hash: str) -> Invitation | None:
        sql = f"SELECT {_COLUMNS} FROM invitations WHERE code_hash = ?"
        row = await (tx or self.db).fetch_one(sql, [code_hash])
        return _invitation(row) if row else None

    async def get(self, invitation_id: int) -> Invitation | None:
        row = await self.db.fetch_one(
            f"SELECT {_COLUMNS} FROM invitations WHERE id = ?", [invitation_id]
        )
        return _invitation(row) if row else None

    async def get_in(self, tx: Transaction, invitation_id: int) -> Invitation | None:
        row = await tx.fetch_one(
            f"SELECT {_COLUMNS} FROM invitations WHERE id = ?", [invitation_id]
        )
        return _invitation(row) if row else None

    async def use(self, tx: Transaction, invitation_id: int, person_id: int, now: datetime) -> bool:
        """Mark it used by this person; False if it was used or revoked meanwhile."""
        changed = await tx.execute(
            "UPDATE invitations SET used_at = ?, used_by = ? "
            "WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
            [to_db(now), person_id, invitation_id, to_db(now)],
        )
        return changed > 0

    async def revoke(self, tx: Transaction, invitation_id: int, now: datetime) -> bool:
        changed = await tx.execute(
            "UPDATE invitations SET revoked_at = ? "
            "WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL",
            [to_db(now), invitation_id],
        )
        return changed > 0

    async def revoke_unit(self, tx: Transaction, unit_code: str, now: datetime) -> int:
        """Revoke every unused, still valid invitation of a unit; returns how many."""
        return await tx.execute(
            "UPDATE invitations SET revoked_at = ? WHERE unit_code = ? AND used_at IS NULL "
            "AND revoked_at IS NULL AND expires_at > ?",
            [to_db(now), unit_code, to_db(now)],
        )
