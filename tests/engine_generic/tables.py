"""The schema of this host: the engine's tables and a case row of its own, with one attribute
(a summary) beside the engine's columns and none of mediation's.

Declared on a registry of its own, so that it does not meet mediation's `cases` table, which
the rest of the test process registers on SQLModel's metadata; the engine's other tables are
copied beside it (engine.models.engine_tables). GenericTx hands the row to the engine.
"""

from __future__ import annotations

from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from engine.models import engine_tables
from engine.models.cases import CaseColumns
from engine.records import CaseRecord
from engine.repository import Tx
from engine.repository.cases import CaseLayout

_REGISTRY = registry()


class _HostModel(SQLModel, registry=_REGISTRY):
    """The base of this host's tables: its own metadata."""


class GenericCase(CaseColumns, _HostModel, table=True):
    """A case of the leave request or the two-party approval: numbered per unit and year."""

    __tablename__ = "cases"
    __table_args__ = (sa.UniqueConstraint("org_unit_id", "year", "seq"),)

    summary: str = Field(default="", sa_type=sa.Text, nullable=False)


METADATA = engine_tables(_REGISTRY.metadata)


class GenericTx(Tx):
    """The engine's Tx on this case row: the engine's record, the summary set at the start."""

    case_layout: ClassVar[CaseLayout] = CaseLayout(CaseRecord, GenericCase)
