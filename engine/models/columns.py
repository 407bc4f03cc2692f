"""Column types every table uses: timestamps that are UTC in the database and aware in
Python, and JSON kept as text so the same bytes work on SQLite and PostgreSQL and the engine's
raw-driver hot path (engine/repository) reads and writes exactly what the ORM does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field

SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is UTC in the database and aware in Python, on every dialect."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Fengqiao stores aware datetimes only")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002 (SQLAlchemy fixes the signature)
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JsonText(sa.types.TypeDecorator[Any]):
    """JSON kept as text: portable, and byte-identical between the ORM and the raw path."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:  # noqa: ARG002 (SQLAlchemy fixes the signature)
        return None if value is None else dumps(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:  # noqa: ARG002 (SQLAlchemy fixes the signature)
        return None if value is None else json.loads(value)


# json.dumps builds an encoder per call when given options; one shared (it keeps no state
# between calls) renders the same text for less (the fire path encodes three values)
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, Chinese kept readable."""
    return _CANONICAL.encode(value)


def _ts(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=sa.Column(UtcDateTime(), nullable=nullable, index=index))


def _json(*, default: Any) -> Any:
    return Field(default_factory=default, sa_column=sa.Column(JsonText(), nullable=False))


def timestamp(*, nullable: bool = False, index: bool = False) -> Any:
    """A UtcDateTime field whose column is built per table (`_ts` shares one Column object,
    which a base class of two tables cannot: engine/models/cases.py CaseColumns). A nullable
    one defaults to None: a case starts without it."""
    if nullable:
        return Field(default=None, sa_type=UtcDateTime, nullable=True, index=index)
    return Field(sa_type=UtcDateTime, nullable=False, index=index)
