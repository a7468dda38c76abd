"""Staff accounts of the console: passwords (argon2id), TOTP, sessions, login throttling, audit."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.kernel.clock import Clock
from bot.kernel.crypto import Cipher
from bot.office.notices import unlink_in
from bot.reports.receipts import AttemptLimiter
from storage.audit import AuditLog
from storage.db import Database
from storage.staff import ROLES, SessionRow, StaffRepository, StaffRow

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}")
MIN_PASSWORD = 10
SESSION_IDLE = timedelta(minutes=30)
SESSION_ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)
ACCOUNT_FAILURES = 5  # then the account is locked for LOCK_WINDOW
SOURCE_FAILURES = 20  # then the source (an in-memory HMAC of the address) is locked
LOCK_WINDOW = timedelta(minutes=15)
SLOW_STEP = 0.5  # seconds added per recent failure of the account, up to SLOW_MAX
SLOW_MAX = 3.0
ISSUER = "ANTQ Văn phòng"


class StaffError(Exception):
    """A request about an account that cannot be done; `key` names the text under web.staff."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Login:
    outcome: Literal["ok", "bad", "locked"]
    staff: StaffRow | None = None
    token: str | None = None
    stage: str | None = None
    wait_minutes: int = 0


@dataclass(frozen=True)
class StaffSession:
    staff: StaffRow
    session: SessionRow
    token: str

    @property
    def actor(self) -> str:
        return f"staff:{self.staff.username}"

    @property
    def can_act(self) -> bool:
        return self.staff.role in ("admin", "clerk")

    @property
    def csrf(self) -> str:
        return csrf_for(self.token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def csrf_for(token: str) -> str:
    """The session's CSRF token, derived from the session token (so nothing more is stored)."""
    return hashlib.sha256(b"antq-csrf\x00" + token.encode("ascii", "replace")).hexdigest()


def new_password() -> str:
    """A one-time password easy to copy: 4 groups of 4 letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    chars = "".join(secrets.choice(alphabet) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


class StaffService:
    def __init__(
        self,
        db: Database,
        cipher: Cipher,
        clock: Clock,
        *,
        slow_step: float = SLOW_STEP,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.db = db
        self.repo = StaffRepository(db)
        self.audit = AuditLog(db)
        self.cipher = cipher
        self.clock = clock
        self.hasher = hasher or PasswordHasher()  # argon2id by default
        self.slow_step = slow_step
        self.account_failures = AttemptLimiter(ACCOUNT_FAILURES, LOCK_WINDOW, clock.now)
        self.source_failures = AttemptLimiter(SOURCE_FAILURES, LOCK_WINDOW, clock.now)

    # ------------------------------------------------------------------------- accounts

    async def add(
        self, username: str, name: str, role: str, password: str | None, actor: str
    ) -> tuple[StaffRow, str | None]:
        """A new account; without a password a one-time one is made (to change at first login)."""
        username = username.strip().lower()
        if not USERNAME.fullmatch(username):
            raise StaffError("bad_username")
        if role not in ROLES:
            raise StaffError("bad_role")
        if not name.strip():
            raise StaffError("bad_name")
        if password is not None and len(password) < MIN_PASSWORD:
            raise StaffError("short_password")
        if await self.repo.by_username(username) is not None:
            raise StaffError("exists")
        one_time = new_password() if password is None else None
        hashed = await asyncio.to_thread(self.hasher.hash, password or one_time or "")
        now = self.clock.now()
        async with self.db.transaction() as tx:
            await self.repo.add(
                tx,
                username=username,
                name=name.strip(),
                role=role,
                password_hash=hashed,
                must_change=one_time is not None,
                now=now,
            )
            await self.audit.record(
                tx, at=now, actor=actor, action="staff_added", subject=username, details=role
            )
        staff = await self.repo.by_username(username)
        assert staff is not None
        return staff, one_time

    async def list(self) -> list[StaffRow]:
        return await self.repo.all()

    async def disable(self, username: str, actor: str) -> None:
        staff = await self._existing(username)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            await self.repo.set_active(tx, staff.id, False, now)
            await self.repo.drop_sessions_of(tx, staff.id)
            await unlink_in(tx, self.db, staff.id, self.clock.now)  # its notices stop
            await self.audit.record(
                tx, at=now, actor=actor, action="staff_disabled", subject=staff.username
            )

    async def reset(self, username: str, actor: str) -> str:
        """A new one-time password; the two-step secret is cleared (re-enrolled at next login)."""
        staff = await self._existing(username)
        one_time = new_password()
        hashed = await asyncio.to_thread(self.hasher.hash, one_time)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            await self.repo.set_password(tx, staff.id, hashed, True, now)
            await self.repo.set_totp(tx, staff.id, None, now)
            await self.repo.set_active(tx, staff.id, True, now)
            await self.repo.drop_sessions_of(tx, staff.id)
            await self.audit.record(
                tx, at=now, actor=actor, action="staff_reset", subject=staff.username
            )
        self.account_failures.reset(staff.username)
        return one_time

    async def _existing(self, username: str) -> StaffRow:
        staff = await self.repo.by_username(username.strip().lower())
        if staff is None:
            raise StaffError("unknown")
        return staff

    # ---------------------------------------------------------------------------- login

    def locked_wait(self, username: str, source: str) -> int:
        """Minutes until this account and source may try again; 0 when they may now."""
        wait = max(
            self.account_failures.retry_after(username), self.source_failures.retry_after(source)
        )
        return 0 if wait <= timedelta(0) else max(1, int(wait.total_seconds() // 60) + 1)

    async def login(self, username: str, password: str, source: str) -> Login:
        """Check a password; slowed after failures, then locked per account and per source."""
        username = username.strip().lower()[:64]
        wait = self.locked_wait(username, source)
        if wait:
            return Login("locked", wait_minutes=wait)
        recent = self.account_failures._live(username, self.clock.now())
        if recent:
            await asyncio.sleep(min(SLOW_MAX, self.slow_step * recent))
        staff = await self.repo.by_username(username)
        ok = False
        if staff is not None and staff.active:
            ok = await asyncio.to_thread(self._verify, staff.password_hash, password)
        else:
            await asyncio.to_thread(self._verify, _DUMMY_HASH, password)  # same time either way
        now = self.clock.now()
        if not ok or staff is None:
            self.account_failures.record_failure(username)
            self.source_failures.record_failure(source)
            if staff is not None:
                async with self.db.transaction() as tx:
                    await self.audit.record(
                        tx, at=now, actor="system", action="staff_login_failed", subject=username
                    )
            wait = self.locked_wait(username, source)
            return Login("locked" if wait else "bad", wait_minutes=wait)
        self.account_failures.reset(username)
        stage = self._stage_after_password(staff)
        token = secrets.token_urlsafe(32)
        async with self.db.transaction() as tx:
            await self.repo.add_session(tx, staff.id, token_hash(token), stage, now)
            await self.repo.drop_expired(tx, now - SESSION_IDLE, now - SESSION_ABSOLUTE)
            await self.audit.record(
                tx, at=now, actor=f"staff:{staff.username}", action="staff_login"
            )
        return Login("ok", staff, token, stage)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(stored, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    @staticmethod
    def _stage_after_password(staff: StaffRow) -> str:
        if staff.must_change:
            return "password"
        return StaffService._stage_after_change(staff)

    @staticmethod
    def _stage_after_change(staff: StaffRow) -> str:
        if staff.totp_secret:
            return "totp"
        return "enrol" if staff.role == "admin" else "full"

    async def session(self, token: str | None) -> StaffSession | None:
        """The live session of this cookie, touched; None when absent, expired or disabled."""
        if not token or len(token) > 128:
            return None
        row = await self.repo.session(token_hash(token))
        if row is None:
            return None
        now = self.clock.now()
        staff = await self.repo.get(row.staff_id)
        expired = now - row.last_seen_at > SESSION_IDLE or now - row.created_at > SESSION_ABSOLUTE
        if expired or staff is None or not staff.active:
            async with self.db.transaction() as tx:
                await self.repo.drop_session(tx, row.id)
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            async with self.db.transaction() as tx:
                await self.repo.touch_session(tx, row.id, now)
        return StaffSession(staff, row, token)

    async def change_password(self, current: StaffSession, password: str, repeat: str) -> str:
        """The next stage of the session after a password change (StaffError if refused)."""
        if password != repeat:
            raise StaffError("password_mismatch")
        if len(password) < MIN_PASSWORD:
            raise StaffError("short_password")
        hashed = await asyncio.to_thread(self.hasher.hash, password)
        now = self.clock.now()
        staff = current.staff
        stage = self._stage_after_change(staff) if current.session.stage == "password" else "full"
        async with self.db.transaction() as tx:
            await self.repo.set_password(tx, staff.id, hashed, False, now)
            await self.repo.set_stage(tx, current.session.id, stage)
            await self.audit.record(
                tx, at=now, actor=current.actor, action="staff_password_changed"
            )
        return stage

    # ----------------------------------------------------------------------------- TOTP

    async def begin_enrol(self, current: StaffSession) -> str:
        """A fresh secret kept (encrypted) in the session until the first code confirms it."""
        if current.session.pending_totp:
            return self.cipher.decrypt(current.session.pending_totp)
        secret = pyotp.random_base32()
        async with self.db.transaction() as tx:
            await self.repo.set_stage(
                tx, current.session.id, current.session.stage, self.cipher.encrypt(secret)
            )
        return secret

    def provisioning_uri(self, staff: StaffRow, secret: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=staff.username, issuer_name=ISSUER)

    async def confirm_enrol(self, current: StaffSession, code: str) -> bool:
        if not current.session.pending_totp:
            return False
        secret = self.cipher.decrypt(current.session.pending_totp)
        step = self._matching_step(secret, code)
        if step is None:
            return False
        now = self.clock.now()
        async with self.db.transaction() as tx:
            await self.repo.set_totp(tx, current.staff.id, self.cipher.encrypt(secret), now)
            await self.repo.use_totp_step(tx, current.staff.id, step)
            await self.repo.set_stage(tx, current.session.id, "full")
            await self.audit.record(tx, at=now, actor=current.actor, action="staff_totp_enrolled")
        return True

    async def verify_totp(self, current: StaffSession, code: str, source: str) -> Login:
        """The second step of a login; failures count like wrong passwords."""
        username = current.staff.username
        wait = self.locked_wait(username, source)
        if wait:
            return Login("locked", wait_minutes=wait)
        secret = self.cipher.decrypt(current.staff.totp_secret or "")
        step = self._matching_step(secret, code)
        now = self.clock.now()
        if step is not None:
            async with self.db.transaction() as tx:
                fresh = await self.repo.use_totp_step(tx, current.staff.id, step)
                if fresh:
                    await self.repo.set_stage(tx, current.session.id, "full")
                    await self.audit.record(tx, at=now, actor=current.actor, action="staff_totp")
            if fresh:
                self.account_failures.reset(username)
                return Login("ok", current.staff)
        self.account_failures.record_failure(username)
        self.source_failures.record_failure(source)
        wait = self.locked_wait(username, source)
        return Login("locked" if wait else "bad", wait_minutes=wait)

    def _matching_step(self, secret: str, code: str) -> int | None:
        code = re.sub(r"\s", "", code or "")
        if not re.fullmatch(r"\d{6}", code):
            return None
        totp = pyotp.TOTP(secret)
        now = self.clock.now()
        for drift in (0, -1, 1):
            at = now + timedelta(seconds=30 * drift)
            if secrets.compare_digest(totp.at(at), code):
                return int(at.timestamp()) // 30
        return None

    # -------------------------------------------------------------------------- logout

    async def logout(self, current: StaffSession) -> None:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            await self.repo.drop_session(tx, current.session.id)
            await self.audit.record(tx, at=now, actor=current.actor, action="staff_logout")

    async def logout_everywhere(self, current: StaffSession) -> int:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            count = await self.repo.drop_sessions_of(tx, current.staff.id)
            await self.audit.record(
                tx, at=now, actor=current.actor, action="staff_logout_all", details=str(count)
            )
        return count

    def now(self) -> datetime:
        return self.clock.now()


_DUMMY_HASH = PasswordHasher().hash("antq-not-a-password")
