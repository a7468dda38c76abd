"""Staff notices (issue 11, item 9): a staff account linked to a chat (in practice a Zalo follower
of the Department's OA) gets a short message when a report arrives or stays unclaimed.

Linking: the console shows a one-time code (96 random bits, only its SHA-256 kept, 30 minutes);
the staff member types "mã cán bộ <code>" to the OA and the core router links that chat. A
notice names the report's code and category and whether it is new or unclaimed, with a button
to the report's page in the console; never its content, never anything about its sender.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.chat.ref import ChatRef
from bot.chat.reply import Button, Reply
from bot.kernel.clock import Clock
from bot.kernel.outbox import PRIORITY_INTERACTIVE, Outbox, OutgoingMessage
from content.texts import Texts
from storage.audit import AuditLog
from storage.db import Database, Transaction
from storage.outbox import OutboxRepository
from storage.reports import ReportRow
from storage.staff import StaffChat, StaffChatRepository, StaffRepository

KIND = "staff_notice"
CODE_BYTES = 12  # 96 bits
CODE_LIFE = timedelta(minutes=30)
NOTICE_ROLES = ("admin", "clerk")
REPORT_PAGE = "/vanphong/tin/{id}"
_CODE = re.compile(r"[A-Z2-7]{20}")


@dataclass(frozen=True)
class LinkCode:
    code: str  # as shown: five groups of four
    expires_at: datetime


def new_code() -> str:
    """96 random bits in base32 (20 letters and digits), grouped by four to be read easily."""
    raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii").rstrip("=")
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalize(code: str) -> str | None:
    """The code as stored (upper case, no dashes or spaces); None if it cannot be one."""
    flat = re.sub(r"[\s-]", "", code).upper()
    return flat if _CODE.fullmatch(flat) else None


def code_hash(normalized: str) -> str:
    return hashlib.sha256(b"antq-staff-link\x00" + normalized.encode("ascii")).hexdigest()


async def unlink_in(
    tx: Transaction, db: Database, staff_id: int, now: Callable[[], datetime]
) -> int:
    """The staff member's chats forgotten, their codes dropped, their queued notices cancelled;
    how many chats were linked."""
    chats = StaffChatRepository(db)
    outbox = OutboxRepository(db, now)
    linked = await chats.of_staff_in(tx, staff_id)
    for chat in linked:
        await outbox.cancel_kind_for_chat(tx, chat.channel, chat.chat_id, KIND)
    await chats.unlink(tx, staff_id)
    await chats.drop_codes_of(tx, staff_id)
    return len(linked)


class StaffNotices:
    def __init__(
        self,
        db: Database,
        texts: Texts,
        clock: Clock,
        outbox: Outbox,
        public_url: str | None,
        category_label: Callable[[str], str],
    ) -> None:
        self.db = db
        self.texts = texts
        self.clock = clock
        self.outbox = outbox
        self.public_url = public_url.rstrip("/") if public_url else None
        self.category_label = category_label
        self.chats = StaffChatRepository(db)
        self.staff = StaffRepository(db)
        self.audit = AuditLog(db)

    # --------------------------------------------------------------------------- linking

    async def new_code(self, staff_id: int) -> LinkCode:
        """A fresh one-time code for the account; the last one stops working."""
        code = new_code()
        expires = self.clock.now() + CODE_LIFE
        normalized = normalize(code)
        assert normalized is not None
        async with self.db.transaction() as tx:
            await self.chats.put_code(tx, staff_id, code_hash(normalized), expires)
        return LinkCode(code, expires)

    async def linked(self, staff_id: int) -> list[StaffChat]:
        return await self.chats.of_staff(staff_id)

    async def link(self, chat: ChatRef, typed: str) -> Reply:
        """ "mã cán bộ <code>" typed in a chat: that chat receives the account's notices."""
        normalized = normalize(typed)
        now = self.clock.now()
        if normalized is None:
            return Reply(self.texts.get("staff_link.bad_code"))
        async with self.db.transaction() as tx:
            staff_id = await self.chats.take_code(tx, code_hash(normalized), now)
            staff = await self.staff.get(staff_id) if staff_id is not None else None
            if staff is None or not staff.active:
                return Reply(self.texts.get("staff_link.bad_code"))
            await self.chats.link(tx, staff.id, chat.channel, chat.chat_id, now)
            await self.audit.record(
                tx,
                at=now,
                actor=f"staff:{staff.username}",
                action="staff_linked",
                subject=staff.username,
                details=chat.channel,  # the channel, never the chat's id
            )
        key = "staff_link.done" if staff.role in NOTICE_ROLES else "staff_link.done_viewer"
        return Reply(self.texts.get(key, name=staff.name))

    async def unlink(self, staff_id: int, actor: str, subject: str) -> bool:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            count = await unlink_in(tx, self.db, staff_id, self.clock.now)
            if count:
                await self.audit.record(
                    tx, at=now, actor=actor, action="staff_unlinked", subject=subject
                )
        return count > 0

    # --------------------------------------------------------------------------- notices

    def report_url(self, report_id: int) -> str | None:
        if not self.public_url:
            return None
        return self.public_url + REPORT_PAGE.format(id=report_id)

    def notice(self, report: ReportRow, *, unclaimed: bool) -> Reply:
        """The notice's text and button: the code, the category, new or unclaimed; no content."""
        t = self.texts
        state = t.raw("staff_notice.unclaimed" if unclaimed else "staff_notice.new")
        text = t.get(
            "staff_notice.text",
            code=report.code,
            category=self.category_label(report.category),
            state=state,
        )
        url = self.report_url(report.id)
        if url is None:
            return Reply(f"{text}\n{t.get('staff_notice.open_console')}")
        return Reply(text, [Button(t.raw("staff_notice.button"), "", url=url)])

    async def queue(self, tx: Transaction, report: ReportRow, *, unclaimed: bool) -> int:
        """One notice to each linked chat of an active admin or clerk, in tx; how many."""
        message = OutgoingMessage.from_reply(self.notice(report, unclaimed=unclaimed))
        chats = await self.chats.notice_chats(tx, NOTICE_ROLES)
        for chat in chats:
            await self.outbox.enqueue(
                tx,
                channel=chat.channel,
                chat_id=chat.chat_id,
                kind=KIND,
                message=message,
                ref=f"report:{report.id}",
                priority=PRIORITY_INTERACTIVE,
            )
        return len(chats)
