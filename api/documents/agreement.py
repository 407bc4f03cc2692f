"""The mediation agreement (人民调解协议书): drafted and revised from the case's facts and
the checked terms, each version recorded with the engine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from api.documents.core import PARTY_LABELS, DocumentCore, _CaseFacts
from documents import AgreementContent, MediationAgreement, Person, Responsibility, Term
from engine.errors import InvalidInput
from engine.records import Actor, FireResult
from workflows.agreement_content import agreement_fields
from workflows.kinds import AGREEMENT


class AgreementDocuments(DocumentCore):
    """The mediation agreement: a part of DocumentService."""

    # --- drafting ------------------------------------------------------------------------

    def draft_agreement(
        self,
        case_id: int,
        actor: Actor,
        expected_version: int,
        payload: dict[str, Any],
        *,
        trigger: str = "draft_agreement",
    ) -> FireResult:
        """Render the agreement the payload describes, store it, then fire `trigger`.

        `trigger` is "draft_agreement" or "revise_agreement"; the payload is what the engine
        action takes (facts, issues, responsibilities, terms) and is checked by the same
        function before anything is rendered.

        Raises:
            EngineError: the case, the payload or the transition is refused.
            DocumentError: the agreement cannot be rendered.
        """
        facts = self._facts(case_id, actor, expected_version, trigger)
        fields = agreement_fields(payload, {p.party_id for p in facts.parties}, today=self._today())
        agreement = self._agreement(facts, fields, actor)
        version = facts.agreement_versions[-1].version + 1 if facts.agreement_versions else 1
        pdf = self.renderer.render(
            agreement, facts.branding, document_id=self.public_id(case_id, AGREEMENT, version)
        )
        digest = self.store.put(pdf)
        return self.engine.fire(
            case_id,
            trigger,
            actor,
            expected_version,
            # the disputed matters as the list the flow declares (a text was split above)
            {**payload, "issues": fields["issues"], "document_sha256": digest},
            performed_by="documents",
        )

    def revise_agreement(
        self, case_id: int, actor: Actor, expected_version: int, payload: dict[str, Any]
    ) -> FireResult:
        return self.draft_agreement(
            case_id, actor, expected_version, payload, trigger="revise_agreement"
        )

    def _agreement(
        self, facts: _CaseFacts, fields: dict[str, Any], actor: Actor
    ) -> MediationAgreement:
        if actor.user_id in facts.mediators:
            mediator = facts.mediators[actor.user_id]
        elif facts.mediators:
            mediator = next(iter(facts.mediators.values()))
        else:
            raise InvalidInput("尚未指派调解员，无法制作调解协议书", field="mediator")
        parties = self._document_parties(facts, actor)
        names = {p.party_id: p.name for p in facts.parties}
        labelled = {
            p.party_id: f"{PARTY_LABELS.get(p.role, p.role)}{p.name}" for p in facts.parties
        }
        try:
            terms = tuple(
                Term(
                    obligor=names[t["obligor"]],
                    obligee=names[t["obligee"]],
                    action=t["content"],
                    amount=None if t["amount"] is None else Decimal(str(t["amount"])),
                    method=t["method"],
                    deadline=date.fromisoformat(t["due_date"]),
                    place=t["place"],
                )
                for t in fields["terms"]
            )
            places = tuple(dict.fromkeys(t.place for t in terms))
            return MediationAgreement(
                number=facts.case.number,
                issued_on=self._today(),
                category=facts.category.name,
                parties=parties,
                registered_by=facts.registered_by,
                content=AgreementContent(
                    facts=fields["facts"],
                    disputed_issues=tuple(fields["issues"]),
                    responsibilities=tuple(
                        Responsibility(party=labelled[r["party_id"]], text=r["responsibility"])
                        for r in fields["responsibilities"]
                    ),
                    terms=terms,
                    performance_method="；".join(dict.fromkeys(t.method for t in terms)),
                    performance_deadline=max(t.deadline for t in terms),
                    performance_place="；".join(places),
                ),
                mediators=(Person(name=mediator, title="人民调解员"),),
                copies=len(parties) + 1,  # R-COPIES
                electronic_signature_excluded=facts.category.excluded_from_esign,
            )
        except ValidationError as exc:
            problems = "；".join(
                f"{'.'.join(str(p) for p in e['loc'])}：{e['msg']}" for e in exc.errors()
            )
            raise InvalidInput(f"协议书内容不完整：{problems}", field="agreement") from exc
