"""Open dialogs, saved after every step so that a restart resumes where the person was.

A row is keyed by its owner, a pseudonym of the chat computed by the caller, never the chat id:
while someone writes an anonymous tip, nothing in the file says who is writing.
"""

from __future__ import annotations

from datetime import datetime

from storage.db import Database, Transaction, to_db


class DialogStateRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, owner: str) -> str | None:
        row = await self.db.fetch_one(
            "SELECT state_json FROM dialog_states WHERE owner = ?", [owner]
        )
        return str(row[0]) if row else None

    async def get_in(self, tx: Transaction, owner: str) -> str | None:
        row = await tx.fetch_one("SELECT state_json FROM dialog_states WHERE owner = ?", [owner])
        return str(row[0]) if row else None

    async def put(
        self, tx: Transaction, owner: str, dialog: str, state_json: str, now: datetime
    ) -> None:
        await tx.execute(
            "INSERT INTO dialog_states (owner, dialog, state_json, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (owner) DO UPDATE SET dialog = excluded.dialog, "
            "state_json = excluded.state_json, updated_at = excluded.updated_at",
            [owner, dialog, state_json, to_db(now)],
        )

    async def delete(self, tx: Transaction, owner: str) -> None:
        await tx.execute("DELETE FROM dialog_states WHERE owner = ?", [owner])

    async def expire(self, tx: Transaction, before: datetime) -> int:
        """Drop open dialogs untouched since `before`: stale rows keep nothing about a chat."""
        return await tx.execute("DELETE FROM dialog_states WHERE updated_at < ?", [to_db(before)])
