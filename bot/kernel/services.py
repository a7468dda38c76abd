"""Everything the handlers use, built once from the settings and passed down (no globals)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.announcements.service import REFERENCE as ANNOUNCEMENT
from bot.announcements.service import AnnouncementService
from bot.chat.ref import ChatRef
from bot.deadlines.desk import DeadlineDesk
from bot.deadlines.reminders import ReminderService
from bot.deadlines.service import DeadlineService
from bot.dialogs.conversation import Conversations, Finish
from bot.dialogs.engine import DialogEngine
from bot.invitations.service import InvitationService
from bot.kernel.clock import Clock
from bot.kernel.config import Settings
from bot.kernel.crypto import Cipher, KeySource, check_key, load_key
from bot.kernel.files import MB, FileStore
from bot.kernel.outbox import Outbox, OutboxSender, OutgoingMessage
from bot.kernel.scheduler import CoreScheduler, Job
from bot.office.audit import AuditView
from bot.office.export_desk import ExportDesk
from bot.office.retention import RetentionService, retention_words
from bot.office.review import OfficeDesk
from bot.office.statistics import StatisticsDesk
from bot.outreach.service import REFERENCE, OutreachService
from bot.people.service import PeopleService
from bot.reports.service import ReportService
from content import Content
from storage.audit import AuditLog
from storage.db import Database, Transaction
from storage.outbox import OutboxRepository
from storage.people import PeopleRepository
from storage.staff import StaffChatRepository
from storage.units import UnitRepository
from storage.zalo import InteractionRepository

if TYPE_CHECKING:
    from bot.chat.router import ChatRouter

log = logging.getLogger(__name__)


TIP_LINKED_DIALOGS = frozenset({"receipt", "lookup_passphrase", "followup_tip"})
"""Dialogs whose state would tie a chat to an anonymous tip: held in memory only (F6)."""


@dataclass
class Services:
    settings: Settings
    content: Content
    db: Database
    clock: Clock
    cipher: Cipher
    key_source: KeySource
    people: PeopleService
    conversations: Conversations
    outbox: Outbox
    desk: OfficeDesk
    reports: ReportService
    outreach: OutreachService
    announcements: AnnouncementService
    invitations: InvitationService
    reminders: ReminderService
    deadlines: DeadlineService
    deadline_desk: DeadlineDesk
    audit: AuditView
    exports: ExportDesk
    statistics: StatisticsDesk
    retention: RetentionService
    files: FileStore
    # one outbox sender per channel that runs, set by the wiring
    senders: dict[str, OutboxSender] = field(default_factory=dict)
    _router: ChatRouter | None = field(default=None, repr=False)
    _scheduler: CoreScheduler | None = field(default=None, repr=False)

    @property
    def scheduler(self) -> CoreScheduler:
        """The core's periodic ticks (started by the wiring, whatever channels run)."""
        if self._scheduler is None:
            self._scheduler = CoreScheduler(
                [
                    Job("outreach", timedelta(minutes=1), self.outreach.tick),
                    Job("reminders", timedelta(minutes=1), self.reminders.tick),
                    Job(
                        "reannounce",
                        timedelta(minutes=5),
                        self.desk.reannounce_unclaimed,
                        timedelta(seconds=30),
                    ),
                    Job("retention", timedelta(days=1), self._purge, timedelta(minutes=2)),
                ]
            )
        return self._scheduler

    async def _purge(self) -> None:
        erased = await self.retention.purge()
        if erased:
            log.info("retention: the content of %d closed reports was erased", erased)

    @property
    def sender(self) -> OutboxSender | None:
        """The Telegram channel's sender (the first one), for tools and tests of one channel."""
        return next(iter(self.senders.values()), None)

    @property
    def router(self) -> ChatRouter:
        """What a person's message or button press means, on any channel."""
        if self._router is None:
            from bot.chat.router import ChatRouter as Router  # the router needs the services

            self._router = Router(self)
        return self._router

    def notify(self) -> None:
        """Something was enqueued: every channel's sender looks at the outbox now."""
        for sender in self.senders.values():
            sender.notify()

    @classmethod
    async def open(cls, settings: Settings, content: Content, clock: Clock) -> Services:
        """Open the database, check the data key against it, and build every service."""
        cipher, key_source = load_key(settings.data_key, settings.data_key_file)
        db = await Database.open(settings.database_path)
        try:
            await check_key(db, cipher)
        except Exception:
            await db.close()
            raise
        holder: list[Services] = []

        def notify() -> None:
            if holder:
                holder[0].notify()

        files = FileStore(
            db,
            cipher,
            settings.files_folder,
            clock.now,
            max_file_bytes=settings.file_max_mb * MB,
            max_report_bytes=settings.report_files_max_mb * MB,
        )
        units = UnitRepository(db)
        people_repo = PeopleRepository(db)
        people = PeopleService(content, people_repo, units, clock, settings.org_name)
        outbox_repo = OutboxRepository(db, clock.now)
        outbox = Outbox(outbox_repo, encode=lambda m: cipher.encrypt(m.to_payload()))
        desk = OfficeDesk(
            db,
            content,
            cipher,
            outbox,
            clock,
            office_chat=settings.office_chat,
            reannounce_after=timedelta(hours=settings.unclaimed_after_hours),
            urgent_reannounce_after=timedelta(hours=settings.urgent_unclaimed_after_hours),
            notify=notify,
            public_url=settings.public_url,
        )
        reports = ReportService(
            content, cipher, clock, desk, people_repo, units, settings.org_name, files
        )
        invitations = InvitationService(db, content.texts, clock, settings.org_name)
        reminders = ReminderService(db, outbox, cipher, content.texts, clock, settings, notify)
        deadlines = DeadlineService(db, reminders, clock, settings.deadline_reminders, notify)

        audit_log = AuditLog(db)

        async def delete_everything(
            tx: Transaction, chat: ChatRef, answers: dict[str, Any], context: dict[str, str]
        ) -> Finish:
            await reports.forget_sender(tx, chat)
            await reminders.repo.forget_chat(tx, chat.channel, chat.chat_id)
            # nothing queued reaches them any more, and no outbox row keeps their id (F8)
            await outbox_repo.forget_chat(tx, chat.channel, chat.chat_id)
            await InteractionRepository(db).forget(tx, chat.channel, chat.chat_id)
            await StaffChatRepository(db).forget_chat(tx, chat.channel, chat.chat_id)
            # that a deletion happened, never whose: the log must not undo the deletion
            await audit_log.record(tx, at=clock.now(), actor="person", action="data_deleted")
            return await people.finish_deletion(tx, chat, answers, context)

        engine = DialogEngine(
            content.dialogs,
            content.texts,
            clock.today,
            sources={
                "units": people.unit_options,
                "schools": people.school_options,
                "categories": reports.category_options,
            },
        )
        conversations = Conversations(
            db,
            engine,
            content.texts,
            clock,
            finishers={
                "onboarding": people.finish_onboarding,
                "delete_data": delete_everything,
                "report": reports.submit_report,
                "tip": reports.submit_tip,
                "receipt": reports.acknowledge_receipt,
                "lookup": reports.finish_lookup,
                "lookup_passphrase": reports.finish_lookup_passphrase,
                "followup_report": reports.finish_followup,
                "followup_tip": reports.finish_followup,
                "head_invitation": invitations.finish,
                "deadline_done": reminders.finish_done,
                "deadline_help": reminders.finish_help,
            },
            seal=cipher.encrypt,
            unseal=cipher.decrypt,
            pseudonym=cipher.pseudonym,
            former_pseudonyms=cipher.former_pseudonyms,
            after_commit=notify,
            in_memory=TIP_LINKED_DIALOGS,
            common_context={"retention": retention_words(settings.retention_days, content.texts)},
            files=files,
        )
        conversations.stored_before = reports.stored_bytes  # a follow-up adds to one report
        outreach = OutreachService(db, content.outreach, content.texts, clock, settings, notify)
        announcements = AnnouncementService(
            db, outbox_repo, content.texts, clock, settings.org_name, notify
        )
        await announcements.load()
        services = cls(
            settings,
            content,
            db,
            clock,
            cipher,
            key_source,
            people,
            conversations,
            outbox,
            desk,
            reports,
            outreach,
            announcements,
            invitations,
            reminders,
            deadlines,
            DeadlineDesk(deadlines, content.texts, clock, cipher),
            AuditView(db, content.texts, clock),
            ExportDesk(db, content, cipher, clock),
            StatisticsDesk(db, content, clock),
            RetentionService(db, cipher, clock, settings.retention_days, files),
            files,
        )
        holder.append(services)
        return services

    def decode_outgoing(self, payload: str) -> OutgoingMessage:
        """An outbox payload: encrypted JSON, or a reference to shared content (weekly items)."""
        if payload.startswith(f"ref:{REFERENCE}:"):
            return self.outreach.render_reference(payload.removeprefix("ref:"))
        if payload.startswith(f"ref:{ANNOUNCEMENT}:"):
            return self.announcements.render_reference(payload.removeprefix("ref:"))
        return OutgoingMessage.from_payload(self.cipher.decrypt(payload))

    async def close(self) -> None:
        await self.db.close()
