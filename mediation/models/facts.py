"""Tables a report reads instead of history: one case's facts, and those facts per unit."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.models.columns import _ts


class CaseFact(SQLModel, table=True):
    """What R-STATS counts of one case, kept current by the fire that changes it
    (engine/facts.py), so a report aggregates these rows instead of reading history."""

    __tablename__ = "case_facts"

    case_id: int = Field(primary_key=True, foreign_key="cases.id")
    registered_at: datetime = _ts(index=True)
    committee_id: int
    org_unit_id: int
    grid_id: int | None = None
    result: str = Field(max_length=20)  # successful | failed | not_mediated | in_progress
    resolved_level: str | None = Field(default=None, max_length=20)
    category_code: str = Field(max_length=40)
    risk_level: str = Field(max_length=20)
    overdue: bool = False  # 超期督办, a late visit alone not counted
    working_days: int | None = None  # registration to agreement in effect (or to the end)
    agreement_effective_at: datetime | None = _ts(nullable=True)
    closed_at: datetime | None = _ts(nullable=True)
    latest_performance: str | None = Field(default=None, max_length=20)
    latest_satisfaction: str | None = Field(default=None, max_length=20)
    applied: bool = False  # 司法确认: applied, and each outcome once
    confirmed: bool = False
    rejected: bool = False
    not_accepted: bool = False
    withdrawn: bool = False


class CaseFactUnit(SQLModel, table=True):
    """The facts a report groups and sums, once for each unit whose subtree holds the case
    (its committee's, org unit's and grid's ancestors and themselves): a unit's report is one
    range scan of (unit, registered_at) with no join."""

    __tablename__ = "case_fact_units"
    __table_args__ = (
        # on PostgreSQL the figures ride in the index: a report is an index-only range scan
        sa.Index(
            "ix_case_fact_units_period",
            "unit_id",
            "registered_at",
            postgresql_include=[
                "result",
                "resolved_level",
                "category_code",
                "risk_level",
                "overdue",
                "working_days",
                "latest_performance",
                "latest_satisfaction",
                "applied",
                "confirmed",
                "rejected",
                "not_accepted",
                "withdrawn",
            ],
        ),
    )

    unit_id: int = Field(primary_key=True)
    case_id: int = Field(primary_key=True, foreign_key="cases.id", index=True)
    registered_at: datetime = _ts()
    result: str = Field(max_length=20)
    resolved_level: str | None = Field(default=None, max_length=20)
    category_code: str = Field(max_length=40)
    risk_level: str = Field(max_length=20)
    overdue: bool = False
    working_days: int | None = None
    latest_performance: str | None = Field(default=None, max_length=20)
    latest_satisfaction: str | None = Field(default=None, max_length=20)
    applied: bool = False
    confirmed: bool = False
    rejected: bool = False
    not_accepted: bool = False
    withdrawn: bool = False
