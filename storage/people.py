"""People who finished onboarding: their role, unit, consent and subscription."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, Transaction, from_db, to_db

ROLES = ("teacher", "parent", "head")


@dataclass(frozen=True)
class Person:
    id: int
    channel: str
    chat_id: str
    role: str
    unit_code: str | None
    consent_at: datetime
    subscribed: bool
    active: bool


_COLUMNS = "id, channel, chat_id, role, unit_code, consent_at, subscribed, active"


def _person(row: Sequence[Any]) -> Person:
    id_, channel, chat_id, role, unit_code, consent_at, subscribed, active = row
    return Person(
        id_, channel, chat_id, role, unit_code, from_db(consent_at), bool(subscribed), bool(active)
    )


class PeopleRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, channel: str, chat_id: str) -> Person | None:
        row = await self.db.fetch_one(
            f"SELECT {_COLUMNS} FROM people WHERE channel = ? AND chat_id = ?", [channel, chat_id]
        )
        return _person(row) if row else None

    async def get_in(self, tx: Transaction, channel: str, chat_id: str) -> Person | None:
        row = await tx.fetch_one(
            f"SELECT {_COLUMNS} FROM people WHERE channel = ? AND chat_id = ?", [channel, chat_id]
        )
        return _person(row) if row else None

    async def save(
        self,
        tx: Transaction,
        *,
        channel: str,
        chat_id: str,
        role: str,
        unit_code: str | None,
        subscribed: bool,
        now: datetime,
    ) -> None:
        """Create or update a person at the end of onboarding; consent is dated now."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role}")
        stamp = to_db(now)
        await tx.execute(
            "INSERT INTO people (channel, chat_id, role, unit_code, consent_at, subscribed, "
            "active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) "
            "ON CONFLICT (channel, chat_id) DO UPDATE SET role = excluded.role, "
            "unit_code = excluded.unit_code, consent_at = excluded.consent_at, "
            "subscribed = excluded.subscribed, active = 1, updated_at = excluded.updated_at",
            [channel, chat_id, role, unit_code, stamp, int(subscribed), stamp, stamp],
        )

    async def delete(self, tx: Transaction, channel: str, chat_id: str) -> bool:
        return (
            await tx.execute(
                "DELETE FROM people WHERE channel = ? AND chat_id = ?", [channel, chat_id]
            )
            > 0
        )

    async def set_active(self, tx: Transaction, channel: str, chat_id: str, active: bool) -> None:
        await tx.execute(
            "UPDATE people SET active = ? WHERE channel = ? AND chat_id = ?",
            [int(active), channel, chat_id],
        )

    async def unreachable(self, tx: Transaction, channel: str, chat_id: str) -> None:
        """The person blocked the bot: no more outreach until they come back with /dangky."""
        await tx.execute(
            "UPDATE people SET active = 0, subscribed = 0 WHERE channel = ? AND chat_id = ?",
            [channel, chat_id],
        )

    async def set_subscribed(
        self, tx: Transaction, channel: str, chat_id: str, subscribed: bool, now: datetime
    ) -> bool:
        """Subscribe or unsubscribe a registered person; False if they are not registered."""
        changed = await tx.execute(
            "UPDATE people SET subscribed = ?, active = 1, updated_at = ? "
            "WHERE channel = ? AND chat_id = ?",
            [int(subscribed), to_db(now), channel, chat_id],
        )
        return changed > 0
