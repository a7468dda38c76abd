"""Everything the fake Zalo OA remembers, and the rules it applies (tokens, limits, windows)."""

from __future__ import annotations

import unicodedata
from collections import deque
from datetime import datetime
from zoneinfo import ZoneInfo

from sandbox.zalo.config import ZaloSandboxConfig
from sandbox.zalo.errors import ZaloError
from sandbox.zalo.models import (
    MINUTE,
    AccessToken,
    Fault,
    Media,
    Person,
    RefreshToken,
    SimClock,
    Stats,
    Upload,
    new_id,
    new_token,
)


def utf16_units(text: str) -> int:
    """Length as Zalo is assumed to count it: UTF-16 code units after NFC (an emoji is 2)."""
    return len(unicodedata.normalize("NFC", text).encode("utf-16-le")) // 2


class ZaloState:
    def __init__(self, config: ZaloSandboxConfig, clock: SimClock) -> None:
        self.config = config
        self.clock = clock
        self.stats = Stats()
        self.people: dict[str, Person] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.uploads: dict[str, Upload] = {}
        self.media: dict[str, Media] = {}
        self.articles: dict[str, str] = {}  # article id -> title
        self.faults: list[Fault] = []
        self._calls: deque[float] = deque()

    # --- people -------------------------------------------------------------------------

    def add_person(
        self, display_name: str, *, following: bool = True, user_id: str | None = None
    ) -> Person:
        person = Person(user_id or new_id(), new_id(), display_name, following=following)
        person.last_interaction = self.clock.now()
        self.people[person.user_id] = person
        return person

    def person(self, user_id: str) -> Person | None:
        return self.people.get(str(user_id))

    def interact(self, person: Person) -> None:
        person.last_interaction = self.clock.now()

    # --- tokens -------------------------------------------------------------------------

    def grant(self) -> tuple[AccessToken, RefreshToken]:
        """A new pair, as when an administrator grants the OA to the app."""
        now = self.clock.now()
        access = AccessToken(new_token("at"), now + self.config.access_ttl)
        refresh = RefreshToken(new_token("rt"), now + self.config.refresh_ttl)
        self.access_tokens[access.value] = access
        self.refresh_tokens[refresh.value] = refresh
        return access, refresh

    def refresh(
        self, app_id: str, secret_key: str, refresh_token: str
    ) -> tuple[AccessToken, RefreshToken]:
        if app_id != self.config.app_id or secret_key != self.config.app_secret:
            raise ZaloError(-14002)
        record = self.refresh_tokens.get(refresh_token)
        if record is None or record.used or record.expires_at <= self.clock.now():
            raise ZaloError(self.config.dead_refresh_code)
        record.used = True
        self.stats.refreshes += 1
        return self.grant()

    def check_access(self, token: str | None) -> None:
        record = self.access_tokens.get(token or "")
        if record is None or record.expires_at <= self.clock.now():
            raise ZaloError(self.config.invalid_token_code)

    def expire_access_tokens(self) -> int:
        now = self.clock.now()
        for record in self.access_tokens.values():
            record.expires_at = min(record.expires_at, now)
        return len(self.access_tokens)

    def revoke_refresh_tokens(self) -> int:
        for record in self.refresh_tokens.values():
            record.used = True
        return len(self.refresh_tokens)

    # --- limits and faults --------------------------------------------------------------

    def count_call(self) -> None:
        """Sliding one-minute window per app on the fake's clock; over the limit is -32."""
        now = self.clock.now()
        while self._calls and self._calls[0] <= now - MINUTE:
            self._calls.popleft()
        if len(self._calls) >= self.config.rate_per_minute:
            raise ZaloError(-32)
        self._calls.append(now)

    def take_fault(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.method in (method, "*") and fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
                self.stats.faults_injected += 1
                return fault
        return None

    def is_night(self) -> bool:
        local = datetime.fromtimestamp(self.clock.now(), ZoneInfo(self.config.timezone))
        start, end = self.config.night_start_hour, self.config.night_end_hour
        return local.hour >= start or local.hour < end

    # --- uploads ------------------------------------------------------------------------

    def add_upload(self, kind: str, filename: str, content_type: str, data: bytes) -> Upload:
        upload = Upload(new_token(kind[:3]), kind, filename, content_type, data, self.clock.now())
        self.uploads[upload.upload_id] = upload
        self.stats.uploads += 1
        return upload

    def live_upload(self, upload_id: object, kind: str) -> Upload:
        upload = self.uploads.get(str(upload_id or ""))
        if upload is None or upload.kind != kind:
            raise ZaloError(-201, f"unknown {kind} id")
        if upload.created + self.config.upload_ttl <= self.clock.now():
            raise ZaloError(-100)
        return upload

    def add_media(self, content_type: str, filename: str, data: bytes) -> Media:
        media = Media(new_token("m"), content_type, filename, data)
        self.media[media.media_id] = media
        return media
