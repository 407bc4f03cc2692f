"""Mediation's tables about a case and its people: the case row (the engine's columns and
mediation's attributes), the dispute categories, the parties and their place in a case, the
sessions held, the follow-up visits and the parties' progress links.

Moved out of engine/models/ (same tables, same columns). The engine's papers hold party ids
as plain values; the foreign keys to parties are declared here, so the engine's tables can be
created without them.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.models.cases import CaseColumns
from engine.models.columns import _json, _ts, timestamp


class Case(CaseColumns, table=True):
    """A mediation case: the engine's columns and mediation's attributes (its committee and
    number within it, category, risk, origin, the units and courts that see it, the level it
    was resolved at, its agreement's effect). The records that read it are MediationCase
    (mediation/records.py); MediationTx hands both to the engine."""

    __tablename__ = "cases"
    __table_args__ = (sa.UniqueConstraint("committee_id", "year", "seq"),)

    committee_id: int = Field(foreign_key="org_units.id")
    resolved_level: str | None = Field(default=None, max_length=20)
    category_code: str = Field(max_length=40, index=True, foreign_key="categories.code")
    summary: str = Field(default="", sa_type=sa.Text, nullable=False)
    risk_level: str = Field(max_length=20)
    origin: str = Field(max_length=40)
    # indexed: the scope clause asks for each of them (mediation/queries.py scope_clause)
    grid_id: int | None = Field(default=None, foreign_key="org_units.id", index=True)
    court_id: int | None = Field(default=None, foreign_key="org_units.id", index=True)
    referring_court_id: int | None = Field(default=None, foreign_key="org_units.id", index=True)
    agreement_effective_at: datetime | None = timestamp(nullable=True)


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
