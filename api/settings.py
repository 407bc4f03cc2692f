"""Deployment settings from FENGQIAO_* environment variables; read here and nowhere below."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FENGQIAO_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None  # default: SQLite file under data_dir
    base_url: str = "http://127.0.0.1:8000"
    case_number_pattern: str = "（{year}）{committee_abbr}调字第{seq:04d}号"
    pii_key_file: Path | None = None  # default: data_dir/keys/pii.key (created on init)
    calendar_dir: Path | None = None  # default: data_dir/calendar (holiday data files)
    timezone: str = "Asia/Shanghai"
    sql_echo: bool = False
    token_minutes: int = Field(default=30, gt=0)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fengqiao.db').resolve()}"

    @property
    def resolved_pii_key_file(self) -> Path:
        return self.pii_key_file or self.data_dir / "keys" / "pii.key"

    @property
    def resolved_calendar_dir(self) -> Path:
        return self.calendar_dir or self.data_dir / "calendar"


@lru_cache
def get_settings() -> Settings:
    return Settings()
