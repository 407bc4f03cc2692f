"""The table of pre-aggregated R-STATS counts (mediation/aggregates.py keeps it): a report reads
days × figures for its units, never one row per case."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class UnitPeriodCount(SQLModel, table=True):
    """How many cases registered in one local day (or month) of one unit's subtree count
    towards one figure, with the sums the report needs beside the per-result rows.

    `dim` names the breakdown (result, category, risk, resolved, performance, satisfaction)
    and `value` its value; `unit_id` 0 holds every case. The sums (overdue, working days,
    confirmation) are carried only by the `result` rows, so each case is summed once.
    """

    __tablename__ = "unit_period_counts"

    unit_id: int = Field(primary_key=True)
    span: str = Field(primary_key=True, max_length=5)  # day | month
    period: int = Field(primary_key=True)  # yyyymmdd (day) or yyyymm (month), Beijing time
    dim: str = Field(primary_key=True, max_length=12)
    value: str = Field(primary_key=True, max_length=40)
    cases: int = 0
    overdue: int = 0
    working_days_total: int = 0
    working_days_cases: int = 0
    applied: int = 0
    confirmed: int = 0
    rejected: int = 0
    not_accepted: int = 0
    withdrawn: int = 0
