"""Tables of work owed later or exactly once: timers, the outbox, idempotency records."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.models.columns import _json, _ts


class TimerStatus(StrEnum):
    pending = "pending"
    claimed = "claimed"
    done = "done"
    cancelled = "cancelled"
    failed = "failed"


class Timer(SQLModel, table=True):
    """A due item: a state deadline, a clock, a reminder or a follow-up visit."""

    __tablename__ = "timers"
    __table_args__ = (sa.Index("ix_timers_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=20)  # state_deadline | clock | reminder | followup
    name: str = Field(max_length=64)  # state or clock name
    due_at: datetime = _ts()
    on_expiry: str = Field(max_length=64)
    status: str = Field(default=TimerStatus.pending, max_length=20)
    provisional: bool = False  # due date computed without that year's holiday data
    working_days: bool = False
    days: int = 0
    payload: dict[str, Any] = _json(default=dict)
    created_at: datetime = _ts()
    claimed_at: datetime | None = _ts(nullable=True)
    fired_at: datetime | None = _ts(nullable=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class OutboxMessage(SQLModel, table=True):
    """A notification written in the same transaction as its event, delivered after commit."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    kind: str = Field(max_length=40)
    recipient: str = Field(default="", max_length=200)
    payload: dict[str, Any] = _json(default=dict)
    status: str = Field(default="pending", max_length=20)  # pending | delivered | dead
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    created_at: datetime = _ts()
    delivered_at: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class IdempotencyRecord(SQLModel, table=True):
    """A creating request's Idempotency-Key and the response it got, scoped per user.

    The row is written before the work starts (status `pending`) so a concurrent retry finds
    it; once the work commits it holds the response that every retry receives.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    key: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64)  # sha256 of method, path and body
    status: str = Field(default="pending", max_length=20)  # pending | done
    response_status: int | None = None
    response_body: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    response_headers: dict[str, Any] = _json(default=dict)
    created_at: datetime = _ts(index=True)
