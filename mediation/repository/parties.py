"""A mediation case's parties: their place in the case, their consent, address and
acknowledgement of the notice of rights (R-START, R-NOTICE)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from engine.repository.connection import TxCore
from engine.repository.statements import table_of
from mediation.models.cases import CaseParty, Party
from mediation.records import CasePartyRecord

_PARTIES = table_of(Party)
_P = _PARTIES.c
_CASE_PARTIES = table_of(CaseParty)
_CP = _CASE_PARTIES.c
_CASE_PARTIES_OF = (
    sa.select(
        _CP.id,
        _CP.party_id,
        _P.name,
        _P.kind,
        _CP.role,
        _CP.consent,
        _CP.consent_at,
        _CP.notice_acknowledged_at,
        _P.address,
        _P.guardian_name,
        _P.guardian_relation,
    )
    .join_from(_CASE_PARTIES, _PARTIES, _P.id == _CP.party_id)
    .where(_CP.case_id == sa.bindparam("case_id"))
    .order_by(_CP.id)
)
_IDENTITY_CIPHER = sa.select(sa.func.coalesce(_P.guardian_id_cipher, _P.id_number_cipher)).where(
    _P.id == sa.bindparam("id")
)
_ONE_CASE_PARTY = _CP.id == sa.bindparam("id")
_SET_CONSENT = (
    sa.update(_CASE_PARTIES)
    .values(
        consent=sa.bindparam("consent"),
        consent_at=sa.bindparam("now"),
        consent_source=sa.bindparam("source"),
    )
    .where(_ONE_CASE_PARTY)
)
_SET_PARTY_ADDRESS = (
    sa.update(_PARTIES).values(address=sa.bindparam("address")).where(_P.id == sa.bindparam("id"))
)
_ACKNOWLEDGE_NOTICE = (
    sa.update(_CASE_PARTIES)
    .values(notice_acknowledged_at=sa.bindparam("now"))
    .where(_ONE_CASE_PARTY)
)


class PartyQueries(TxCore):
    """MediationTx's queries on a case's parties; MediationTx combines them."""

    def case_parties(self, case_id: int) -> list[CasePartyRecord]:
        rows = self.rows(_CASE_PARTIES_OF, {"case_id": case_id})
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
        row = self.one(_IDENTITY_CIPHER, {"id": party_id})
        return None if row is None or row[0] is None else str(row[0])

    def set_consent(self, case_party_id: int, consent: str, source: str, now: datetime) -> int:
        return self.execute(
            _SET_CONSENT,
            {
                "id": case_party_id,
                "consent": consent,
                "source": source,
                "now": self.codec.dt_out(now),
            },
        ).rowcount

    def set_party_address(self, party_id: int, address: str) -> int:
        return self.execute(_SET_PARTY_ADDRESS, {"id": party_id, "address": address}).rowcount

    def acknowledge_notice(self, case_party_id: int, now: datetime) -> int:
        return self.execute(
            _ACKNOWLEDGE_NOTICE, {"id": case_party_id, "now": self.codec.dt_out(now)}
        ).rowcount
