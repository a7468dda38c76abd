"""The bot's services on a database without any channel: the outbox fills, nothing drains it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.deadlines.service import Scope
from bot.kernel.clock import ManualClock
from bot.kernel.config import Settings
from bot.kernel.services import Services
from content import Content
from storage.units import UnitRepository
from tests.conftest import OFFICE_CHAT_ID, TZ, UNITS

START = datetime(2026, 11, 26, 9, 0, tzinfo=TZ)
DUE = datetime(2026, 12, 10, 17, 0, tzinfo=TZ)


@dataclass
class World:
    """Services on a database, without a channel: the outbox fills and nothing drains it."""

    path: Path
    bundle: Content
    clock: ManualClock
    services: Services

    def settings(self) -> Settings:
        return Settings(
            _env_file=None,
            database_path=self.path,
            data_key_file=self.path.with_suffix(".key"),
            office_chat_id=OFFICE_CHAT_ID,
        )

    async def restart(self) -> None:
        await self.services.close()
        self.services = await Services.open(self.settings(), self.bundle, self.clock)

    async def head(self, chat_id: int, unit: str, role: str = "head") -> None:
        async with self.services.db.transaction() as tx:
            await self.services.people.people.save(
                tx,
                channel="telegram",
                chat_id=chat_id,
                role=role,
                unit_code=unit,
                subscribed=False,
                now=self.clock.now(),
            )

    async def deadline(
        self, scope: Scope, due: datetime = DUE, plan: str | None = None, title: str = "Đăng ký"
    ) -> int:
        deadlines = self.services.deadlines
        created = await deadlines.create_draft("test")
        await deadlines.update(
            created, title=title, due_at=due.astimezone(UTC), scope=scope, reminders=plan
        )
        assert await deadlines.open(created) is None
        return created

    async def at(self, moment: datetime) -> int:
        self.clock.set(moment)
        return await self.services.reminders.tick()

    async def rows(self, kind: str = "deadline_reminder") -> list[tuple[int, str, str, str]]:
        """(chat id, state, text, not_before) of the outbox rows of a kind, in order."""
        db = self.services.db
        found = await db.fetch_all(
            "SELECT chat_id, state, payload, not_before FROM outbox WHERE kind = ? ORDER BY id",
            [kind],
        )
        decode = self.services.decode_outgoing
        return [(int(chat), state, decode(payload).text, nb) for chat, state, payload, nb in found]


async def open_world(
    tmp_path: Path, bundle: Content, start: datetime = START
) -> AsyncIterator[World]:
    """A World on a fresh database with the test units; closed afterwards."""
    clock = ManualClock(TZ, start)
    placeholder = World(tmp_path / "antq.db", bundle, clock, None)  # type: ignore[arg-type]
    services = await Services.open(placeholder.settings(), bundle, clock)
    await UnitRepository(services.db).upsert_all(UNITS)
    placeholder.services = services
    try:
        yield placeholder
    finally:
        await placeholder.services.close()
