"""Tables of a case: the columns of the case row (its table is the host's, with the host's
attributes), its assignments, its hash-chained history and its number counter. Parties,
sessions, visits and progress links are the host's (mediation/models/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.models.columns import JsonText, _json, _ts, timestamp


class CaseColumns(SQLModel):
    """The engine's columns of the case row, declared once for a host's `cases` table.

    Not a table: the host declares it with its own attributes (mediation/models/cases.py:
    `class Case(CaseColumns, table=True)`, its committee, category, risk level...), and the
    engine reads and writes whatever the host's declaration adds (engine/repository/cases.py
    CaseLayout). No column here shares an `sa_column`, so two tables may derive from it.
    """

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64, unique=True)
    year: int
    seq: int
    spec_id: str = Field(max_length=64)
    spec_version: int
    state: str = Field(max_length=64, index=True)
    level: str = Field(max_length=20, index=True)
    org_unit_id: int = Field(foreign_key="org_units.id", index=True)
    registrar_id: int | None = Field(default=None, foreign_key="users.id")
    state_sessions: int = 0
    overdue: bool = False
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JsonText, nullable=False)
    version: int = 0
    audit_seq: int = 0
    audit_head: str = Field(max_length=64)
    created_at: datetime = timestamp(index=True)  # a period's cases (台账, statistics)
    updated_at: datetime = timestamp()
    state_entered_at: datetime = timestamp()
    closed_at: datetime | None = timestamp(nullable=True)


class Assignment(SQLModel, table=True):
    """Who works a case: mediator, 中心户, and invited 三官一律 members (R-MEDIATOR, R-INVITE)."""

    __tablename__ = "assignments"
    __table_args__ = (
        # the scope check on every page: a user's open assignments, never their history
        sa.Index(
            "ix_assignments_open_user",
            "user_id",
            "case_id",
            postgresql_where=sa.text("ended_at IS NULL"),
            sqlite_where=sa.text("ended_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    role: str = Field(max_length=32)
    assigned_at: datetime = _ts()
    ended_at: datetime | None = _ts(nullable=True)
    consented_at: datetime | None = _ts(nullable=True)


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained record of every change to a case (engine/audit.py)."""

    __tablename__ = "audit_events"
    # (case_id, seq) is unique and leads with case_id: no second index on case_id alone
    __table_args__ = (sa.UniqueConstraint("case_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    seq: int
    at: datetime = _ts()
    actor_id: int | None = None
    actor_name: str = Field(max_length=64)
    actor_roles: str = Field(max_length=200)
    trigger: str = Field(max_length=64)
    source_state: str | None = Field(default=None, max_length=64)
    dest_state: str = Field(max_length=64)
    version: int
    payload: dict[str, Any] = _json(default=dict)
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class CaseCounter(SQLModel, table=True):
    """The last case number issued per committee and year: gap-free under concurrency."""

    __tablename__ = "case_counters"

    office_id: int = Field(primary_key=True, foreign_key="org_units.id")
    year: int = Field(primary_key=True)
    last_seq: int = 0
