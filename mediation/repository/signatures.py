"""The signatures on a case's agreement: who signed (party, mediator, seal), how, when, and
which document version carries each."""

from __future__ import annotations

from datetime import datetime

from engine.repository.connection import TxCore
from mediation.records import SignatureRecord


class SignatureQueries(TxCore):
    """Tx's queries on a case's signatures; MediationTx combines them."""

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

    def sealed_case_count(self) -> int:
        """How many cases carry the committee's seal on a stored document version."""
        row = self.one(
            "SELECT count(DISTINCT case_id) FROM signatures "
            "WHERE signer_kind = 'seal' AND document_id IS NOT NULL"
        )
        return int(row[0]) if row else 0
