"""The Zalo channel's settings, built once by the wiring from the ANTQ_ZALO_* variables."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, SecretStr

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

    def signing_secret(self) -> str:
        secret = self.app_secret if self.signature_secret == "app" else self.oa_secret_key
        return secret.get_secret_value()
