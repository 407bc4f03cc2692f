"""Deployment settings from FENGQIAO_* environment variables; read here and nowhere below."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FENGQIAO_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None  # default: SQLite file under data_dir
    base_url: str = "http://127.0.0.1:8000"
    case_number_pattern: str = "（{year}）{committee_abbr}调字第{seq:04d}号"
    pii_key_file: Path | None = None  # default: data_dir/keys/pii.key (created on init)
    calendar_dir: Path | None = None  # default: data_dir/calendar (holiday data files)
    sql_echo: bool = False  # statements only: parameters are never logged
    log_format: Literal["text", "json"] = "text"  # json: one object per line for operators
    token_minutes: int = Field(default=30, gt=0)
    token_key_file: Path | None = None  # default: data_dir/keys/token.key (created on start)
    login_max_failures: int = Field(default=5, gt=0)  # per username and client address
    login_window_seconds: int = Field(default=300, gt=0)
    login_max_failures_per_username: int = Field(default=20, gt=0)  # from all addresses
    # proxies whose X-Forwarded-For is believed (addresses or CIDR blocks); none by default
    trusted_proxies: tuple[str, ...] = ()
    max_json_bytes: int = Field(default=2**20, gt=0)  # JSON and form bodies; uploads: their own
    idempotency_hours: int = Field(default=24, gt=0)  # how long a stored response is replayed
    actor_cache_seconds: float = Field(default=30.0, ge=0)  # roles and scopes per user

    # timers and follow-ups (issue: timers)
    tick_seconds: float = Field(default=1.0, gt=0)  # how often the tick looks for due work
    scheduler_in_server: bool = True  # `fengqiao serve` ticks too; set false with a worker
    timer_lease_seconds: int = Field(default=300, gt=0)  # a claim older than this is retried
    followup_days: tuple[int, ...] = (7, 30)  # standard visits after the agreement takes effect
    visit_grace_days: int = Field(default=7, gt=0)  # working days before a due visit is late
    # notifications: outbox senders
    webhook_url: str | None = None  # every notification is POSTed here, HMAC-signed
    webhook_secret: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "fengqiao@localhost"
    email_routes: dict[str, str] = {}  # recipient (e.g. "supervisor", "court:5") → address
    outbox_max_attempts: int = Field(default=8, gt=0)  # then the message is dead-lettered
    # documents: rendering, signing and the content store (issue: documents)
    # False only for a deployment that truly keeps no PDFs: drafting, signing, sealing and
    # rulings are then fired at the generic actions door with no document behind them.
    document_service: bool = True
    ca_pkcs12_file: Path | None = None  # the deployment CA; default: a dev CA under data_dir/ca
    ca_passphrase: str | None = None  # of ca_pkcs12_file; also encrypts cached signer keys
    timestamp_url: str | None = None  # an RFC 3161 time-stamping service for every signature
    document_font_family: str = "Noto Serif CJK SC"  # must be installed (fontconfig)
    # audit checkpoints: signed chain heads kept outside the database
    audit_key_file: Path | None = None  # default: data_dir/keys/audit.key (Ed25519, PEM)
    checkpoint_dir: Path | None = None  # default: data_dir/checkpoints
    checkpoint_minutes: float = Field(default=10.0, gt=0)  # how often the tick signs heads
    document_store_key_file: Path | None = None  # default: data_dir/keys/store.key (AES-GCM)
    # R-ESIGN: one-time codes to a signer's phone; "console" logs them (development only)
    otp_sender: Literal["console"] = "console"
    otp_minutes: int = Field(default=5, gt=0, le=30)  # a code's lifetime
    otp_max_attempts: int = Field(default=5, gt=0, le=10)  # wrong codes before a new one
    signing_link_minutes: int = Field(default=30, gt=0, le=24 * 60)  # a personal signing link
    # where sealed documents live: "auto" = the database on PostgreSQL (every API machine finds
    # them), the local folder data_dir/documents on SQLite; or force "folder" / "database"
    document_store: Literal["auto", "folder", "database"] = "auto"

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"FENGQIAO_TRUSTED_PROXIES：“{entry}”不是地址或网段") from exc
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fengqiao.db').resolve()}"

    @property
    def resolved_pii_key_file(self) -> Path:
        return self.pii_key_file or self.data_dir / "keys" / "pii.key"

    @property
    def resolved_token_key_file(self) -> Path:
        return self.token_key_file or self.data_dir / "keys" / "token.key"

    @property
    def resolved_audit_key_file(self) -> Path:
        return self.audit_key_file or self.data_dir / "keys" / "audit.key"

    @property
    def resolved_checkpoint_dir(self) -> Path:
        return self.checkpoint_dir or self.data_dir / "checkpoints"

    @property
    def resolved_document_store_key_file(self) -> Path:
        return self.document_store_key_file or self.data_dir / "keys" / "store.key"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def ca_dir(self) -> Path:
        return self.data_dir / "ca"

    @property
    def verify_base_url(self) -> str:
        """Where a document's QR code points: {base_url}/verify/{document_id}."""
        return f"{self.base_url.rstrip('/')}/verify"

    @property
    def resolved_calendar_dir(self) -> Path:
        return self.calendar_dir or self.data_dir / "calendar"


@lru_cache
def get_settings() -> Settings:
    return Settings()
