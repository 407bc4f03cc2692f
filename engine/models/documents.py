"""The versions of a case's documents, which guards and actions read and add through the
context (the bytes live in the host's content store). The host keeps the rest of its papers'
tables (mediation/models/papers.py)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from engine.models.columns import _ts


class Document(SQLModel, table=True):
    """One version of a generated document; bytes live in the content-addressed store."""

    __tablename__ = "documents"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=40)
    version: int = 1
    sha256: str = Field(max_length=64, index=True)
    parent_id: int | None = Field(default=None, foreign_key="documents.id")
    created_at: datetime = _ts()
