"""`antq purge` and its daily job: erase the content of reports closed longer than allowed."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.dialogs.conversation import DIALOG_EXPIRY
from bot.kernel.clock import Clock
from bot.kernel.crypto import Cipher
from bot.kernel.files import FileStore
from content.texts import Texts
from storage.audit import AuditLog
from storage.db import Database
from storage.dialog_states import DialogStateRepository
from storage.retention import RetentionRepository

BATCH = 500
ERASED_BODY = {"what": "", "where": None, "people": None, "erased": True}


def retention_words(days: int, texts: Texts) -> str:
    """How long content is kept, as the privacy notice says it: "12 tháng", "90 ngày"."""
    if days <= 0:
        return texts.raw("retention_period.forever")
    if days % 365 == 0:
        return texts.raw("retention_period.months", months=days // 365 * 12)
    return texts.raw("retention_period.days", days=days)


class RetentionService:
    def __init__(
        self, db: Database, cipher: Cipher, clock: Clock, days: int, files: FileStore
    ) -> None:
        self.db = db
        self.files = files
        self.cipher = cipher
        self.clock = clock
        self.days = days
        self.repo = RetentionRepository(db)
        self.audit = AuditLog(db)

    def cutoff(self) -> datetime | None:
        """Reports closed before this lose their content; None when kept forever (0 days)."""
        return self.clock.now() - timedelta(days=self.days) if self.days > 0 else None

    async def expire_dialogs(self) -> int:
        """Open dialogs untouched for a day are dropped, so that no row filed under a chat's
        pseudonym (an abandoned tip, a receipt step) outlives its need (F6)."""
        async with self.db.transaction() as tx:
            return await DialogStateRepository(self.db).expire(tx, self.clock.now() - DIALOG_EXPIRY)

    async def purge(self, actor: str = "system") -> int:
        """Erase what is due, in batches; returns how many reports lost their content. Stale
        open dialogs are dropped on the way."""
        await self.expire_dialogs()
        cutoff = self.cutoff()
        if cutoff is None:
            return 0
        total = 0
        while ids := await self.repo.due(cutoff, BATCH):
            now = self.clock.now()
            async with self.db.transaction() as tx:
                stored = [self.cipher.decrypt(ref) for ref in await self.repo.file_refs(tx, ids)]
                erased = await self.repo.erase(tx, ids, self.cipher.encrypt_json(ERASED_BODY), now)
                await self.files.forget_in(tx, stored)  # unreadable from here: keys were in rows
                await self.audit.record(
                    tx, at=now, actor=actor, action="retention_purge", details=str(erased)
                )
            await self.files.remove_blobs(stored)
            total += erased
            if len(ids) < BATCH:
                break
        return total
