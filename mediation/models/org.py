"""Mediation's organisation vocabulary and tables: the unit kinds of a district's mediation
network, the households a grid's 中心户 covers, and the log of unmasked PII reads."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from engine.models.columns import _ts


class OrgKind(StrEnum):
    district = "district"
    street = "street"
    community = "community"
    grid = "grid"
    committee = "committee"  # 人民调解委员会: owns the seal
    room = "room"  # 个人品牌调解工作室: under a committee, no seal of its own (R-SEAL)
    court = "court"
    law_firm = "law_firm"
    police_station = "police_station"
    procuratorate = "procuratorate"


class Household(SQLModel, table=True):
    """A household of a grid and the 中心户 who covers it: intake routes by address."""

    __tablename__ = "households"

    id: int | None = Field(default=None, primary_key=True)
    grid_id: int = Field(foreign_key="org_units.id", index=True)
    address: str = Field(max_length=200, unique=True)
    head_name: str = Field(default="", max_length=64)
    central_household_user_id: int | None = Field(default=None, foreign_key="users.id")


class PiiAccess(SQLModel, table=True):
    """Every unmasked read of an ID or phone number (R-PII: "every unmasked view logged")."""

    __tablename__ = "pii_access_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    party_id: int = Field(foreign_key="parties.id", index=True)
    fields: str = Field(max_length=100)  # comma-separated: id_number, phone
    purpose: str = Field(max_length=200)  # the route and the role that justified it
