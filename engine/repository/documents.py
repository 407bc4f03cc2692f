"""A case's document versions (the bytes live in the host's content store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.records import SignatureRecord
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

    def signature_documents(self, case_id: int) -> list[tuple[str, int | None, int | None]]:
        """(signer kind, party id, document id) of the case's signatures, oldest first."""
        rows = self.rows(
            "SELECT signer_kind, party_id, document_id FROM signatures "
            "WHERE case_id = :case_id ORDER BY id",
            {"case_id": case_id},
        )
        return [(r["signer_kind"], r["party_id"], r["document_id"]) for r in rows]

    def signatures(self, case_id: int) -> list[SignatureRecord]:
        rows = self.rows(
            "SELECT signer_kind, party_id, user_id, method, signed_at, signer_name "
            "FROM signatures WHERE case_id = :case_id ORDER BY id",
            {"case_id": case_id},
        )
        return [
            SignatureRecord(
                signer_kind=r["signer_kind"],
                party_id=r["party_id"],
                user_id=r["user_id"],
                method=r["method"],
                signed_at=self.codec.dt_in_required(r["signed_at"]),
                signer_name=r["signer_name"],
            )
            for r in rows
        ]

    def add_signature(
        self,
        *,
        case_id: int,
        signer_kind: str,
        party_id: int | None,
        user_id: int | None,
        method: str,
        signed_at: datetime,
        document_id: int | None = None,
        signer_name: str | None = None,
    ) -> int:
        return self.insert(
            "INSERT INTO signatures (case_id, document_id, signer_kind, party_id, user_id, "
            "method, signer_name, signed_at) VALUES (:case_id, :document_id, :signer_kind, "
            ":party_id, :user_id, :method, :signer_name, :signed_at)",
            {
                "signer_name": signer_name,
                "case_id": case_id,
                "document_id": document_id,
                "signer_kind": signer_kind,
                "party_id": party_id,
                "user_id": user_id,
                "method": method,
                "signed_at": self.codec.dt_out(signed_at),
            },
        )
