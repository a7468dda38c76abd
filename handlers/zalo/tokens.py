"""Zalo OA tokens: one refresh at a time, ahead of expiry, the rotated pair stored encrypted first.

At start-up the pair stored in the database wins, unless ANTQ_ZALO_REFRESH_TOKEN changed since it
began that chain (a keyed hash of the variable is stored with the pair): a changed variable is a
new grant. Without a stored pair and without ANTQ_ZALO_ACCESS_TOKEN the first send refreshes.
No token is ever logged; the pair is stored only as Fernet ciphertext.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.kernel.clock import Clock
from bot.kernel.crypto import Cipher
from handlers.zalo.outcomes import REFRESH_DEAD
from handlers.zalo.settings import ZaloSettings
from storage.zalo import StoredTokens, ZaloTokenRepository

log = logging.getLogger(__name__)

ADMIN_HELP = (
    "Zalo refresh token is dead (error %s): Zalo sending is stopped and messages are kept. "
    "An administrator must grant the OA to the app again and set ANTQ_ZALO_REFRESH_TOKEN "
    "to the new refresh token, then restart the bot."
)


class TokenDead(Exception):
    """The refresh token no longer works: only an administrator can fix it."""

    def __init__(self, code: int) -> None:
        super().__init__(f"zalo refresh token dead ({code})")
        self.code = code


class TokenRefreshFailed(Exception):
    """The refresh failed for a reason that may pass (network, 5xx, unexpected answer)."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: datetime | None

    def __repr__(self) -> str:  # never show the tokens
        return f"TokenPair(expires_at={self.expires_at!r})"


class OAuthClient:
    """`POST <oauth>/v4/oa/access_token` with grant_type=refresh_token."""

    def __init__(self, settings: ZaloSettings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session

    async def refresh(self, refresh_token: str) -> tuple[str, str, float]:
        """(access token, refresh token, seconds to live); TokenDead or TokenRefreshFailed."""
        url = self.settings.oauth_base_url.rstrip("/") + "/v4/oa/access_token"
        form = {
            "app_id": self.settings.app_id,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        headers = {"secret_key": self.settings.app_secret.get_secret_value()}
        timeout = aiohttp.ClientTimeout(total=self.settings.request_timeout_seconds)
        try:
            async with self.session.post(
                url, data=form, headers=headers, timeout=timeout
            ) as response:
                answer: Any = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise TokenRefreshFailed(type(exc).__name__) from None
        if not isinstance(answer, dict):
            raise TokenRefreshFailed("answer is not an object")
        code = _int(answer.get("error", 0))
        if code in REFRESH_DEAD:
            raise TokenDead(code)
        access, refresh = answer.get("access_token"), answer.get("refresh_token")
        if code or not isinstance(access, str) or not isinstance(refresh, str):
            raise TokenRefreshFailed(f"error {code}")
        return access, refresh, float(_int(answer.get("expires_in", 0)) or 90000)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


class TokenKeeper:
    def __init__(
        self,
        settings: ZaloSettings,
        repo: ZaloTokenRepository,
        cipher: Cipher,
        clock: Clock,
        oauth: OAuthClient,
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.cipher = cipher
        self.clock = clock
        self.oauth = oauth
        self.margin = timedelta(seconds=settings.refresh_margin_seconds)
        self._lock = asyncio.Lock()
        self._pair: TokenPair | None = None
        self._initial_refresh: str | None = None
        self._grant_hash = ""
        self.dead_code: int | None = None
        self.refreshes = 0

    def grant_hash(self, refresh_token: str) -> str:
        return self.cipher.pseudonym("zalo-grant\x00" + refresh_token)

    async def start(self) -> None:
        """Load the stored pair, or take the configured grant if it is new."""
        configured = self.settings.refresh_token
        env_value = configured.get_secret_value() if configured else None
        env_hash = self.grant_hash(env_value) if env_value else None
        stored = await self.repo.load()
        if stored is not None and (env_hash is None or stored.grant_hash == env_hash):
            self._grant_hash = stored.grant_hash
            self._pair = TokenPair(
                self.cipher.decrypt(stored.access_token),
                self.cipher.decrypt(stored.refresh_token),
                stored.access_expires_at,
            )
            return
        if env_value is None:
            log.warning("Zalo: no refresh token configured and none stored")
            return
        if stored is not None:
            log.info("Zalo: ANTQ_ZALO_REFRESH_TOKEN changed: taken as a new grant")
        self._grant_hash = env_hash or ""
        self._initial_refresh = env_value
        access = self.settings.access_token
        if access is not None:
            self._pair = TokenPair(access.get_secret_value(), env_value, None)

    @property
    def dead(self) -> bool:
        return self.dead_code is not None

    def _fresh(self, pair: TokenPair | None) -> bool:
        if pair is None:
            return False
        return pair.expires_at is None or pair.expires_at - self.margin > self.clock.now()

    async def access_token(self) -> str:
        """A token valid for at least the margin (refreshing first if needed)."""
        if self.dead_code is not None:
            raise TokenDead(self.dead_code)
        pair = self._pair
        if pair is not None and self._fresh(pair):
            return pair.access_token
        return await self.refresh(stale=pair.access_token if pair else None)

    async def refresh_if_due(self) -> bool:
        """Refresh when the access token is within the margin of its expiry; True if it did.

        For the scheduler (e.g. hourly): a bot that sends nothing for three months would
        otherwise let the refresh token die, since only a refresh renews it.
        """
        if self.dead_code is not None:
            return False
        pair = self._pair
        if pair is not None and pair.expires_at is not None and self._fresh(pair):
            return False
        # an operator's token of unknown age is refreshed too, which starts the stored chain
        before = self.refreshes
        await self.refresh(stale=pair.access_token if pair else None)
        return self.refreshes > before

    async def refresh(self, stale: str | None = None) -> str:
        """Refresh once, however many callers ask; `stale` is the token the caller saw fail.

        A caller whose stale token was already replaced gets the new one without a refresh.
        """
        async with self._lock:
            if self.dead_code is not None:
                raise TokenDead(self.dead_code)
            pair = self._pair
            if pair is not None and pair.access_token != stale and self._fresh(pair):
                return pair.access_token
            refresh_token = pair.refresh_token if pair else self._initial_refresh
            if refresh_token is None:
                self.dead_code = -118
                log.critical(ADMIN_HELP, "none configured")
                raise TokenDead(-118)
            try:
                access, new_refresh, ttl = await self.oauth.refresh(refresh_token)
            except TokenDead as exc:
                self.dead_code = exc.code
                log.critical(ADMIN_HELP, exc.code)
                raise
            except TokenRefreshFailed as exc:
                log.error("Zalo token refresh failed (%s); the next send tries again", exc)
                raise
            new_pair = TokenPair(access, new_refresh, self.clock.now() + timedelta(seconds=ttl))
            await self.repo.save(  # stored before it is used: a crash now loses nothing
                StoredTokens(
                    self.cipher.encrypt(access),
                    self.cipher.encrypt(new_refresh),
                    new_pair.expires_at,
                    self._grant_hash,
                ),
                self.clock.now(),
            )
            self._pair = new_pair
            self._initial_refresh = None
            self.refreshes += 1
            log.info("Zalo access token refreshed (valid until %s)", new_pair.expires_at)
            return access
