"""The Zalo channel's settings, built once by the wiring from the ANTQ_ZALO_* variables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, SecretStr

if TYPE_CHECKING:
    from bot.kernel.config import Settings

DEFAULT_API_BASE_URL = "https://openapi.zalo.me"
DEFAULT_OAUTH_BASE_URL = "https://oauth.zaloapp.com"


class ZaloSettings(BaseModel):
    """Secrets are SecretStr: their repr and str never show the value."""

    app_id: str
    app_secret: SecretStr
    oa_secret_key: SecretStr
    refresh_token: SecretStr | None = None  # ANTQ_ZALO_REFRESH_TOKEN: the first grant
    access_token: SecretStr | None = None  # ANTQ_ZALO_ACCESS_TOKEN: optional
    api_base_url: str = DEFAULT_API_BASE_URL  # ANTQ_ZALO_API_BASE_URL
    oauth_base_url: str = DEFAULT_OAUTH_BASE_URL  # ANTQ_ZALO_OAUTH_BASE_URL
    signature_secret: Literal["oa", "app"] = "oa"  # ANTQ_ZALO_SIGNATURE_SECRET
    oa_id: str | None = None  # the OA's own id, when known: events from it are ignored
    buttons_template_type: str | None = None  # Zalo's open question: e.g. "button", or none
    quota_retry_seconds: float = 3600.0  # -211 / -218: try again after this long
    rate_retry_seconds: float = 60.0  # -32: the limit is per minute
    refresh_margin_seconds: float = 300.0  # refresh this long before the access token expires
    request_timeout_seconds: float = 20.0
    webhook_max_body: int = 64 * 1024
    webhook_max_age_seconds: float = 2 * 3600 + 15 * 60  # Zalo's last retry comes ~2 h 0.5 min on
    webhook_max_future_seconds: float = 300.0
    # Outbox routing by window (ZALO.md "Send windows"): kinds that may be billed 48 h - 7 d,
    # a template per kind past 7 days, kinds that are promotion (never 22:00-06:00).
    paid_kinds: frozenset[str] = frozenset(
        {"reporter_update", "deadline_answer", "deadline_digest", "deadline_changed"}
    )
    templates: dict[str, str] = Field(default_factory=dict)
    articles: dict[str, str] = Field(default_factory=dict)  # outreach week -> OA article id
    promotion_kinds: frozenset[str] = frozenset({"outreach", "announcement"})
    free_window_seconds: float = 48 * 3600.0
    paid_window_seconds: float = 7 * 86400.0
    public_url: str | None = None  # ANTQ_PUBLIC_URL: the web form of anonymous tips
    media_max_bytes: int = 20 * 1024 * 1024  # a person's image or file, downloaded bounded
    media_timeout_seconds: float = 30.0
    verifier_file: str | None = None  # path of zalo_verifier<code>.html

    @classmethod
    def from_app(cls, settings: Settings) -> ZaloSettings:
        """The channel's settings from the process's (ANTQ_ZALO_APP_ID is set)."""
        assert settings.zalo_app_id is not None
        assert settings.zalo_app_secret is not None and settings.zalo_oa_secret_key is not None
        return cls(
            app_id=settings.zalo_app_id,
            app_secret=settings.zalo_app_secret,
            oa_secret_key=settings.zalo_oa_secret_key,
            refresh_token=settings.zalo_refresh_token,
            access_token=settings.zalo_access_token,
            api_base_url=settings.zalo_api_base_url,
            oauth_base_url=settings.zalo_oauth_base_url,
            signature_secret=settings.zalo_signature_secret,
            oa_id=settings.zalo_oa_id,
            buttons_template_type=settings.zalo_buttons_template_type,
            paid_kinds=settings.zalo_paid_kinds,
            templates=dict(settings.zalo_templates),
            articles=dict(settings.zalo_articles),
            public_url=settings.public_url,
            verifier_file=str(settings.zalo_verifier_file) if settings.zalo_verifier_file else None,
        )

    def signing_secret(self) -> str:
        secret = self.app_secret if self.signature_secret == "app" else self.oa_secret_key
        return secret.get_secret_value()
