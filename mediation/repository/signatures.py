"""The signatures on a case's agreement: who signed (party, mediator, seal), how, when, and
which document version carries each."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from engine.repository.connection import TxCore
from engine.repository.statements import table_of
from mediation.models.papers import Signature
from mediation.records import SignatureRecord

_SIGNATURES = table_of(Signature)
_S = _SIGNATURES.c
_OF_CASE = _S.case_id == sa.bindparam("case_id")
_SIGNATURE_DOCUMENTS = (
    sa.select(_S.signer_kind, _S.party_id, _S.document_id).where(_OF_CASE).order_by(_S.id)
)
_SIGNATURES_OF = (
    sa.select(_S.signer_kind, _S.party_id, _S.user_id, _S.method, _S.signed_at, _S.signer_name)
    .where(_OF_CASE)
    .order_by(_S.id)
)
_ADD_SIGNATURE = sa.insert(_SIGNATURES).values(
    case_id=sa.bindparam("case_id"),
    document_id=sa.bindparam("document_id"),
    signer_kind=sa.bindparam("signer_kind"),
    party_id=sa.bindparam("party_id"),
    user_id=sa.bindparam("user_id"),
    method=sa.bindparam("method"),
    signer_name=sa.bindparam("signer_name"),
    signed_at=sa.bindparam("signed_at"),
)
_SEALED_CASE_COUNT = sa.select(sa.func.count(sa.distinct(_S.case_id))).where(
    _S.signer_kind == "seal", _S.document_id.is_not(None)
)


class SignatureQueries(TxCore):
    """Tx's queries on a case's signatures; MediationTx combines them."""

    def signature_documents(self, case_id: int) -> list[tuple[str, int | None, int | None]]:
        """(signer kind, party id, document id) of the case's signatures, oldest first."""
        rows = self.rows(
            _SIGNATURE_DOCUMENTS,
            {"case_id": case_id},
        )
        return [(r["signer_kind"], r["party_id"], r["document_id"]) for r in rows]

    def signatures(self, case_id: int) -> list[SignatureRecord]:
        rows = self.rows(
            _SIGNATURES_OF,
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
            _ADD_SIGNATURE,
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
        row = self.one(_SEALED_CASE_COUNT)
        return int(row[0]) if row else 0
