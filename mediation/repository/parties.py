"""A mediation case's parties: their place in the case, their consent, address and
acknowledgement of the notice of rights (R-START, R-NOTICE)."""

from __future__ import annotations

from datetime import datetime

from engine.repository.connection import TxCore
from mediation.records import CasePartyRecord


class PartyQueries(TxCore):
    """MediationTx's queries on a case's parties; MediationTx combines them."""

    def case_parties(self, case_id: int) -> list[CasePartyRecord]:
        rows = self.rows(
            "SELECT cp.id, cp.party_id, p.name, p.kind, cp.role, cp.consent, cp.consent_at, "
            "cp.notice_acknowledged_at, p.address, p.guardian_name, p.guardian_relation "
            "FROM case_parties cp "
            "JOIN parties p ON p.id = cp.party_id WHERE cp.case_id = :case_id ORDER BY cp.id",
            {"case_id": case_id},
        )
        dt = self.codec.dt_in
        return [
            CasePartyRecord(
                id=r["id"],
                party_id=r["party_id"],
                name=r["name"],
                kind=r["kind"],
                role=r["role"],
                consent=r["consent"],
                consent_at=dt(r["consent_at"]),
                notice_acknowledged_at=dt(r["notice_acknowledged_at"]),
                address=r["address"],
                representative_name=r["guardian_name"],
                representative_relation=r["guardian_relation"],
            )
            for r in rows
        ]

    def identity_document_cipher(self, party_id: int) -> str | None:
        """The encrypted ID number an identity check compares: the legal representative's
        where the party has one, else the party's own (None: neither was recorded)."""
        row = self.one(
            "SELECT COALESCE(guardian_id_cipher, id_number_cipher) FROM parties WHERE id = :id",
            {"id": party_id},
        )
        return None if row is None or row[0] is None else str(row[0])

    def set_consent(self, case_party_id: int, consent: str, source: str, now: datetime) -> int:
        return self.execute(
            "UPDATE case_parties SET consent = :consent, consent_at = :now, "
            "consent_source = :source WHERE id = :id",
            {
                "id": case_party_id,
                "consent": consent,
                "source": source,
                "now": self.codec.dt_out(now),
            },
        ).rowcount

    def set_party_address(self, party_id: int, address: str) -> int:
        return self.execute(
            "UPDATE parties SET address = :address WHERE id = :id",
            {"id": party_id, "address": address},
        ).rowcount

    def acknowledge_notice(self, case_party_id: int, now: datetime) -> int:
        return self.execute(
            "UPDATE case_parties SET notice_acknowledged_at = :now WHERE id = :id",
            {"id": case_party_id, "now": self.codec.dt_out(now)},
        ).rowcount
