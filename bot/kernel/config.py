"""Settings read from the environment (prefix ANTQ_) and an optional .env file."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.chat.ref import ChatRef
from bot.deadlines.reminder_plan import DEFAULT_PLAN, PlanError, parse_plan
from content.texts import Texts

TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]{5,}$")
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{12,256}$")  # Telegram's alphabet; not too short
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_HOURS = 24 * 365  # a year: longer waits are a typo, and overflow date arithmetic


class Mode(StrEnum):
    POLLING = "polling"
    WEBHOOK = "webhook"


class Settings(BaseSettings):
    """Everything the bot needs to know about its installation; built once and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="ANTQ_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: SecretStr | None = None  # required to run; not to import units or export
    api_base_url: str = "https://api.telegram.org"
    mode: Mode = Mode.POLLING
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1:8443"
    webhook_secret: SecretStr | None = None
    database_path: Path = Path("./data/antq.db")
    timezone: str = "Asia/Ho_Chi_Minh"
    office_chat_id: int | None = None
    office_admins: Annotated[frozenset[int], NoDecode] = frozenset()
    org_name: str = "Sở Giáo dục và Đào tạo"
    log_level: str = "INFO"  # DEBUG, INFO, WARNING, ERROR or CRITICAL
    concurrent_updates: int = Field(default=32, ge=1, le=1024)
    data_key: SecretStr | None = None  # Fernet key(s), comma-separated, newest first
    data_key_file: Path = Path("./data/antq.key")
    unclaimed_after_hours: float = Field(default=24.0, gt=0, le=MAX_HOURS, allow_inf_nan=False)
    outreach_staff_at: str = "sun 19:00"  # relative to the Monday of the flag-raising session
    outreach_staff_until: str = "mon 10:00"
    outreach_parents_at: str = "mon 18:00"
    outreach_parents_until: str = "tue 20:00"
    quiet_hours: str = "21:00-06:30"
    urgent_unclaimed_after_hours: float = Field(
        default=1.0, gt=0, le=MAX_HOURS, allow_inf_nan=False
    )
    bot_username: str | None = None  # for invitation links when the bot is not running
    deadline_reminders: str = DEFAULT_PLAN  # days before the due date and local times
    deadline_overdue_at: str = "08:00"  # daily reminder of overdue units and the office digest
    deadline_overdue_days: int = Field(default=30, ge=0, le=365)
    retention_days: int = Field(default=365, ge=0, le=36500)  # 0: closed reports kept forever
    files_dir: Path | None = None  # the encrypted file store; default: files/ beside the database
    file_max_mb: int = Field(default=20, ge=1, le=2000)  # one file
    report_files_max_mb: int = Field(default=50, ge=1, le=10000)  # all files of one report
    http_listen: str = "127.0.0.1:8080"  # the web pages (and webhooks) on plain HTTP
    public_url: str | None = None  # the public https root in front of http_listen, if any

    # Zalo Official Account: the channel runs when ANTQ_ZALO_APP_ID is set.
    zalo_app_id: str | None = None
    zalo_app_secret: SecretStr | None = None
    zalo_oa_secret_key: SecretStr | None = None
    zalo_refresh_token: SecretStr | None = None  # the first grant; then the pair lives encrypted
    zalo_access_token: SecretStr | None = None  # optional: without it the first send refreshes
    zalo_api_base_url: str = "https://openapi.zalo.me"
    zalo_oauth_base_url: str = "https://oauth.zaloapp.com"
    zalo_signature_secret: Literal["oa", "app"] = "oa"
    zalo_oa_id: str | None = None  # the OA's own id: events from it are never answered
    zalo_verifier_file: Path | None = None  # zalo_verifier<code>.html, served at the root
    zalo_buttons_template_type: str | None = None  # Zalo's open question; none by default
    # Kinds of outbox message that may be sent (billed) 48 h to 7 days after the last interaction.
    zalo_paid_kinds: Annotated[frozenset[str], NoDecode] = frozenset(
        {"reporter_update", "deadline_answer", "deadline_digest", "deadline_changed"}
    )
    # Approved ZBS template per kind, for people past the 7-day window: kind=template_id,...
    zalo_templates: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    # OA Article per outreach week, broadcast to followers outside their free window:
    # 2026-09-07=article_id,... (the Monday of the flag-raising session)
    zalo_articles: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not TOKEN_PATTERN.match(value.get_secret_value()):
            raise PydanticCustomError("token_shape", "not a Telegram bot token")
        return value

    @field_validator("zalo_paid_kinds", mode="before")
    @classmethod
    def _kind_list(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(_listed(value, r"[a-z][a-z0-9_]*", "kind_list"))
        return value

    @field_validator("zalo_templates", mode="before")
    @classmethod
    def _template_map(cls, value: object) -> object:
        if isinstance(value, str):
            return _paired(value, r"[a-z][a-z0-9_]*", r"[A-Za-z0-9]+", "template_map")
        return value

    @field_validator("zalo_articles", mode="before")
    @classmethod
    def _article_map(cls, value: object) -> object:
        if isinstance(value, str):
            return _paired(value, r"\d{4}-\d{2}-\d{2}", r".+", "article_map")
        return value

    @field_validator("zalo_app_id", "zalo_oa_id")
    @classmethod
    def _numeric_id(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if not value.strip().isdigit():
            raise PydanticCustomError("zalo_id", "not a Zalo id")
        return value.strip()

    @field_validator("zalo_api_base_url", "zalo_oauth_base_url")
    @classmethod
    def _zalo_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise PydanticCustomError("http_url", "not an http(s) URL")
        return value.rstrip("/")

    @field_validator("api_base_url", "webhook_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not re.match(r"^https?://[^\s/]+", value):
            raise PydanticCustomError("http_url", "not an http(s) URL")
        return value.rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if not SECRET_PATTERN.match(value.get_secret_value()):
            raise PydanticCustomError("webhook_secret", "not a webhook secret")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.strip().upper() not in LOG_LEVELS:
            raise PydanticCustomError("log_level", "not a log level")
        return value.strip().upper()

    @field_validator("webhook_listen", "http_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise PydanticCustomError("host_port", "not host:port")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PydanticCustomError("time_zone", "unknown time zone") from exc
        return value

    @field_validator("office_admins", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in _listed(value, r"-?\d+", "id_list"))
        return value

    @field_validator(
        "outreach_staff_at", "outreach_staff_until", "outreach_parents_at", "outreach_parents_until"
    )
    @classmethod
    def _week_moment(cls, value: str) -> str:
        if not re.fullmatch(r"(sun|mon|tue|wed|thu|fri|sat) ([01]\d|2[0-3]):[0-5]\d", value):
            raise PydanticCustomError("week_moment", "not a weekday and time")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _time_range(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value):
            raise PydanticCustomError("time_range", "not HH:MM-HH:MM")
        return value

    @field_validator("bot_username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        name = value.strip().removeprefix("@")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", name):
            raise PydanticCustomError("bot_username", "not a bot username")
        return name

    @field_validator("deadline_reminders")
    @classmethod
    def _reminder_plan(cls, value: str) -> str:
        try:
            parse_plan(value)
        except PlanError as exc:
            raise PydanticCustomError("reminder_plan", "not a reminder plan") from exc
        return value

    @field_validator("deadline_overdue_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise PydanticCustomError("clock_time", "not HH:MM")
        return value

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> Settings:
        if self.mode is Mode.WEBHOOK and not self.webhook_url:
            raise PydanticCustomError("webhook_needs_url", "webhook mode needs a webhook URL")
        if self.mode is Mode.WEBHOOK and self.webhook_secret is None:
            # without it, anyone who finds the URL can post updates as an office admin
            raise PydanticCustomError("webhook_needs_secret", "webhook mode needs a webhook secret")
        return self

    @property
    def telegram_enabled(self) -> bool:
        return self.bot_token is not None

    @property
    def zalo_enabled(self) -> bool:
        return self.zalo_app_id is not None

    def missing_for_run(self) -> list[str]:
        """Variables a running channel cannot do without (the Zalo ones, once Zalo is on)."""
        if not self.zalo_enabled:
            return []
        required = {
            "ANTQ_ZALO_APP_SECRET": self.zalo_app_secret,
            "ANTQ_ZALO_OA_SECRET_KEY": self.zalo_oa_secret_key,
            "ANTQ_ZALO_REFRESH_TOKEN": self.zalo_refresh_token,
        }
        return [name for name, value in required.items() if not _filled(value)]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def files_folder(self) -> Path:
        return self.files_dir if self.files_dir is not None else self.database_path.parent / "files"

    @property
    def webhook_host(self) -> str:
        return self.webhook_listen.rpartition(":")[0]

    @property
    def webhook_port(self) -> int:
        return int(self.webhook_listen.rpartition(":")[2])

    @property
    def http_host(self) -> str:
        return self.http_listen.rpartition(":")[0]

    @property
    def http_port(self) -> int:
        return int(self.http_listen.rpartition(":")[2])

    def is_office_admin(self, user_id: int | str | None) -> bool:
        return user_id is not None and str(user_id) in {str(a) for a in self.office_admins}

    @property
    def office_chat(self) -> ChatRef | None:
        """Where the office's notices go as chat messages: the Telegram group, when set."""
        if self.office_chat_id is None:
            return None
        return ChatRef("telegram", str(self.office_chat_id))


def _listed(value: str, item: str, error: str) -> list[str]:
    """A comma-separated setting, each item matching `item`; else the setting's own error."""
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not all(re.fullmatch(item, part) for part in parts):
        raise PydanticCustomError(error, "not a comma-separated list of the right items")
    return parts


def _paired(value: str, key: str, item: str, error: str) -> dict[str, str]:
    """A comma-separated setting of `key=value` pairs (`ANTQ_ZALO_TEMPLATES`, `..._ARTICLES`)."""
    found: dict[str, str] = {}
    for part in _listed(value, r"[^=]+=.+", error):
        name, _, setting = (x.strip() for x in part.partition("="))
        if not re.fullmatch(key, name) or not re.fullmatch(item, setting):
            raise PydanticCustomError(error, "not name=value pairs")
        found[name] = setting
    return found


def _filled(value: SecretStr | None) -> bool:
    return value is not None and value.get_secret_value().strip() != ""


def describe_errors(error: ValidationError, texts: Texts) -> list[str]:
    """One readable line per bad field, named as its environment variable, worded in content/."""
    lines = []
    for item in error.errors():
        field = "_".join(str(part) for part in item["loc"])
        name = f"ANTQ_{field.upper()}" if field else "ANTQ"
        key = f"config.error.{item['type']}"
        reason = (
            texts.get(key)
            if texts.has(key)
            else texts.get("config.error.other", detail=item["msg"])
        )
        lines.append(f"{name}: {reason}")
    return lines
