"""Invitations of unit heads: unguessable one-time codes per unit, links, redemption, revocation."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.chat.buttons import ButtonFamily
from bot.chat.ref import ChatRef, Staff
from bot.chat.reply import Button, Reply, laid_out
from bot.dialogs.conversation import Finish
from bot.kernel.clock import Clock, format_local
from bot.kernel.hygiene import parse_id
from content.texts import Texts
from storage.audit import AuditLog
from storage.db import Database, Transaction
from storage.invitations import Invitation, InvitationRepository
from storage.people import PeopleRepository
from storage.units import Unit, UnitRepository

VALID_FOR = timedelta(days=30)
CODE_BYTES = 12  # 96 bits, 16 URL-safe characters: a Telegram start parameter
PREFIX = "iv"  # office buttons: "iv:x:<invitation id>" revokes, "iv:n:<unit code>" creates,
# "iv:p:<offset>:<search>" shows another page of the units matching a search
_CODE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MATCHES_SHOWN = 8
SEARCHES_KEPT = 200  # /moi searches whose pages can still be turned


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


LinkOf = Callable[[str], str]
"""An invitation code -> the link that brings it to the bot, in a channel's own format (the
channel adapter knows it: Telegram's start links); on any channel the code can also be typed."""


INVITATION_BUTTON = ButtonFamily(
    PREFIX, str, str, purpose="revoke (x) or issue (n) a link, or a page (p) of a /moi search"
)


def parse_button(data: str | None) -> tuple[str, str] | None:
    parsed = INVITATION_BUTTON.parse(data)
    if parsed is None or parsed[0] not in ("x", "n", "p") or not parsed[1]:
        return None
    return parsed[0], parsed[1]


@dataclass(frozen=True)
class Issued:
    """A new invitation: the code exists only here and in what is handed to the office."""

    unit: Unit
    code: str
    invitation_id: int
    expires_at: datetime


@dataclass
class Redemption:
    """What a person who opened an invitation link is told, or the dialog that confirms it."""

    replies: list[Reply]
    dialog_context: dict[str, str] | None = None


