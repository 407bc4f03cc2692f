"""The TransitionContext of mediation's guards and actions: the generic context plus the
records of a mediation case (its parties and their consent, category, sessions, visits,
signatures). MediationEngine builds it for every fire (FirePath.context_class)."""

from __future__ import annotations

from datetime import datetime

from engine.errors import InvalidInput
from engine.hooks import TransitionContext
from mediation.policy import Policy
from mediation.records import (
    CasePartyRecord,
    CategoryRecord,
    MediationCase,
    SignatureRecord,
    VisitRecord,
)
from mediation.repository import MediationTx
from mediation.spec import MediationSpec, mediation_spec


class MediationContext(TransitionContext):
    """What a mediation guard or action knows about the fire in progress."""

    _tx: MediationTx  # the MediationEngine runs on a MediationDatabase
    case: MediationCase  # which loads mediation's record of the case
    policy: Policy = Policy()  # the deployment's, set by the MediationEngine on every context

    @classmethod
    def of(cls, ctx: TransitionContext) -> MediationContext:
        """The context an option provider receives, as the mediation engine built it."""
        assert isinstance(ctx, cls), "mediation flows run on the MediationEngine"
        return ctx

    @property
    def mediation_spec(self) -> MediationSpec:
        """The spec's mediation keys: its risk scale, origins, signing."""
        return mediation_spec(self.spec)

    def parties(self) -> list[CasePartyRecord]:
        result: list[CasePartyRecord] = self._cached(
            "parties", lambda: self._tx.case_parties(self.case.id)
        )
        return result

    def category(self) -> CategoryRecord:
        result: CategoryRecord | None = self._cached(
            "category", lambda: self._tx.category(self.case.category_code)
        )
        assert result is not None, "cases reference categories by foreign key"
        return result

    def signatures(self) -> list[SignatureRecord]:
        result: list[SignatureRecord] = self._cached(
            "signatures", lambda: self._tx.signatures(self.case.id)
        )
        return result

    def visits(self) -> list[VisitRecord]:
        result: list[VisitRecord] = self._cached("visits", lambda: self._tx.visits(self.case.id))
        return result

    def party_of(self, party_id: int) -> CasePartyRecord:
        for party in self.parties():
            if party.party_id == party_id:
                return party
        raise InvalidInput(f"当事人 {party_id} 不是本案当事人", field="party_id")

    def case_party(self, key: str = "party_id") -> CasePartyRecord:
        """The case party the payload names by `party_id` (parties.id)."""
        party_id = self.integer(key, "当事人")
        for party in self.parties():
            if party.party_id == party_id:
                return party
        raise InvalidInput(f"当事人 {party_id} 不是本案当事人", field=key)

    def _writer(self) -> MediationTx:
        super()._writer()  # refuses a guard
        return self._tx

    def record_consent(self, party: CasePartyRecord, consent: str, source: str) -> None:
        self._writer().set_consent(party.id, consent, source, self.now)
        self._cache.pop("parties", None)

    def correct_address(self, party: CasePartyRecord, address: str) -> None:
        """Correct a party's address (the event keeps the old and the new one)."""
        self._writer().set_party_address(party.party_id, address)
        self.update_data(
            "address_corrections",
            [
                *self.data.get("address_corrections", []),
                {
                    "party_id": party.party_id,
                    "from": party.address,
                    "to": address,
                    "at": self.now.isoformat(),
                },
            ],
        )
        self._cache.pop("parties", None)

    def acknowledge_notice(self, party: CasePartyRecord) -> None:
        self._writer().acknowledge_notice(party.id, self.now)
        self._cache.pop("parties", None)

    def add_session(
        self, *, place: str, public: bool, attendees: list[str], record: str, held_at: datetime
    ) -> None:
        level = self.changes.get("level", self.case.level)
        self._writer().add_session(
            case_id=self.case.id,
            state=self.case.state,
            level=level,
            held_at=held_at,
            place=place,
            public=public,
            attendees=attendees,
            record=record,
            recorder_id=self.actor.user_id,
        )

    def add_signature(
        self,
        signer_kind: str,
        *,
        party_id: int | None,
        method: str,
        document_id: int | None = None,
        signer_name: str | None = None,
    ) -> None:
        """Record a signature; `document_id` is the document version that carries it;
        `signer_name` names who signed for the party (a legal representative)."""
        self._writer().add_signature(
            signer_name=signer_name,
            case_id=self.case.id,
            signer_kind=signer_kind,
            party_id=party_id,
            user_id=self.actor.user_id,
            method=method,
            signed_at=self.now,
            document_id=document_id,
        )
        self._cache.pop("signatures", None)

    def add_visit(
        self,
        *,
        term_index: int | None,
        performance: str,
        satisfaction: str | None,
        new_risks: str | None,
        notes: str,
    ) -> None:
        self._writer().add_visit(
            case_id=self.case.id,
            term_index=term_index,
            visited_at=self.now,
            visitor_id=self.actor.user_id,
            performance=performance,
            satisfaction=satisfaction,
            new_risks=new_risks,
            notes=notes,
        )
        self._cache.pop("visits", None)
