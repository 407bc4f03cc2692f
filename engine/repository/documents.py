"""A case's document versions (the bytes live in the host's content store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine.models.documents import Document
from engine.repository.connection import TxCore
from engine.repository.statements import table_of

_DOCUMENTS = table_of(Document)
_D = _DOCUMENTS.c
_OF_CASE = sa.select(_D.id, _D.kind, _D.version, _D.sha256, _D.parent_id, _D.created_at).where(
    _D.case_id == sa.bindparam("case_id")
)
_DOCUMENTS_OF = _OF_CASE.order_by(_D.id)
_DOCUMENTS_OF_KIND = _OF_CASE.where(_D.kind == sa.bindparam("kind")).order_by(_D.id)
_ADD_DOCUMENT = sa.insert(_DOCUMENTS).values(
    case_id=sa.bindparam("case_id"),
    kind=sa.bindparam("kind"),
    version=sa.bindparam("version"),
    sha256=sa.bindparam("sha256"),
    parent_id=sa.bindparam("parent_id"),
    created_at=sa.bindparam("created_at"),
)


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """One stored version of a case document (the bytes live in the host's content store).

    Kept beside the queries rather than in engine/records.py because only the document
    methods of Tx and TransitionContext hand it out.
    """

    id: int
    kind: str
    version: int
    sha256: str
    parent_id: int | None
    created_at: datetime


class DocumentQueries(TxCore):
    """Tx's queries on a case's document versions; Tx combines them."""

    # --- documents -----------------------------------------------------------------------

    def documents(self, case_id: int, kind: str | None = None) -> list[DocumentRecord]:
        """The case's document versions (of one kind, or all), oldest first."""
        if kind is None:
            rows = self.rows(_DOCUMENTS_OF, {"case_id": case_id})
        else:
            rows = self.rows(_DOCUMENTS_OF_KIND, {"case_id": case_id, "kind": kind})
        return [
            DocumentRecord(
                id=int(r["id"]),
                kind=r["kind"],
                version=int(r["version"]),
                sha256=r["sha256"],
                parent_id=r["parent_id"],
                created_at=self.codec.dt_in_required(r["created_at"]),
            )
            for r in rows
        ]

    def add_document(
        self,
        *,
        case_id: int,
        kind: str,
        version: int,
        sha256: str,
        parent_id: int | None,
        created_at: datetime,
    ) -> int:
        """Insert one version; rows are never updated, so a version is never overwritten."""
        return self.insert(
            _ADD_DOCUMENT,
            {
                "case_id": case_id,
                "kind": kind,
                "version": version,
                "sha256": sha256,
                "parent_id": parent_id,
                "created_at": self.codec.dt_out(created_at),
            },
        )
