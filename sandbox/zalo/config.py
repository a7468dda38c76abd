"""Settings of the fake Zalo OA: credentials, limits, windows, webhook delivery (changeable)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sandbox.zalo.models import DAY, HOUR


@dataclass
class ZaloSandboxConfig:
    app_id: str = "3107040312345678901"
    app_secret: str = "sandbox-app-secret"
    oa_id: str = "9876543210987654321"
    oa_secret_key: str = "sandbox-oa-secret-key"
    oa_name: str = "Sở GD&ĐT (sandbox)"
    access_ttl: float = 90000.0  # 25 h, answered as the string "90000"
    refresh_ttl: float = 90 * DAY
    dead_refresh_code: int = -118  # or -14014: sources differ
    invalid_token_code: int = -216
    rate_per_minute: int = 4000
    max_text: int = 2000  # UTF-16 code units after NFC (the conservative reading)
    max_buttons: int = 5
    max_button_title: int = 100
    require_template_type: bool = False  # whether a buttons payload needs template_type
    free_window: float = 48 * HOUR
    paid_window: float = 7 * DAY
    upload_ttl: float = 7 * DAY
    image_max_bytes: int = 1024 * 1024
    file_max_bytes: int = 5 * 1024 * 1024
    night_start_hour: int = 22
    night_end_hour: int = 6
    timezone: str = "Asia/Ho_Chi_Minh"
    promotion_templates: list[str] = field(default_factory=list)
    broadcast_quota: int | None = None  # broadcasts accepted in total; None = no limit
    signature_secret: str = "oa"  # "oa" (OA secret key) or "app" (app secret)
    webhook_url: str | None = None
    webhook_timeout: float = 2.0
    retry_schedule: list[float] = field(default_factory=lambda: [30, 300, 900, 1800, 3600])
    retry_scale: float = 1.0  # multiply the schedule: 0.001 makes 30 s into 30 ms
    echo: bool = True  # oa_send_* echoes of the OA's own sends

    def signing_secret(self) -> str:
        return self.app_secret if self.signature_secret == "app" else self.oa_secret_key

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        if values.get("signature_secret", "oa") not in ("oa", "app"):
            raise ValueError("signature_secret must be 'oa' or 'app'")
        for name, value in values.items():
            setattr(self, name, value)
