"""The court's ruling on a confirmation application (民事裁定书, R-JC-TRACK), signed by the
court and recorded with the engine."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from api.documents.core import DocumentCore
from documents import Branding, CourtRuling, Person, SignerRole, sign
from engine.calendar import SHANGHAI as BEIJING
from engine.errors import InvalidInput
from engine.records import Actor, FireResult
from engine.repository import Tx
from workflows.kinds import RULING


def _sentence(text: str) -> str:
    """A sentence as printed: ends with a full stop (the court's reasoning often does not)."""
    text = text.strip()
    return text if text.endswith(("。", "！", "？", "；", "”")) else f"{text}。"


def _cn_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def _court_clerk(tx: Tx, court_id: int, accepted_by: object) -> str:
    """The ruling's 书记员: a court clerk, never the judge — the one who accepted the
    application if a clerk did, else the court's first clerk.

    Raises:
        InvalidInput: the court has no clerk registered.
    """
    clerks = {c.user_id: c.display_name for c in tx.members_in_role(court_id, "court_clerk")}
    if not clerks:
        raise InvalidInput("本院未登记书记员，无法制作裁定书：请先添加书记员用户", field="clerk")
    if isinstance(accepted_by, int) and accepted_by in clerks:
        return clerks[accepted_by]
    return next(iter(clerks.values()))


def _terms_summary(agreement: dict[str, Any], names: dict[int, str]) -> str:
    """The agreed terms in one sentence each, as a ruling restates them."""
    if agreement.get("oral"):
        return str(agreement.get("content", ""))
    parts = []
    for term in agreement.get("terms", []):
        amount = f"人民币{term['amount']}元" if term.get("amount") else ""
        towards = f"向{names.get(term.get('obligee'), '')}" if term.get("amount") else ""
        parts.append(
            f"{names.get(term.get('obligor'), '')}于{_cn_date(term['due_date'])}前"
            f"{towards}{term.get('content', '')}{amount}"
        )
    return "；".join(parts) + "。" if parts else "（协议内容见调解协议书）"


class CourtRulings(DocumentCore):
    """The court's ruling on a confirmation application: a part of DocumentService."""

    # --- the court's ruling (R-JC-TRACK) -------------------------------------------------

    def issue_ruling(
        self,
        case_id: int,
        actor: Actor,
        expected_version: int,
        *,
        outcome: Literal["confirmed", "rejected"],
        ruling_number: str,
        reasoning: str,
        ground: str | None = None,
    ) -> FireResult:
        """The judge rules: the 民事裁定书 is rendered, signed with the court's key, stored,
        then `confirm` or `reject` is fired with its digest.

        Raises:
            InvalidInput: no application to rule on, or a rejection without a known ground.
            EngineError: the engine refuses the ruling (role, review state, R-JC-SEPARATION).
            DocumentError: the ruling cannot be rendered or signed.
        """
        facts = self._facts(
            case_id, actor, expected_version, "confirm" if outcome == "confirmed" else "reject"
        )
        case = facts.case
        confirmation: dict[str, Any] = case.data.get("confirmation", {})
        if case.court_id is None or "applied_at" not in confirmation:
            raise InvalidInput("本案没有待裁定的司法确认申请", field="court_id")
        grounds = self.labels("rejection_grounds")
        if outcome == "rejected" and ground not in grounds:
            raise InvalidInput(f"驳回须写明理由：{'、'.join(grounds)}", field="ground")
        with self.engine.db.transaction(write=False) as tx:
            court = tx.org_unit(case.court_id)
            assert court is not None, "cases reference their court by foreign key"
            clerk = _court_clerk(tx, case.court_id, confirmation.get("accepted_by"))
            rulings = tx.documents(case_id, RULING)
        court_name = str(court.name)
        names = {p.party_id: p.name for p in facts.parties}
        ruling = CourtRuling(
            number=ruling_number,
            issued_on=self.engine.clock.now().astimezone(BEIJING).date(),
            court=court_name,
            # a joint application: every party is 申请人, none 被申请人 (R-JC-PACKAGE)
            applicants=tuple(
                p.model_copy(update={"label": "申请人"})
                for p in self._document_parties(facts, actor)
            ),
            agreement_number=case.number,
            agreement_date=(case.agreement_effective_at or case.created_at)
            .astimezone(BEIJING)
            .date(),
            filed_on=datetime.fromisoformat(confirmation["applied_at"]).astimezone(BEIJING).date(),
            outcome=outcome,
            agreement_summary=_terms_summary(case.data.get("agreement", {}), names),
            rejection_ground=grounds[ground] if ground else None,
            reasoning=_sentence(reasoning),
            judges=(Person(name=self._user_name(actor), title="审判员"),),
            clerk=Person(name=clerk, title="书记员"),
        )
        version = rulings[-1].version + 1 if rulings else 1
        # the court's document: no room branding, the mediating committee named in the text
        branding = Branding(committee_name=facts.branding.committee_name)
        pdf = self.renderer.render(
            ruling, branding, document_id=self.public_id(case_id, RULING, version)
        )
        signer = self.authority.issue(
            court_name, SignerRole.COURT, organisation=court_name, key_id=f"org:{case.court_id}"
        )
        signed = sign(
            pdf,
            signer,
            timestamp_url=self.timestamp_url,
            location=court_name,
            signed_at=self.engine.clock.now(),
            zone=BEIJING,
        )
        digest = self.store.put(signed)
        payload: dict[str, Any] = {"ruling_number": ruling_number, "document_sha256": digest}
        if ground:
            payload["ground"] = ground
        trigger = "confirm" if outcome == "confirmed" else "reject"
        return self.engine.fire(
            case_id, trigger, actor, case.version, payload, reasoning, performed_by="court"
        )
