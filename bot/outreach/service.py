"""Weekly outreach: which week it is, who gets which version, when the push is planned."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.chat.buttons import ButtonFamily
from bot.chat.paging import page_of, paging_buttons
from bot.chat.ref import ChatRef
from bot.chat.reply import Button, Reply, laid_out
from bot.kernel.clock import Clock, QuietHours, format_date
from bot.kernel.config import Settings
from bot.kernel.outbox import PRIORITY_BULK, OutgoingMessage
from content.outreach_schema import TOPICS, OutreachItem, staff_body
from content.texts import Texts
from storage.db import Database
from storage.outreach import OutreachRepository
from storage.people import PeopleRepository
from storage.units import UnitRepository

KIND = "outreach"
REFERENCE = "outreach"  # outbox payloads "ref:outreach:<week>:<version>" are rendered at send
AUDIENCES: dict[str, tuple[str, ...]] = {"staff": ("teacher", "head"), "parents": ("parent",)}
VERSION_OF_ROLE = {"teacher": "staff", "head": "head", "parent": "parents"}
WEEKDAYS = {"sun": -1, "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5}
CONFIRM_BUTTON = ButtonFamily("w", str, purpose="a head: used at the flag-raising session")
ARCHIVE_ITEM_BUTTON = ButtonFamily("o", str, purpose="open a week of the archive")
ARCHIVE_PAGE_BUTTON = ButtonFamily("op", int, purpose="a page of the archive")
ARCHIVE_PAGE_SIZE = 8


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def session_week(day: date) -> date:
    """The Monday whose flag-raising session the material of `day` is for (Sunday looks ahead)."""
    return day + timedelta(days=1) if day.weekday() == 6 else monday_of(day)


def week_moment(week: date, spec: str, tz: ZoneInfo) -> datetime:
    """'sun 19:00' relative to the session's Monday, as a UTC instant."""
    day, clock_time = spec.split()
    hour, minute = (int(part) for part in clock_time.split(":"))
    local = datetime.combine(week + timedelta(days=WEEKDAYS[day]), time(hour, minute), tz)
    return local.astimezone(UTC)


