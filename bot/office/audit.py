"""The audit log as the office reads it: `/nhatky`, the latest entries, newest first."""

from __future__ import annotations

import html
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from bot.kernel.clock import Clock, format_local
from bot.kernel.hygiene import parse_id
from content import ContentError, Texts
from storage.audit import ActorNames, AuditEntry, AuditLog
from storage.db import Database

SHOWN = 20
STATUS_ACTION = "report_status"
REFERENCES = ("deadline", "announcement", "invitation")
DEADLINE_FIELDS = ("key", "title", "description", "due_at", "reminders", "units")
AUDIENCE_NAMES = ("all", "staff", "heads", "parents")


class AuditText:
    """Entries in words: who, what, on what, when (for /nhatky and the export's sheet)."""

    def __init__(self, texts: Texts, tz: ZoneInfo) -> None:
        self.texts = texts
        self.tz = tz

    def line(self, entry: AuditEntry, names: Mapping[str, str] | None = None) -> str:
        """One entry in words; `names` gives the people behind actors (clerks, accounts)."""
        t = self.texts
        subject = t.get("audit.subject", subject=self.ref(entry.subject)) if entry.subject else ""
        details = self.details(entry)
        # subject and details are already HTML (escaped by t.get): inserted as they are (D3)
        return t.template("audit.line").format_map(
            {
                "at": html.escape(format_local(entry.at, self.tz), quote=False),
                "who": html.escape(
                    (names or {}).get(entry.actor) or self.actor(entry.actor), quote=False
                ),
                "what": html.escape(self.action(entry.action), quote=False),
                "subject": subject,
                "details": t.get("audit.details", details=details) if details else "",
            }
        )

    def actor(self, actor: str) -> str:
        kind, _, who = actor.partition(":")
        if kind == "office" and who:
            return self.texts.raw("audit.actor.office", id=who)
        return (
            self.texts.raw(f"audit.actor.{kind}") if kind in ("cli", "person", "system") else actor
        )

    def action(self, action: str) -> str:
        key = f"audit.action.{action}"
        try:
            return self.texts.raw(key)
        except ContentError:
            return action

    def ref(self, reference: str) -> str:
        """'deadline:7' as people read it (hạn chót #7); codes of reports and units as they are."""
        kind, _, number = reference.partition(":")
        if kind in REFERENCES and parse_id(number) is not None:
            return self.texts.raw(f"audit.ref.{kind}", id=number)
        return reference

    def details(self, entry: AuditEntry) -> str | None:
        t = self.texts
        if not entry.details:
            return None
        if entry.action == STATUS_ACTION and ">" in entry.details:
            before, _, after = entry.details.partition(">")
            return " → ".join(t.raw(f"status.{s}") for s in (before, after))
        if entry.action == "deadline_changed":
            names = entry.details.split(", ")
            if all(name in DEADLINE_FIELDS for name in names):
                return ", ".join(t.raw(f"audit.field.{name}") for name in names)
        if entry.action == "announcement_sent" and ", " in entry.details:
            audience, _, area = entry.details.partition(", ")
            if audience in AUDIENCE_NAMES:
                audience = t.raw(f"announce.audience.{audience}")
            return f"{audience}, {t.raw('announce.all_areas') if area == 'all' else area}"
        return self.ref(entry.details)


class AuditView(AuditText):
    """Reads the log; writing is the business of each action, in its own transaction."""

    def __init__(self, db: Database, texts: Texts, clock: Clock) -> None:
        super().__init__(texts, clock.tz)
        self.log = AuditLog(db)
        self.names = ActorNames(db)

    async def latest_text(self, limit: int = SHOWN) -> str:
        entries = await self.log.latest(limit)
        if not entries:
            return self.texts.get("audit.empty")
        lines = [self.texts.get("audit.title", count=len(entries))]
        names = await self.names.names(entry.actor for entry in entries)
        lines += [self.line(entry, names) for entry in entries]
        return "\n".join(lines)
