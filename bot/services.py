"""Everything the handlers use, built once from the settings and passed down (no globals)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.conversation import Conversations
from bot.dialogs import DialogEngine
from bot.people import PeopleService
from content import Content
from storage.db import Database
from storage.people import PeopleRepository
from storage.units import UnitRepository


@dataclass
class Services:
    settings: Settings
    content: Content
    db: Database
    clock: Clock
    people: PeopleService
    conversations: Conversations

    @classmethod
    async def open(cls, settings: Settings, content: Content, clock: Clock) -> Services:
        db = await Database.open(settings.database_path)
        units = UnitRepository(db)
        people = PeopleService(content, PeopleRepository(db), units, clock, settings.org_name)
        engine = DialogEngine(
            content.dialogs, content.texts, clock.today, sources={"units": people.unit_options}
        )
        conversations = Conversations(
            db,
            engine,
            content.texts,
            clock,
            finishers={
                "onboarding": people.finish_onboarding,
                "delete_data": people.finish_deletion,
            },
        )
        return cls(settings, content, db, clock, people, conversations)

    async def close(self) -> None:
        await self.db.close()