class OutreachService:
    def __init__(
        self,
        db: Database,
        items: dict[date, OutreachItem],
        texts: Texts,
        clock: Clock,
        settings: Settings,
        notify: Callable[[], None],
    ) -> None:
        self.db = db
        self.items = items
        self.texts = texts
        self.clock = clock
        self.tz = clock.tz
        self.repo = OutreachRepository(db)
        self.people = PeopleRepository(db)
        self.units = UnitRepository(db)
        self.notify = notify
        self.schedule = {
            "staff": (settings.outreach_staff_at, settings.outreach_staff_until),
            "parents": (settings.outreach_parents_at, settings.outreach_parents_until),
        }
        self.quiet = QuietHours.parse(settings.quiet_hours)
        self._rendered: dict[str, OutgoingMessage] = {}

    # --------------------------------------------------------------------------- schedule

    async def tick(self) -> int:
        """Plan every push that is due and not yet planned; run every minute and at start-up.

        Derived from the database each time: a bot that was down at the scheduled time plans the
        push when it is back, as long as the grace window has not passed.
        """
        now = self.clock.now()
        today = now.astimezone(self.tz).date()
        planned = 0
        for week in sorted({monday_of(today), monday_of(today) + timedelta(days=7)}):
            item = self.items.get(week)
            if item is None or item.holiday:
                continue
            for audience, (at, until) in self.schedule.items():
                if not week_moment(week, at, self.tz) <= now <= week_moment(week, until, self.tz):
                    continue
                planned += await self._plan(week, audience, now)
        if planned:
            self.notify()
        return planned

    async def _plan(self, week: date, audience: str, now: datetime) -> int:
        not_before = self.quiet.end_after(now, self.tz)
        payloads = {
            role: f"ref:{REFERENCE}:{week.isoformat()}:{VERSION_OF_ROLE[role]}"
            for role in AUDIENCES[audience]
        }
        async with self.db.transaction() as tx:
            if await self.repo.push_planned(tx, week, audience):
                return 0
            return await self.repo.plan_push(
                tx,
                week=week,
                audience=audience,
                payload_by_role=payloads,
                kind=KIND,
                priority=PRIORITY_BULK,
                not_before=not_before if not_before > now else None,
                now=now,
            )

    # -------------------------------------------------------------------------- rendering

    def render_reference(self, reference: str) -> OutgoingMessage:
        """An outbox reference ('outreach:2026-09-07:head') as the message to send."""
        cached = self._rendered.get(reference)
        if cached is None:
            _, week_text, version = reference.split(":")
            item = self.items[date.fromisoformat(week_text)]
            reply = self.message(item, version)
            cached = OutgoingMessage.from_reply(reply, disable_notification=False)
            self._rendered[reference] = cached
        return cached

    def message(
        self,
        item: OutreachItem,
        version: str,
        unit_kind: str | None = None,
        *,
        quiz_follows: bool = False,
    ) -> Reply:
        """The week's item as one role reads it; unit heads also get the confirmation button.

        Staff of a known unit get the note for young pupils only if the unit is of a primary kind;
        a push (unit not known) carries it, labelled for primary schools.
        """
        t = self.texts
        if item.holiday:
            return Reply(
                t.get("outreach.holiday", date=format_date(item.week_start), title=item.title)
            )
        if version == "parents":
            return Reply(t.raw("outreach.parents", title=html.escape(item.title), body=item.parent))
        # the pushed item says where the quiz is; /tuannay shows it right below instead
        hint = t.raw("outreach.quiz_hint") if item.quiz and not quiz_follows else ""
        text = t.raw(
            "outreach.staff",
            date=format_date(item.week_start),
            title=html.escape(item.title),
            topic=TOPICS[item.topic],
            body=staff_body(item, t, unit_kind),
            quiz_hint=hint,
        )
        buttons = []
        if version == "head":
            label = t.raw("outreach.confirm_button")
            buttons = [Button(label, CONFIRM_BUTTON(item.week_start.isoformat()))]
        return Reply(text, buttons)

    def quiz(self, item: OutreachItem) -> Reply | None:
        if item.quiz is None:
            return None
        return Reply(
            self.texts.get("outreach.quiz", question=item.quiz.question, answer=item.quiz.answer)
        )

    # --------------------------------------------------------------------- what people ask

    async def this_week(self, chat: ChatRef) -> list[Reply]:
        item = self.current_item()
        if item is None:
            return [Reply(self.texts.get("outreach.none"))]
        return await self._show(chat, item)

    def current_item(self) -> OutreachItem | None:
        return self.items.get(session_week(self.clock.now().astimezone(self.tz).date()))

    async def show_week(self, chat: ChatRef, week_text: str) -> list[Reply]:
        try:
            item = self.items.get(date.fromisoformat(week_text))
        except ValueError:
            item = None
        if item is None or item.week_start > session_week(self.clock.today()):
            return [Reply(self.texts.get("outreach.none"))]
        return await self._show(chat, item)

    async def _show(self, chat: ChatRef, item: OutreachItem) -> list[Reply]:
        person = await self.people.get(chat.channel, chat.chat_id)
        version = VERSION_OF_ROLE[person.role] if person else "parents"
        unit = await self.units.get(person.unit_code) if person and person.unit_code else None
        quiz = None if item.holiday else self.quiz(item)
        follows = quiz is not None and version != "parents"
        replies = [self.message(item, version, unit.kind if unit else None, quiz_follows=follows)]
        if quiz and version != "parents":
            replies.append(quiz)
        if person is None:
            replies.append(Reply(self.texts.get("outreach.need_start")))
        return replies

    def archive(self, page: int) -> Reply:
        """Past weeks, newest first, as buttons; paged."""
        current = session_week(self.clock.today())
        past = sorted(
            (w for w, i in self.items.items() if w <= current and not i.holiday), reverse=True
        )
        if not past:
            return Reply(self.texts.get("outreach.archive_empty"))
        shown = page_of(past, page, ARCHIVE_PAGE_SIZE)
        rows = [
            [
                Button(
                    self.texts.raw(
                        "outreach.archive_line", date=format_date(w), title=self.items[w].title
                    ),
                    ARCHIVE_ITEM_BUTTON(w.isoformat()),
                )
            ]
            for w in shown.items
        ]
        paging = paging_buttons(self.texts, shown.number, shown.last, ARCHIVE_PAGE_BUTTON)
        if paging:
            rows.append(paging)
        return Reply(self.texts.get("outreach.archive"), laid_out(rows))

    async def confirm(self, chat: ChatRef, week_text: str) -> str:
        """A unit head's "used at the flag-raising session" for their unit and that week."""
        try:
            week = date.fromisoformat(week_text)
        except ValueError:
            return self.texts.get("outreach.unknown_week")
        if week not in self.items or self.items[week].holiday:
            return self.texts.get("outreach.unknown_week")
        person = await self.people.get(chat.channel, chat.chat_id)
        if person is None or person.role != "head" or person.unit_code is None:
            return self.texts.get("outreach.confirm_not_head")
        # only a week that reached this head (or this week's, shown by /tuannay), never a later one
        current = session_week(self.clock.now().astimezone(self.tz).date())
        reached = week == current or await self.repo.pushed_to(week, "staff", person.id)
        if week > current or not reached:
            return self.texts.get("outreach.confirm_not_pushed")
        async with self.db.transaction() as tx:
            new = await self.repo.confirm(tx, person.unit_code, week, person.id, self.clock.now())
        if not new:
            return self.texts.get("outreach.already_confirmed")
        unit = await self.units.get(person.unit_code)
        name = unit.name if unit else person.unit_code
        return self.texts.get("outreach.confirmed", unit=name, date=format_date(week))

    async def subscribe(self, chat: ChatRef, subscribed: bool) -> Reply:
        async with self.db.transaction() as tx:
            registered = await self.people.set_subscribed(
                tx, chat.channel, chat.chat_id, subscribed, self.clock.now()
            )
        if not registered:
            return Reply(self.texts.get("outreach.need_start"))
        if not subscribed:
            return Reply(self.texts.get("outreach.unsubscribed"))
        person = await self.people.get(chat.channel, chat.chat_id)
        version = VERSION_OF_ROLE.get(person.role, "parents") if person else "parents"
        key = "outreach.subscribed_parents" if version == "parents" else "outreach.subscribed_staff"
        return Reply(self.texts.get(key))  # the reader's own schedule, not everyone's