class InvitationService:
    def __init__(
        self,
        db: Database,
        texts: Texts,
        clock: Clock,
        org_name: str,
    ) -> None:
        self.db = db
        self.repo = InvitationRepository(db)
        self.audit = AuditLog(db)
        self.units = UnitRepository(db)
        self.people = PeopleRepository(db)
        self._searches: dict[str, str] = {}  # token of a /moi search -> its text, for paging
        self.texts = texts
        self.clock = clock
        self.org_name = org_name

    # ----------------------------------------------------------------------------- issuing

    async def issue(self, units: list[Unit], created_by: str) -> list[Issued]:
        """One new code per unit, all in one transaction."""
        now = self.clock.now()
        expires = now + VALID_FOR
        codes = [new_code() for _ in units]
        async with self.db.transaction() as tx:
            await self.repo.add_many(
                tx,
                ((hash_code(code), unit.code) for code, unit in zip(codes, units, strict=True)),
                created_by=created_by,
                now=now,
                expires_at=expires,
            )
            issued = []
            for code, unit in zip(codes, units, strict=True):
                invitation = await self.repo.by_hash(tx, hash_code(code))
                assert invitation is not None
                await self.audit.record(
                    tx,
                    at=now,
                    actor=created_by,
                    action="invitation_created",
                    subject=unit.code,
                    details=f"invitation:{invitation.id}",
                )
                issued.append(Issued(unit, code, invitation.id, expires))
        return issued

    async def all_units(self, codes: list[str] | None = None) -> tuple[list[Unit], list[str]]:
        """Every unit (or those named), and the named codes that do not exist."""
        if not codes:
            found, _ = await self.units.search(None, 0, 1_000_000)
            return found, []
        units, unknown = [], []
        for code in codes:
            unit = await self.units.get(code) or await self.units.get(code.upper())
            if unit is None:
                unknown.append(code)
            elif unit not in units:
                units.append(unit)
        return units, unknown

    # ------------------------------------------------------------------ the office's /moi

    async def command(self, argument: str, staff: Staff, link: LinkOf) -> Reply:
        """/moi <unit code or name>: a link for one unit; /moi thuhoi <code>: revoke."""
        text = " ".join(argument.split())
        if not text:
            return Reply(self.texts.get("invite.usage"))
        word, _, rest = text.partition(" ")
        if word.lower() in ("thuhoi", "thu_hoi", "thu-hoi") and rest:
            return await self.revoke_unit(rest.strip(), staff)
        unit = await self.units.get(text) or await self.units.get(text.upper())
        if unit is not None:
            return await self.issue_one(unit.code, staff, link)
        found, total = await self.units.search(text, 0, MATCHES_SHOWN)
        if total == 0:
            return Reply(self.texts.get("invite.no_unit", query=text))
        if total == 1:
            return await self.issue_one(found[0].code, staff, link)
        return await self.choices(text, 0)

    async def choices(self, query: str, offset: int) -> Reply:
        """One page of the units matching `query`, with the buttons to the other pages (D14)."""
        found, total = await self.units.search(query, max(offset, 0), MATCHES_SHOWN)
        if not found:
            return Reply(self.texts.get("invite.no_unit", query=query))
        offset = max(offset, 0)
        rows = [[Button(unit.name, f"{PREFIX}:n:{unit.code}")] for unit in found]
        pages: list[Button] = []
        for label, start in (
            ("dialog.previous_page", offset - MATCHES_SHOWN),
            ("dialog.next_page", offset + MATCHES_SHOWN),
        ):
            if 0 <= start < total:
                data = INVITATION_BUTTON("p", f"{start}.{self._remember_search(query)}")
                pages.append(Button(self.texts.raw(label), data))
        if pages:
            rows.append(pages)
        text = self.texts.get("invite.choose", query=query, count=total)
        if total > len(found):
            shown = self.texts.get(
                "invite.page", first=offset + 1, last=offset + len(found), count=total
            )
            text = f"{text}\n{shown}"
        return Reply(text, laid_out(rows))

    def _remember_search(self, query: str) -> str:
        """A short token for a search (any text, any length) that a page button can carry."""
        token = hashlib.sha256(query.encode()).hexdigest()[:12]
        self._searches[token] = query
        while len(self._searches) > SEARCHES_KEPT:
            del self._searches[next(iter(self._searches))]
        return token

    async def page(self, value: str) -> Reply | None:
        """The page a "Trang sau" button asks for; None for forged data or a search forgotten
        (by a restart): the clerk types /moi again."""
        offset_text, _, token = value.partition(".")
        offset = parse_id(offset_text)
        query = self._searches.get(token)
        if offset is None or query is None:
            return None
        return await self.choices(query, offset)

    async def issue_one(self, unit_code: str, staff: Staff, link: LinkOf) -> Reply:
        unit = await self.units.get(unit_code)
        if unit is None:
            return Reply(self.texts.get("invite.no_unit", query=unit_code))
        (issued,) = await self.issue([unit], staff.actor)
        revoke = Button(
            self.texts.raw("invite.revoke_button"), f"{PREFIX}:x:{issued.invitation_id}"
        )
        text = self.texts.get(
            "invite.issued",
            unit=unit.name,
            code=unit.code,
            link=link(issued.code),
            expires=format_local(issued.expires_at, self.clock.tz),
        )
        return Reply(text, [revoke])

    async def revoke(self, invitation_id: int, staff: Staff | None = None) -> str:
        invitation = await self.repo.get(invitation_id)
        if invitation is None:
            return self.texts.get("invite.unknown")
        now = self.clock.now()
        async with self.db.transaction() as tx:
            revoked = await self.repo.revoke(tx, invitation_id, now)
            if revoked:
                await self.audit.record(
                    tx,
                    at=now,
                    actor=_actor(staff),
                    action="invitation_revoked",
                    subject=invitation.unit_code,
                    details=f"invitation:{invitation_id}",
                )
        unit = await self.units.get(invitation.unit_code)
        name = unit.name if unit else invitation.unit_code
        if revoked:
            return self.texts.get("invite.revoked_one", unit=name)
        if invitation.used_at is not None:
            return self.texts.get("invite.revoke_used", unit=name)
        return self.texts.get("invite.revoke_already", unit=name)

    async def revoke_unit(self, code: str, staff: Staff | None = None) -> Reply:
        unit = await self.units.get(code) or await self.units.get(code.upper())
        if unit is None:
            return Reply(self.texts.get("invite.no_unit", query=code))
        now = self.clock.now()
        async with self.db.transaction() as tx:
            count = await self.repo.revoke_unit(tx, unit.code, now)
            if count:
                await self.audit.record(
                    tx,
                    at=now,
                    actor=_actor(staff),
                    action="invitation_revoked",
                    subject=unit.code,
                    details=str(count),
                )
        return Reply(self.texts.get("invite.revoked_unit", unit=unit.name, count=count))

    # ------------------------------------------------------------------------ redemption

    async def redeem(self, chat: ChatRef, code: str) -> Redemption:
        """Someone opened a link: the unit's name and a confirmation, or why not."""
        invitation = await self._find(code)
        person = await self.people.get(chat.channel, chat.chat_id)
        if invitation is None:
            return Redemption([Reply(self.texts.get("invite.forged"))])
        unit = await self.units.get(invitation.unit_code)
        if unit is None:
            return Redemption([Reply(self.texts.get("invite.forged"))])
        if person is not None and person.role == "head" and person.unit_code == unit.code:
            return Redemption([Reply(self.texts.get("invite.already_head", unit=unit.name))])
        problem = self._problem(invitation)
        if problem is not None:
            return Redemption([Reply(self.texts.get(problem, unit=unit.name))])
        context = {
            "invitation": str(invitation.id),
            "unit_name": unit.name,
            "org_name": self.org_name,
        }
        intro = Reply(self.texts.get("invite.welcome", org_name=self.org_name, unit=unit.name))
        return Redemption([intro], context)

    async def _find(self, code: str) -> Invitation | None:
        if not _CODE_SHAPE.match(code):
            return None
        return await self.repo.by_hash(None, hash_code(code))

    def _problem(self, invitation: Invitation) -> str | None:
        if invitation.revoked_at is not None:
            return "invite.revoked"
        if invitation.used_at is not None:
            return "invite.used"
        if invitation.expires_at <= self.clock.now():
            return "invite.expired"
        return None

    async def finish(
        self, tx: Transaction, chat: ChatRef, answers: dict[str, Any], context: dict[str, str]
    ) -> Finish:
        """The person confirmed: they become a head of the unit, and the code is spent."""
        now = self.clock.now()
        invitation = await self.repo.get_in(tx, int(context["invitation"]))
        problem = "invite.forged" if invitation is None else self._problem(invitation)
        if invitation is None or problem is not None:
            return Finish([Reply(self.texts.get(problem or "invite.forged", unit=""))])
        subscribed = answers.get("subscribe") == "yes"
        await self.people.save(
            tx,
            channel=chat.channel,
            chat_id=chat.chat_id,
            role="head",
            unit_code=invitation.unit_code,
            subscribed=subscribed,
            now=now,
        )
        person = await self.people.get_in(tx, chat.channel, chat.chat_id)
        assert person is not None
        await self.repo.use(tx, invitation.id, person.id, now)
        return Finish(
            [
                Reply(
                    self.texts.get(
                        "invite.done",
                        unit=context["unit_name"],
                        subscribed=self.texts.get(
                            "welcome.answer_yes" if subscribed else "welcome.answer_no"
                        ),
                    )
                ),
                Reply(self.texts.get("help.head")),
            ]
        )


def _actor(staff: Staff | None) -> str:
    return staff.actor if staff is not None else "office"
