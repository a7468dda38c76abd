"""Onboarding, profile, help and deletion of a person's data: what the basic commands do."""

from __future__ import annotations

from typing import Any

from bot.chat.ref import ChatRef
from bot.chat.reply import Reply
from bot.dialogs.conversation import Finish
from bot.dialogs.engine import OptionPage
from bot.kernel.clock import Clock
from content import Content
from content.outreach_schema import unit_kinds
from storage.db import Transaction
from storage.people import PeopleRepository, Person
from storage.units import UnitRepository

OFFICE_ROLE = "office"
UNREGISTERED_ROLE = "unregistered"
HEAD_ROLE = "head"


class PeopleService:
    def __init__(
        self,
        content: Content,
        people: PeopleRepository,
        units: UnitRepository,
        clock: Clock,
        org_name: str,
    ) -> None:
        self.content = content
        self.texts = content.texts
        self.people = people
        self.units = units
        self.clock = clock
        self.org_name = org_name

    async def unit_options(self, query: str | None, offset: int, limit: int) -> OptionPage:
        """The unit picker of onboarding: search by name, one page at a time."""
        found, total = await self.units.search(query, offset, limit)
        return OptionPage([(unit.code, unit.name) for unit in found], total)

    async def school_options(self, query: str | None, offset: int, limit: int) -> OptionPage:
        """The parent's picker: schools only, not the Department's offices (unit_kinds.yaml)."""
        found, total = await self.units.search(query, offset, limit, unit_kinds()["offices"])
        return OptionPage([(unit.code, unit.name) for unit in found], total)

    async def finish_onboarding(
        self, tx: Transaction, chat: ChatRef, answers: dict[str, Any], context: dict[str, str]
    ) -> Finish:
        role, unit = answers["role"], answers.get("unit") or answers.get("school")
        if role == HEAD_ROLE:  # only offered to a head already (invited): the unit stays
            current = await self.people.get_in(tx, chat.channel, chat.chat_id)
            if current is None or current.role != HEAD_ROLE:
                return Finish([Reply(self.texts.get("onboarding.head_needs_invitation"))])
            unit = current.unit_code
        await self.people.save(
            tx,
            channel=chat.channel,
            chat_id=chat.chat_id,
            role=role,
            unit_code=unit,
            subscribed=answers.get("subscribe") == "yes",
            now=self.clock.now(),
        )
        profile = await self._profile_params(role, unit, answers.get("subscribe") == "yes")
        return Finish(
            [
                Reply(self.texts.get("welcome.done", **profile)),
                Reply(self.help_text(answers["role"])),
            ]
        )

    async def finish_deletion(
        self, tx: Transaction, chat: ChatRef, answers: dict[str, Any], context: dict[str, str]
    ) -> Finish:
        deleted = await self.people.delete(tx, chat.channel, chat.chat_id)
        key = "delete_data.done" if deleted else "delete_data.nothing"
        return Finish([Reply(self.texts.get(key))])

    async def welcome_back(self, person: Person) -> Reply:
        profile = await self._profile_params(person.role, person.unit_code, person.subscribed)
        return Reply(self.texts.get("welcome.back", **profile))

    def help_text(self, role: str, is_office: bool = False) -> str:
        text = self.texts.get(f"help.{role}")
        if is_office and role != OFFICE_ROLE:
            text = f"{text}\n\n{self.texts.get('help.office')}"
        return text

    async def onboarding_context(self, chat: ChatRef | None = None) -> dict[str, str]:
        """The role "unit head" is offered only to someone who already is one (by invitation)."""
        context = {"org_name": self.org_name}
        person = await self.people.get(chat.channel, chat.chat_id) if chat else None
        if person is not None and person.role == HEAD_ROLE:
            context["is_head"] = "yes"
        return context

    async def _profile_params(
        self, role: str, unit_code: str | None, subscribed: bool
    ) -> dict[str, str]:
        unit = await self.units.get(unit_code) if unit_code else None
        return {
            "role": self.texts.get(f"roles.{role}"),
            "unit": unit.name if unit else self.texts.get("welcome.no_unit"),
            "subscribed": self.texts.get(
                "welcome.answer_yes" if subscribed else "welcome.answer_no"
            ),
        }
