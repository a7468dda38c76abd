"""Announcements by the office: draft, audience, preview with the count, send, progress, stop."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.chat.buttons import ButtonFamily
from bot.chat.paging import page_of, paging_buttons
from bot.chat.ref import Staff
from bot.chat.reply import Button, Reply, laid_out
from bot.kernel.clock import Clock
from bot.kernel.hygiene import parse_id
from bot.kernel.outbox import PRIORITY_REMINDER, FileRef, OutgoingMessage
from content.texts import Texts
from storage.announcements import Announcement, AnnouncementRepository
from storage.audit import AuditLog
from storage.db import Database
from storage.outbox import OutboxRepository

PREFIX = "a"
KIND = "announcement"
REFERENCE = "announcement"  # outbox payload "ref:announcement:<id>", rendered at send time
AUDIENCES: dict[str, tuple[str, ...]] = {
    "all": ("teacher", "head", "parent"),
    "staff": ("teacher", "head"),
    "heads": ("head",),
    "parents": ("parent",),
}
ALL_AREAS = "all"
AREAS_PER_PAGE = 8
MAX_TEXT = 3500
CAPTION_MAX = 1024  # Telegram's limit for a photo's caption, as it counts (UTF-16, no markup)


@dataclass
class Outcome:
    """What the office sees after a press: a notice, the pressed message redrawn, new messages."""

    notice: str | None = None
    redraw: Reply | None = None
    progress: Reply | None = None  # a new progress message to post (and remember)
    alert: bool = False
    replies: list[Reply] = field(default_factory=list)


ANNOUNCEMENT_BUTTON = ButtonFamily("a", int, str, str, purpose="a step of an announcement")


def button(announcement_id: int, action: str, arg: str = "") -> str:
    return ANNOUNCEMENT_BUTTON(announcement_id, action, arg)


def parse_button(data: str | None) -> tuple[int, str, str] | None:
    parsed = ANNOUNCEMENT_BUTTON.parse(data)
    return (parsed[0], parsed[1], parsed[2]) if parsed else None


class AnnouncementService:
    def __init__(
        self,
        db: Database,
        outbox: OutboxRepository,
        texts: Texts,
        clock: Clock,
        org_name: str,
        notify: Callable[[], None],
    ) -> None:
        self.db = db
        self.repo = AnnouncementRepository(db)
        self.audit = AuditLog(db)
        self.outbox = outbox
        self.texts = texts
        self.clock = clock
        self.org_name = org_name
        self.notify = notify
        self._messages: dict[int, OutgoingMessage] = {}

    async def load(self) -> None:
        """At start-up: announcements still being sent must be renderable by the sender."""
        for announcement in await self.repo.in_state("sending"):
            self._messages[announcement.id] = self._message(announcement)

    # ----------------------------------------------------------------------------- drafting

    def prompt(self) -> str:
        return self.texts.get("announce.prompt")

    def is_prompt(self, text: str | None) -> bool:
        return text is not None and text.startswith(self.texts.raw("announce.prompt_marker"))

    def refusal(self, text: str, with_photo: bool) -> Reply | None:
        """Why a draft cannot be taken (checked before a channel fetches its photo); None if ok."""
        if not text.strip() and not with_photo:
            return Reply(self.texts.get("announce.empty"))
        if len(text) > MAX_TEXT:
            return Reply(self.texts.get("announce.too_long", length=len(text), max=MAX_TEXT))
        room = self._caption_room()
        if with_photo and _telegram_length(text.strip()) > room:
            # the header comes on top of what the clerk typed: refused now, not at every send
            length = _telegram_length(text.strip())
            return Reply(self.texts.get("announce.caption_too_long", length=length, max=room))
        return None

    async def draft(self, staff: Staff, chat_id: str, text: str, photo: str | None) -> Reply:
        """A new draft; `photo` is a stored file's id (the channel put it into the store)."""
        refused = self.refusal(text, photo is not None)
        if refused is not None:
            return refused
        announcement_id = await self.repo.create(
            created_by=staff.actor,
            chat_id=chat_id,
            text=text.strip(),
            photo_ref=photo,
            now=self.clock.now(),
        )
        rows = [
            [
                Button(
                    self.texts.raw(f"announce.audience.{name}"), button(announcement_id, "r", name)
                )
            ]
            for name in AUDIENCES
        ]
        rows.append([Button(self.texts.raw("announce.cancel"), button(announcement_id, "x"))])
        return Reply(self.texts.get("announce.choose_audience", id=announcement_id), laid_out(rows))

    async def press(
        self, announcement_id: int, action: str, arg: str, staff: Staff | None = None
    ) -> Outcome:
        """A button of an announcement pressed by an office member (checked by the caller)."""
        actor = staff.actor if staff is not None else "office"
        announcement = await self.repo.get(announcement_id)
        if announcement is None:
            return Outcome(self.texts.get("announce.unknown"))
        if action == "stop":
            return await self._stop(announcement, actor)
        if announcement.state != "draft":
            return Outcome(self.texts.get("announce.not_draft"))
        if action == "r" and arg in AUDIENCES:
            await self.repo.set_audience(announcement_id, arg, None)
            return Outcome(redraw=await self._area_choice(announcement_id, 0))
        page = parse_id(arg)
        if action == "zp" and page is not None:
            return Outcome(redraw=await self._area_choice(announcement_id, page))
        if action == "z" and announcement.audience:
            areas = await self.repo.areas()
            if arg == ALL_AREAS:
                area = None
            elif page is not None and page < len(areas):
                area = areas[page]
            else:
                return Outcome(self.texts.get("announce.unknown"))
            await self.repo.set_audience(announcement_id, announcement.audience, area)
            return Outcome(redraw=await self._preview(announcement_id))
        if action == "ok" and announcement.audience:
            return await self._send(announcement, actor)
        if action == "x":
            async with self.db.transaction() as tx:
                await self.repo.finish(tx, announcement_id, "cancelled", self.clock.now())
            return Outcome(redraw=Reply(self.texts.get("announce.discarded", id=announcement_id)))
        return Outcome(self.texts.get("announce.unknown"))

    async def _area_choice(self, announcement_id: int, page: int) -> Reply:
        areas = await self.repo.areas()
        shown = page_of(areas, page, AREAS_PER_PAGE)
        rows = [
            [Button(self.texts.raw("announce.all_areas"), button(announcement_id, "z", ALL_AREAS))]
        ]
        rows += [
            [Button(area, button(announcement_id, "z", str(shown.start + offset)))]
            for offset, area in enumerate(shown.items)
        ]
        paging = paging_buttons(
            self.texts, shown.number, shown.last, lambda n: button(announcement_id, "zp", str(n))
        )
        if paging:
            rows.append(paging)
        rows.append([Button(self.texts.raw("announce.cancel"), button(announcement_id, "x"))])
        return Reply(self.texts.get("announce.choose_area", id=announcement_id), laid_out(rows))

    async def _preview(self, announcement_id: int) -> Reply:
        announcement = await self.repo.get(announcement_id)
        assert announcement is not None and announcement.audience is not None
        count = await self.repo.count_audience(AUDIENCES[announcement.audience], announcement.area)
        summary = self.texts.get(
            "announce.preview",
            id=announcement_id,
            count=count,
            audience=self.texts.raw(f"announce.audience.{announcement.audience}"),
            area=announcement.area or self.texts.raw("announce.all_areas"),
        )
        text = f"{summary}\n\n{self._message(announcement).text}"
        send = Button(self.texts.raw("announce.send", count=count), button(announcement_id, "ok"))
        cancel = Button(self.texts.raw("announce.cancel"), button(announcement_id, "x"))
        return Reply(text, laid_out([[send], [cancel]]))

    # ------------------------------------------------------------------------------ sending

    async def _send(self, announcement: Announcement, actor: str) -> Outcome:
        assert announcement.audience is not None
        self._messages[announcement.id] = self._message(announcement)
        async with self.db.transaction() as tx:
            count = await self.repo.start_sending(
                tx,
                announcement,
                AUDIENCES[announcement.audience],
                payload=f"ref:{REFERENCE}:{announcement.id}",
                kind=KIND,
                priority=PRIORITY_REMINDER,
                now=self.clock.now(),
            )
            await self.audit.record(
                tx,
                at=self.clock.now(),
                actor=actor,
                action="announcement_sent",
                subject=f"announcement:{announcement.id}",
                details=f"{announcement.audience}, {announcement.area or ALL_AREAS}",
            )
        self.notify()
        done = Reply(self.texts.get("announce.confirmed", id=announcement.id, count=count))
        return Outcome(redraw=done, progress=await self.progress_view(announcement.id))

    def _caption_room(self) -> int:
        """How much of a photo's caption is left for the clerk's text after the header."""
        org = html.escape(self.org_name)
        header = self.texts.raw("announce.message", org=org, text="")
        return CAPTION_MAX - _telegram_length(html.unescape(re.sub(r"<[^>]*>", "", header)))

    def _message(self, announcement: Announcement) -> OutgoingMessage:
        text = self.texts.raw(
            "announce.message", org=html.escape(self.org_name), text=html.escape(announcement.text)
        )
        if announcement.photo_ref:
            return OutgoingMessage(text=text, photo=FileRef.of(announcement.photo_ref))
        return OutgoingMessage(text=text)

    def render_reference(self, reference: str) -> OutgoingMessage:
        """The message an outbox row 'ref:announcement:<id>' stands for."""
        return self._messages[int(reference.split(":")[1])]

    async def progress_view(self, announcement_id: int) -> Reply:
        """The progress of a sending announcement; without a stop button once it has ended."""
        announcement = await self.repo.get(announcement_id)
        assert announcement is not None
        counts = await self.outbox.counts(ref=f"{REFERENCE}:{announcement_id}")
        figures = {
            "id": announcement_id,
            "total": announcement.recipients or 0,
            "sent": counts.get("sent", 0),
            "blocked": counts.get("blocked", 0),
            "failed": counts.get("failed", 0),
            "cancelled": counts.get("cancelled", 0),
        }
        waiting = counts.get("pending", 0) + counts.get("sending", 0)
        if announcement.state == "sending" and waiting == 0:
            async with self.db.transaction() as tx:
                await self.repo.finish(tx, announcement_id, "done", self.clock.now())
            announcement = await self.repo.get(announcement_id)
            assert announcement is not None
        if announcement.state == "sending":
            stop = Button(self.texts.raw("announce.stop"), button(announcement_id, "stop"))
            return Reply(self.texts.get("announce.progress", **figures), [stop])
        key = (
            "announce.report_cancelled" if announcement.state == "cancelled" else "announce.report"
        )
        return Reply(self.texts.get(key, **figures))

    async def _stop(self, announcement: Announcement, actor: str) -> Outcome:
        if announcement.state != "sending":
            return Outcome(self.texts.get("announce.not_sending"))
        async with self.db.transaction() as tx:
            await self.outbox.cancel(tx, ref=f"{REFERENCE}:{announcement.id}")
            await self.repo.finish(tx, announcement.id, "cancelled", self.clock.now())
            await self.audit.record(
                tx,
                at=self.clock.now(),
                actor=actor,
                action="announcement_stopped",
                subject=f"announcement:{announcement.id}",
            )
        return Outcome(
            self.texts.get("announce.stopped"), redraw=await self.progress_view(announcement.id)
        )

    async def sending(self) -> list[Announcement]:
        return await self.repo.in_state("sending")


def _telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji may count two)."""
    return len(text.encode("utf-16-le")) // 2
