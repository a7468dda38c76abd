"""Headers, the public origin, signed form tokens and identity-free limits for the web pages.

Nothing here stores or logs who a visitor is: the address is only ever turned into an HMAC under
a salt made at start and held in memory, used as a key of in-memory counters, and forgotten.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
MIN_FILL_SECONDS = 2.0  # a person is never this fast; a quick one (3 s) is never refused
FORM_TOKEN_TTL = timedelta(hours=3)
USED_TOKENS = 50_000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class PublicOrigin:
    """Where people reach the pages: ANTQ_PUBLIC_URL if set, else what the request says."""

    public_url: str | None

    @property
    def always_https(self) -> bool:
        return bool(self.public_url and self.public_url.startswith("https://"))

    def is_https(self, request: web.Request) -> bool:
        if self.public_url:
            return self.always_https
        forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return forwarded == "https" or request.secure

    def origin(self, request: web.Request) -> str:
        if self.public_url:
            parts = urlsplit(self.public_url)
            return f"{parts.scheme}://{parts.netloc}"
        scheme = "https" if self.is_https(request) else "http"
        return f"{scheme}://{request.host}"

    def url(self, request: web.Request, path: str) -> str:
        """An absolute URL for a redirect, under the public root when there is one."""
        if self.public_url:
            return self.public_url.rstrip("/") + path
        return self.origin(request) + path

    def same_origin(self, request: web.Request) -> bool:
        """Whether a state-changing request comes from our own pages.

        Browsers say so in Sec-Fetch-Site; else Origin is compared with the public origin. Under
        `Referrer-Policy: no-referrer` a browser may send `Origin: null`: then the CSRF token and
        the SameSite=Strict cookie decide alone.
        """
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None:
            return site in ("same-origin", "none")
        origin = request.headers.get("Origin")
        if origin is None or origin == "null":
            return True
        return origin == self.origin(request)


def security_headers(origin: PublicOrigin) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = web.Response(
                status=exc.status, text=exc.text, headers=exc.headers, content_type=None
            )
        except Exception:  # logged here without the request: aiohttp's own log names the peer
            log.exception("web: error in %s %s", request.method, request.match_info.route.name)
            response = web.Response(status=500, text="500", content_type="text/plain")
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers.setdefault("Cache-Control", "no-store")
        if origin.always_https:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response

    return middleware


class SourceKeyer:
    """An HMAC of the visitor's address under an in-memory salt: a counter key, nothing more."""

    __slots__ = ("__salt",)

    def __init__(self) -> None:
        self.__salt = secrets.token_bytes(32)

    def __repr__(self) -> str:
        return "SourceKeyer()"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("SourceKeyer holds an in-memory salt and cannot be pickled or copied")

    def key(self, request: web.Request) -> str:
        address = request.remote or ""
        forwarded = request.headers.get("X-Forwarded-For")
        if forwarded and _is_local(
            address
        ):  # behind our reverse proxy: its last hop is the visitor
            address = forwarded.split(",")[-1].strip()[:64]
        return hmac.new(self.__salt, address.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def _is_local(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private


class FormTokens:
    """A signed token per served form: which form and when it was served; each used once."""

    def __init__(self, monotonic: Callable[[], float] = time.time) -> None:
        self._key = secrets.token_bytes(32)
        self._now = monotonic
        self._used: OrderedDict[str, None] = OrderedDict()

    def issue(self, form: str) -> str:
        served = f"{self._now():.3f}"
        nonce = secrets.token_urlsafe(12)
        return f"{served}.{nonce}.{self._sign(form, served, nonce)}"

    def _sign(self, form: str, served: str, nonce: str) -> str:
        message = f"{form}\x00{served}\x00{nonce}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def check(self, form: str, token: str | None, *, min_age: float = MIN_FILL_SECONDS) -> str:
        """'ok', 'missing' (no or forged token), 'quick', 'expired' or 'used'."""
        parts = (token or "").split(".")
        if len(parts) != 4:  # seconds.millis.nonce.signature
            return "missing"
        served, nonce, signature = f"{parts[0]}.{parts[1]}", parts[2], parts[3]
        if not hmac.compare_digest(self._sign(form, served, nonce), signature):
            return "missing"
        try:
            age = self._now() - float(served)
        except ValueError:
            return "missing"
        if age < min_age:
            return "quick"
        if age > FORM_TOKEN_TTL.total_seconds():
            return "expired"
        if nonce in self._used:
            return "used"
        return "ok"

    def spend(self, token: str) -> None:
        nonce = token.split(".")[2]
        self._used[nonce] = None
        while len(self._used) > USED_TOKENS:
            self._used.popitem(last=False)

    def sign_value(self, value: str) -> str:
        """value.expiry.signature: a short-lived capability (e.g. a looked-up report's id)."""
        expiry = str(int(self._now() + 1800))
        mac = hmac.new(self._key, f"v\x00{value}\x00{expiry}".encode(), hashlib.sha256)
        return f"{value}.{expiry}.{mac.hexdigest()[:32]}"

    def unsign_value(self, signed: str | None) -> str | None:
        parts = (signed or "").split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        value, expiry, signature = parts
        mac = hmac.new(self._key, f"v\x00{value}\x00{expiry}".encode(), hashlib.sha256)
        if not hmac.compare_digest(mac.hexdigest()[:32], signature):
            return None
        return value if int(expiry) >= self._now() else None


class Refusals:
    """What the public pages held back, by reason; shown to the office, never who."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.since = time.time()

    def add(self, reason: str) -> None:
        self.counts[reason] += 1

    def total(self) -> int:
        return sum(self.counts.values())
