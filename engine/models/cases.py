"""Tables of a case and its people: the case, its parties, assignments, sessions, visits,
its hash-chained history, its number counter and the parties' progress links."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.models.columns import _json, _ts


class Category(SQLModel, table=True):
    """纠纷类型 (R-CATEGORIES), with the flags the law attaches to some of them."""

    __tablename__ = "categories"

    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=40)
    excluded_from_confirmation: bool = False  # R-JC-EXCLUDE
    excluded_from_esign: bool = False  # R-ESIGN-EXCLUDE
    sort_order: int = 0
    active: bool = True


class Party(SQLModel, table=True):
    """A natural person or an organisation. ID and phone are encrypted (R-PII)."""

    __tablename__ = "parties"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="person", max_length=20)  # person | organisation
    name: str = Field(max_length=100, index=True)
    sex: str | None = Field(default=None, max_length=10)
    ethnicity: str | None = Field(default=None, max_length=20)
    birth_date: date | None = None
    occupation: str | None = Field(default=None, max_length=50)
    address: str = Field(default="", max_length=200)
    representative: str | None = Field(default=None, max_length=64)  # organisations
    guardian_name: str | None = Field(default=None, max_length=64)  # guardian / 法定代理人
    guardian_relation: str | None = Field(default=None, max_length=20)  # R-MINOR
    guardian_id_cipher: str | None = Field(default=None, max_length=200)
    guardian_id_masked: str | None = Field(default=None, max_length=30)
    id_number_cipher: str | None = Field(default=None, max_length=200)
    id_number_index: str | None = Field(default=None, max_length=64, index=True)
    id_number_masked: str | None = Field(default=None, max_length=30)
    phone_cipher: str | None = Field(default=None, max_length=200)
    phone_index: str | None = Field(default=None, max_length=64, index=True)
    phone_masked: str | None = Field(default=None, max_length=20)
    created_at: datetime = _ts()


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (sa.UniqueConstraint("committee_id", "year", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64, unique=True)
    committee_id: int = Field(foreign_key="org_units.id")
    year: int
    seq: int
    spec_id: str = Field(max_length=64)
    spec_version: int
    state: str = Field(max_length=64, index=True)
    level: str = Field(max_length=20, index=True)
    resolved_level: str | None = Field(default=None, max_length=20)
    category_code: str = Field(foreign_key="categories.code", max_length=40, index=True)
    summary: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    risk_level: str = Field(max_length=20)
    origin: str = Field(max_length=40)
    org_unit_id: int = Field(foreign_key="org_units.id", index=True)
    # indexed: the scope clause asks for each of them (mediation/queries.py scope_clause)
    grid_id: int | None = Field(default=None, foreign_key="org_units.id", index=True)
    court_id: int | None = Field(default=None, foreign_key="org_units.id", index=True)
    referring_court_id: int | None = Field(default=None, foreign_key="org_units.id", index=True)
    registrar_id: int | None = Field(default=None, foreign_key="users.id")
    state_sessions: int = 0
    overdue: bool = False
    data: dict[str, Any] = _json(default=dict)
    version: int = 0
    audit_seq: int = 0
    audit_head: str = Field(max_length=64)
    created_at: datetime = _ts(index=True)  # a period's cases (台账, statistics)
    updated_at: datetime = _ts()
    state_entered_at: datetime = _ts()
    agreement_effective_at: datetime | None = _ts(nullable=True)
    closed_at: datetime | None = _ts(nullable=True)


class CaseParty(SQLModel, table=True):
    """A party's place in a case and their consent to mediation (R-START, R-NOTICE)."""

    __tablename__ = "case_parties"
    __table_args__ = (sa.UniqueConstraint("case_id", "party_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    party_id: int = Field(foreign_key="parties.id", index=True)  # search: party → its cases
    role: str = Field(max_length=20)  # applicant | respondent | third_party
    agent_name: str | None = Field(default=None, max_length=64)
    consent: str = Field(default="pending", max_length=20)  # pending | consented | refused
    consent_at: datetime | None = _ts(nullable=True)
    consent_source: str | None = Field(default=None, max_length=100)
    notice_acknowledged_at: datetime | None = _ts(nullable=True)


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
    parties_consented_at: datetime | None = _ts(nullable=True)


class MediationSession(SQLModel, table=True):
    """One session (调解记录, R-TRANSCRIPT), counted against the tier's attempt limit."""

    __tablename__ = "mediation_sessions"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    state: str = Field(max_length=64)
    level: str = Field(max_length=20)
    held_at: datetime = _ts()
    place: str = Field(default="", max_length=200)
    public: bool = False
    attendees: list[str] = _json(default=list)
    record: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    recorder_id: int | None = Field(default=None, foreign_key="users.id")


class Visit(SQLModel, table=True):
    """A follow-up visit (回访, R-FOLLOWUP)."""

    __tablename__ = "visits"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    term_index: int | None = None
    visited_at: datetime = _ts()
    visitor_id: int | None = Field(default=None, foreign_key="users.id")
    performance: str = Field(max_length=20)  # performed | partly | not
    satisfaction: str | None = Field(default=None, max_length=20)
    new_risks: str | None = Field(default=None, max_length=200)
    notes: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))


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


class ProgressLink(SQLModel, table=True):
    """A party's link to their case's progress page: no account, a check of the last four
    digits of their phone, revocable, and of no use once the case is closed."""

    __tablename__ = "progress_links"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    party_id: int = Field(foreign_key="parties.id")
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 of the link's secret
    token_cipher: str = Field(max_length=200)  # the secret, encrypted: its QR code is redrawn
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)
    failed_checks: int = 0  # wrong last-four digits in a row
    locked_until: datetime | None = _ts(nullable=True)
