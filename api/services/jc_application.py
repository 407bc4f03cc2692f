"""R-JC-PACKAGE / R-ESIGN: the 司法确认申请书 as the parties' own act. The case's mediator
prepares it for the chosen court and applicants (full ID numbers and phones: it goes to the
court), it is stored, and each applicant — or their 法定代理人 — signs it on their own device
or the room's kiosk through a signing act (api/services/own_signing.py) with an event
certificate; only then may `apply_confirmation` file it (workflows/confirmation.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

from api.authz import Principal, pii_purpose
from api.documents import DocumentService
from api.services.attachments import listed
from documents import Branding, IssuedSigner
from documents.signing import Mark, sign
from engine.calendar import SHANGHAI
from engine.errors import InvalidInput
from engine.records import Actor, FireResult
from mediation import queries
from workflows.confirmation import APPLICATION, KEY

PREPARE = "prepare_confirmation_application"
SIGN = "sign_confirmation_application"


def prepares_as_act(documents: DocumentService, case_id: int, actor: Actor) -> bool:
    """Whether the case's flow makes the application the parties' signed act (v2 flows)."""
    case = documents.engine.get_case(case_id, actor)
    spec = documents.engine.registry.get(case.spec_id, case.spec_version).spec
    return any(t.trigger == PREPARE for t in spec.transitions)


def prepare_application(
    documents: DocumentService,
    principal: Principal,
    case_id: int,
    expected_version: int,
    applicants: list[int],
    court_id: int | None,
) -> FireResult:
    """Render the application for the court (unmasked), store it and record it on the case.

    Raises:
        CaseNotFound: out of scope.  PiiNotPermitted: not the case's mediator.
        EngineError: the flow refuses (window closed, excluded matter, wrong court...).
    """
    from api.services.jc_package import court_copy  # the one place that unmasks for the court

    engine = documents.engine
    case = engine.get_case(case_id, principal.actor)
    with engine.db.transaction(write=False) as tx:
        pii_purpose(tx, principal, case)
    with engine.db.transaction(write=False) as tx:
        agents = {p.party_id: p for p in queries.parties(tx, case_id) if p.agent_name}
    proven = {a.party_id for a in listed(documents, case_id) if a.kind == "power_of_attorney"}
    unproven = [f"{p.name}（代理人{p.agent_name}）" for i, p in agents.items() if i not in proven]
    if unproven:  # SPC-I Art. 354: an agent applies with the party's power of attorney
        raise InvalidInput(
            f"委托代理人申请的，须先上传授权委托书：{'、'.join(unproven)}", field="attachments"
        )
    court = court_id if court_id is not None else case.referring_court_id
    if court is None:
        raise InvalidInput("请选择受理司法确认的人民法院", field="court_id")
    draft = {
        "applied_at": engine.clock.now().isoformat(),
        "court_id": court,
        "applicants": sorted(applicants),
    }
    drafted = dataclasses.replace(case, data={**case.data, "confirmation": draft}, court_id=court)
    version = len(documents.versions(case_id, APPLICATION)) + 1
    pdf, _ = court_copy(documents, drafted, version)
    digest = documents.store.put(pdf)
    payload: dict[str, Any] = {"applicants": applicants, "document_sha256": digest}
    if court_id is not None:
        payload["court_id"] = court_id
    return engine.fire(
        case_id, PREPARE, principal.actor, expected_version, payload, performed_by="documents"
    )


def prepared(documents: DocumentService, case_id: int, actor: Actor) -> dict[str, Any] | None:
    """The application being signed, if one is prepared (applicants, court, signatures)."""
    found = documents.engine.get_case(case_id, actor).data.get(KEY)
    return dict(found) if isinstance(found, dict) else None


def sign_application_as_act(
    documents: DocumentService,
    case_id: int,
    actor: Actor,
    signer: IssuedSigner,
    payload: dict[str, Any],
    *,
    signature_png: bytes | None = None,
    mark: Mark = "signature",
) -> FireResult:
    """Sign the latest application with the event certificate the applicant's own act
    obtained, then record it; the key is destroyed whatever happens."""
    try:
        engine = documents.engine
        case = engine.get_case(case_id, actor)
        latest = documents.latest(case_id, APPLICATION)
        assert signer.event is not None, "only event certificates sign as an act"
        if latest is None or latest.sha256 != signer.event.document_sha256:
            raise InvalidInput("申请书已更新，请重新发起签署并阅读新版本", field="document")
        committee: Branding = documents.branding(case)[0]
        signed = sign(
            documents.read(latest.sha256),
            signer,
            signature_png=signature_png,
            timestamp_url=documents.timestamp_url,
            location=committee.committee_name,
            mark=mark,
            signed_at=engine.clock.now(),
            reason="本人申请司法确认",
            zone=SHANGHAI,
        )
        digest = documents.store.put(signed)
        return engine.fire(
            case_id,
            SIGN,
            actor,
            case.version,
            {**payload, "document_sha256": digest},
            performed_by="documents",
        )
    finally:
        signer.destroy_key()
