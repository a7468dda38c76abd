"""Open dialogs, saved as JSON after every step so that a restart resumes where the person was."""

from __future__ import annotations

from datetime import datetime

from storage.db import Database, Transaction, to_db


class DialogStateRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, channel: str, chat_id: int) -> str | None:
        row = await self.db.fetch_one(
            "SELECT state_json FROM dialog_states WHERE channel = ? AND chat_id = ?",
            [channel, chat_id],
        )
        return str(row[0]) if row else None

    async def put(
        self,
        tx: Transaction,
        channel: str,
        chat_id: int,
        dialog: str,
        state_json: str,
        now: datetime,
    ) -> None:
        await tx.execute(
            "INSERT INTO dialog_states (channel, chat_id, dialog, state_json, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, chat_id) DO UPDATE SET "
            "dialog = excluded.dialog, state_json = excluded.state_json, "
            "updated_at = excluded.updated_at",
            [channel, chat_id, dialog, state_json, to_db(now)],
        )

    async def delete(self, tx: Transaction, channel: str, chat_id: int) -> None:
        await tx.execute(
            "DELETE FROM dialog_states WHERE channel = ? AND chat_id = ?", [channel, chat_id]
        )
