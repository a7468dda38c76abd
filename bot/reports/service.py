"""Reports and anonymous tips from people: submission, receipts, lookup and follow-up."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.chat.ref import ChatRef
from bot.chat.reply import Reply
from bot.dialogs.conversation import Finish
from bot.dialogs.engine import OptionPage, stored_ref
from bot.kernel.clock import Clock, format_local
from bot.kernel.crypto import Cipher
from bot.kernel.files import FileStore
from bot.office.review import OfficeDesk
from bot.reports.receipts import (
    AnonymousKeyer,
    AttemptLimiter,
    hash_passphrase,
    new_code,
    new_passphrase,
    normalize_code,
    verify_passphrase,
)
from content import Content
from storage.db import Transaction
from storage.people import PeopleRepository
from storage.reports import ReportFile, ReportRepository, ReportRow
from storage.units import UnitRepository

log = logging.getLogger(__name__)

REPORTS_PER_HOUR = 5
DUPLICATE_WINDOW = timedelta(minutes=10)
LOOKUP_FAILURES = 5
LOOKUP_WINDOW = timedelta(minutes=15)
GLOBAL_LOOKUP_FAILURES = 200  # beyond this many in a window: a warning, never a lock-out
CODE_LOOKUP_FAILURES = 10  # wrong passphrases for one code, from any chat
LOOKUP_TEXT_BUDGET = 3900  # of Telegram's 4,096, as HTML source, with room for the "older" line
RECEIPT_RECOVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class FormSubmission:
    report: ReportRow
    passphrase: str
    named_passphrase_hash: str | None  # for a named web report: to keep beside it


class ReportService:
    def __init__(
        self,
        content: Content,
        cipher: Cipher,
        clock: Clock,
        desk: OfficeDesk,
        people: PeopleRepository,
        units: UnitRepository,
        org_name: str,
        files: FileStore | None = None,
    ) -> None:
        self.files = files
        self.content = content
        self.texts = content.texts
        self.cipher = cipher
        self.clock = clock
        self.desk = desk
        self.reports: ReportRepository = desk.reports
        self.people = people
        self.units = units
        self.org_name = org_name
        now = clock.now
        self.keyer = AnonymousKeyer()  # salt in memory only: nothing identifying is stored
        self.submissions = AttemptLimiter(REPORTS_PER_HOUR, timedelta(hours=1), now)
        self.lookup_failures = AttemptLimiter(LOOKUP_FAILURES, LOOKUP_WINDOW, now)
        self.all_lookup_failures = AttemptLimiter(GLOBAL_LOOKUP_FAILURES, LOOKUP_WINDOW, now)
        self.code_lookup_failures = AttemptLimiter(CODE_LOOKUP_FAILURES, LOOKUP_WINDOW, now)
        self._alerted_until: datetime | None = None
        self._fingerprint_salt = secrets.token_bytes(16)
        self._recent: dict[str, datetime] = {}

    # --------------------------------------------------------------------- before a dialog

    async def category_options(self, query: str | None, offset: int, limit: int) -> OptionPage:
        options = [(c.code, c.label) for c in self.content.categories.values()]
        return OptionPage(options[offset : offset + limit], len(options))

    async def dialog_context(self, chat: ChatRef) -> dict[str, str]:
        context = {"org_name": self.org_name}
        person = await self.people.get(chat.channel, chat.chat_id)
        unit = await self.units.get(person.unit_code) if person and person.unit_code else None
        if unit is not None:
            context.update(unit_name=unit.name, unit_code=unit.code)
        return context

    def wait_before_next(self, chat: ChatRef) -> int | None:
        """Minutes to wait when this sender has reached the hourly limit, else None."""
        key = self.keyer.key(chat.chat_id)
        if self.submissions.allowed(key):
            return None
        return max(1, int(self.submissions.retry_after(key).total_seconds() // 60) + 1)

    async def stored_bytes(self, context: Mapping[str, str]) -> int:
        """Bytes already stored for the report a follow-up adds to (its budget is per report)."""
        report_id = context.get("report_id", "")
        if self.files is None or not report_id.isdigit():
            return 0
        refs = await self.reports.file_refs(int(report_id))
        return await self.files.total_size([self.cipher.decrypt(ref) for ref in refs])

    # ------------------------------------------------------------------------- submission

    async def submit_report(
        self, tx: Transaction, chat: ChatRef, answers: dict[str, Any], context: dict[str, str]
    ) -> Finish:
        return await self._submit(tx, chat, answers, context, anonymous=False)

    async def submit_tip(
        self, tx: Transaction, chat: ChatRef, answers: dict[str, Any], context: dict[str, str]
    ) -> Finish:
        return await self._submit(tx, chat, answers, context, anonymous=True)

    async def _submit(
        self,
        tx: Transaction,
        chat: ChatRef,
        answers: dict[str, Any],
        context: dict[str, str],
        *,
        anonymous: bool,
    ) -> Finish:
        now = self.clock.now()
        wait = self.wait_before_next(chat)
        if wait is not None:
            return Finish([Reply(self.texts.get("report.too_many", minutes=wait))])
        fingerprint = self._fingerprint(answers)
        if self._seen_recently(fingerprint, now):
            return Finish([Reply(self.texts.get("report.duplicate"))])
        body, unit_code = await self._body(answers, context)
        code = new_code()
        while await self.reports.code_taken(tx, code):
            code = new_code()
        passphrase = new_passphrase() if anonymous else None
        passphrase_hash = (
            await asyncio.to_thread(hash_passphrase, passphrase) if passphrase else None
        )
        report_id = await self.reports.insert(
            tx,
            code=code,
            anonymous=anonymous,
            channel=None if anonymous else chat.channel,
            chat_id=None if anonymous else chat.chat_id,
            category=answers["category"],
            unit_code=unit_code,
            body=self.cipher.encrypt_json(body),
            passphrase_hash=passphrase_hash,
            now=now,
            source=chat.channel,
        )
        evidence = answers.get("evidence") or []
        await self.reports.add_files(
            tx, report_id, self.desk.encrypt_files(evidence), added_by="sender", now=now
        )
        report = await self.reports.get_in(tx, report_id)
        assert report is not None
        files = [(a["kind"], stored_ref(a)) for a in evidence]
        await self.desk.announce(tx, report, body, files)
        key = self.keyer.key(chat.chat_id)

        def remember() -> None:  # only a stored report counts, not one whose COMMIT failed
            self.submissions.record_failure(key)  # counts a submission
            self._recent[fingerprint] = now

        tx.after_commit(remember)
        if anonymous:
            received = self.texts.get("tip.received", code=code, passphrase=passphrase)
            return Finish([Reply(received)], next_dialog="receipt")
        return Finish([Reply(self.texts.get("report.received", code=code))])

    async def form_passphrase(self) -> tuple[str, str]:
        """A passphrase and its hash for submit_form, made before its transaction (~50 ms of
        scrypt that would otherwise hold the database's write lock)."""
        passphrase = new_passphrase()
        return passphrase, await asyncio.to_thread(hash_passphrase, passphrase)

    async def submit_form(
        self,
        tx: Transaction,
        answers: dict[str, Any],
        *,
        anonymous: bool,
        source: str,
        passphrase: tuple[str, str],
        files: Sequence[tuple[str, str]] = (),
    ) -> FormSubmission | None:
        """A report or tip from a web form (no chat): stored and announced; None if a duplicate.

        Both get a passphrase, since a web sender has no chat to be recognised by: a tip keeps its
        hash in the report, a named report's hash is returned for the caller to keep beside it.
        Limits per sender are the caller's business (it has no chat id to key them by).
        """
        now = self.clock.now()
        fingerprint = self._fingerprint(answers)
        if self._seen_recently(fingerprint, now):
            return None
        body, unit_code = await self._body(answers, {})
        for extra in ("contact_email", "contact_unit", "contact_role"):
            if answers.get(extra):
                body[extra] = answers[extra]
        code = new_code()
        while await self.reports.code_taken(tx, code):
            code = new_code()
        passphrase_text, passphrase_hash = passphrase
        report_id = await self.reports.insert(
            tx,
            code=code,
            anonymous=anonymous,
            channel=None if anonymous else source,
            chat_id=None,
            category=answers["category"],
            unit_code=unit_code,
            body=self.cipher.encrypt_json(body),
            passphrase_hash=passphrase_hash if anonymous else None,
            now=now,
            source=source,
        )
        refs = [ReportFile(kind, self.cipher.encrypt(ref)) for kind, ref in files]
        await self.reports.add_files(tx, report_id, refs, added_by="sender", now=now)
        report = await self.reports.get_in(tx, report_id)
        assert report is not None
        await self.desk.announce(tx, report, body, list(files))  # files: (kind, stored id)
        self._recent[fingerprint] = now
        return FormSubmission(report, passphrase_text, None if anonymous else passphrase_hash)

    async def _body(
        self, answers: dict[str, Any], context: dict[str, str]
    ) -> tuple[dict[str, Any], str | None]:
        """The encrypted part of a report, and the unit it concerns (kept in clear for stats)."""
        unit_code = None
        where = answers.get("where")
        if where == "own_unit":
            unit_code = context.get("unit_code")
            place = context.get("unit_name")
        elif where == "other_unit":
            unit_code = answers.get("where_unit")
            unit = await self.units.get(unit_code) if unit_code else None
            place = unit.name if unit else None
        else:
            place = answers.get("where_text")
        body = {
            "what": answers["what"],
            "where": place,
            "location": answers.get("location"),
            "occurred_on": answers.get("when"),
            "people": answers.get("people"),
            "contact_name": answers.get("contact_name"),
            "contact_phone": answers.get("contact_phone"),
        }
        return body, unit_code

    def _fingerprint(self, answers: dict[str, Any]) -> str:
        text = f"{answers.get('category')}\n{' '.join(str(answers.get('what')).split()).casefold()}"
        return hmac.new(self._fingerprint_salt, text.encode(), hashlib.sha256).hexdigest()

    def _seen_recently(self, fingerprint: str, now: datetime) -> bool:
        for key, at in list(self._recent.items()):
            if now - at > DUPLICATE_WINDOW:
                del self._recent[key]
        return fingerprint in self._recent

    async def lost_receipt(self, chat: ChatRef, pressed: str) -> Reply | None:
        """After a crash between storing a report and answering: the receipt, shown again.

        Only for reports under a name (an anonymous tip cannot be found from the chat), and
        only when `pressed`, the text of the message whose "Gửi" was pressed, is that report's
        summary (it shows its account) or its receipt: never the receipt of another report.
        """
        since = self.clock.now() - RECEIPT_RECOVERY
        code = await self.reports.latest_code_by_sender(chat.channel, chat.chat_id, since)
        report = await self.reports.by_code(code) if code else None
        if report is None:
            return None
        what = " ".join(str(self.cipher.decrypt_json(report.body).get("what", "")).split())
        shown = " ".join(pressed.split())
        if report.code not in shown and (not what or what[:100] not in shown):
            return None
        return Reply(self.texts.get("report.received", code=report.code))

    async def has_reports_from(self, chat: ChatRef) -> bool:
        since = datetime(2000, 1, 1, tzinfo=UTC)
        return await self.reports.recent_by_sender(chat.channel, chat.chat_id, since) > 0

    async def forget_sender(self, tx: Transaction, chat: ChatRef) -> None:
        """Reports made under this person's name lose their link to the chat and their contact."""
        for report in await self.reports.by_sender_in(tx, chat.channel, chat.chat_id):
            body = self.cipher.decrypt_json(report.body)
            await self.desk.forget_contact(tx, report, body)
            body.update(contact_name=None, contact_phone=None)
            await self.reports.detach_sender(tx, report.id, self.cipher.encrypt_json(body))

    async def acknowledge_receipt(
        self, tx: Transaction, chat: ChatRef, answers: dict[str, Any], context: dict[str, str]
    ) -> Finish:
        return Finish([Reply(self.texts.get("receipt.ack.thanks"))])

    # ----------------------------------------------------------------------------- lookup

    def _lookup_locked(self, chat: ChatRef, code: str | None = None) -> Finish | None:
        """Locked for this chat after its own failures, or for one code after wrong passphrases
        from anywhere. Others' failures never lock a person out (F7): the global budget only
        raises an alert."""
        key = self.keyer.key(chat.chat_id)
        if not self.lookup_failures.allowed(key):
            wait = self.lookup_failures.retry_after(key)
        elif code is not None and not self.code_lookup_failures.allowed(code):
            wait = self.code_lookup_failures.retry_after(code)
        else:
            return None
        minutes = max(1, int(wait.total_seconds() // 60) + 1)
        return Finish([Reply(self.texts.get("lookup.locked", minutes=minutes))])

    def _lookup_failed(self, chat: ChatRef, code: str | None = None) -> Finish:
        self.lookup_failures.record_failure(self.keyer.key(chat.chat_id))
        if code is not None:
            self.code_lookup_failures.record_failure(code)
        self.all_lookup_failures.record_failure("all")
        if not self.all_lookup_failures.allowed("all"):
            self._alert_many_failures()
        not_found = [Reply(self.texts.get("lookup.not_found"))]
        if self._lookup_locked(chat, code) is not None:
            return Finish(not_found)
        if code is not None:  # a wrong passphrase: asked again, the code kept (in memory)
            return Finish(not_found, next_dialog="lookup_passphrase", next_context={"code": code})
        return Finish(not_found, next_dialog="lookup")  # asked again, no new /tracuu needed

    def _alert_many_failures(self) -> None:
        """Many wrong codes from many chats: someone may be guessing. Said once per window."""
        now = self.clock.now()
        if self._alerted_until is not None and now < self._alerted_until:
            return
        self._alerted_until = now + LOOKUP_WINDOW
        log.warning(
            "lookup: %d or more wrong codes or passphrases in %s from many chats; "
            "each chat and each code stays limited",
            GLOBAL_LOOKUP_FAILURES,
            LOOKUP_WINDOW,
        )

    async def finish_lookup(
        self, tx: Transaction, chat: ChatRef, answers: dict[str, Any], context: dict[str, str]
    ) -> Finish:
        locked = self._lookup_locked(chat)
        if locked:
            return locked
        code = normalize_code(answers["code"])
        if code is None:
            return Finish([Reply(self.texts.get("lookup.bad_code"))], next_dialog="lookup")
        report = await self.reports.by_code(code)
        if report is None:
            return self._lookup_failed(chat)
        if report.anonymous:
            return Finish(next_dialog="lookup_passphrase", next_context={"code": code})
        if report.chat_id != chat.chat_id or report.channel != chat.channel:
            return self._lookup_failed(chat)
        return await self._show(report, "followup_report")

    async def finish_lookup_passphrase(
        self, tx: Transaction, chat: ChatRef, answers: dict[str, Any], context: dict[str, str]
    ) -> Finish:
        code = context.get("code", "")
        locked = self._lookup_locked(chat, code)
        if locked:
            return locked
        report = await self.reports.by_code(code)
        if report is None or report.passphrase_hash is None:
            return self._lookup_failed(chat)
        matches = await asyncio.to_thread(
            verify_passphrase, answers["passphrase"], report.passphrase_hash
        )
        if not matches:
            return self._lookup_failed(chat, code)
        return await self._show(report, "followup_tip")

    async def _show(self, report: ReportRow, followup: str) -> Finish:
        t = self.texts
        lines = [
            t.get(
                "lookup.status",
                code=report.code,
                category=self.desk.category_label(report.category),
                created=format_local(report.created_at, self.clock.tz),
                status=t.raw(f"status.{report.status}"),
            )
        ]
        replies = await self.reports.events(report.id, actions=["reply"])
        budget = LOOKUP_TEXT_BUDGET - len(lines[0])
        shown = 0
        for event in reversed(replies):  # the newest first: it must always be seen (F11)
            at = format_local(event.at, self.clock.tz)
            text = self.cipher.decrypt_optional(event.note) or ""
            line = t.get("lookup.reply_line", at=at, text=text)
            if len(line) + 1 > budget:
                if shown:
                    break
                line = self._cut_reply(at, text, budget - 1)
            lines.append(line)
            budget -= len(line) + 1
            shown += 1
        if shown < len(replies):
            lines.append(t.get("lookup.older_hidden", count=len(replies) - shown))
        if not replies:
            lines.append(t.get("lookup.no_replies"))
        return Finish(
            [Reply("\n".join(lines))],
            next_dialog=followup,
            next_context={"report_id": str(report.id)},
        )

    def _cut_reply(self, at: str, text: str, budget: int) -> str:
        """The reply line with its text cut (as words, never as markup) to fit `budget`."""
        low, high = 0, len(text)
        while low < high:  # the longest prefix whose escaped line fits
            middle = (low + high + 1) // 2
            line = self.texts.get("lookup.reply_line", at=at, text=f"{text[:middle]}…")
            low, high = (middle, high) if len(line) <= budget else (low, middle - 1)
        return self.texts.get("lookup.reply_line", at=at, text=f"{text[:low]}…")

    async def finish_followup(
        self, tx: Transaction, chat: ChatRef, answers: dict[str, Any], context: dict[str, str]
    ) -> Finish:
        if answers.get("action") == "done":
            return Finish([Reply(self.texts.get("followup.done"))])
        report = await self.reports.get_in(tx, int(context["report_id"]))
        if report is None:
            return Finish([Reply(self.texts.get("lookup.not_found"))])
        now = self.clock.now()
        if answers.get("info"):
            await self.reports.add_event(
                tx,
                report.id,
                at=now,
                actor="sender",
                action="addition",
                note=self.cipher.encrypt(answers["info"]),
            )
            note = self.texts.get("office.addition", code=report.code, text=answers["info"])
            await self.desk.tell_office(tx, report.id, note)
        files = answers.get("files") or []
        if files:
            await self.reports.add_files(
                tx, report.id, self.desk.encrypt_files(files), added_by="sender", now=now
            )
            note = self.texts.get("office.addition_files", count=len(files), code=report.code)
            await self.desk.tell_office(tx, report.id, note)
            await self.desk.announce_files(tx, report, [(a["kind"], stored_ref(a)) for a in files])
        return Finish([Reply(self.texts.get("followup.added"))])
