"""A case's document versions (the bytes live in the host's content store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.repository.connection import TxCore


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
        text = (
            "SELECT id, kind, version, sha256, parent_id, created_at FROM documents "
            "WHERE case_id = :case_id"
        )
        params: dict[str, Any] = {"case_id": case_id}
        if kind is not None:
            text += " AND kind = :kind"
            params["kind"] = kind
        rows = self.rows(text + " ORDER BY id", params)
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
            "INSERT INTO documents (case_id, kind, version, sha256, parent_id, created_at) "
            "VALUES (:case_id, :kind, :version, :sha256, :parent_id, :created_at)",
            {
                "case_id": case_id,
                "kind": kind,
                "version": version,
                "sha256": sha256,
                "parent_id": parent_id,
                "created_at": self.codec.dt_out(created_at),
            },
        )
