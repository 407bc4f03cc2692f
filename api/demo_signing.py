"""Demo data on the v2 flows (R-ESIGN): each party's signature made as an own act on the
kiosk (the ID number the demo registered, typed as the mediator would; a thumbprint mark),
then the mediator with an event certificate that says "示范数据" as its identity check (demo
users have no password to re-enter), then the seal."""

from __future__ import annotations

from collections.abc import Callable

from api.authz import build_principal
from api.documents import DocumentService
from api.otp import ConsoleSender
from api.services.jc_application import PREPARE, SIGN, prepare_application
from api.services.own_signing import OwnActSigning
from documents import SignerRole, SigningEvent
from engine.records import Actor
from mediation import queries
from mediation.engine import MediationEngine
from workflows.confirmation import APPLICATION


def sign_as_own_acts(documents: DocumentService, case_id: int, mediator: Actor) -> None:
    """Both parties on the kiosk after an ID check, then the mediator, then the seal."""
    engine = documents.engine
    own = OwnActSigning(documents, ConsoleSender())
    assert mediator.user_id is not None, "the demo's mediator is a user"
    with engine.db.transaction(write=False) as tx:
        principal = build_principal(tx, mediator.user_id)
        parties = queries.parties(tx, case_id)
        numbers = {p.party_id: tx.identity_document_cipher(p.party_id) for p in parties}
    for party in parties:
        cipher = numbers[party.party_id]
        if cipher is None:
            continue
        _, token = own.open_party_act(principal, case_id, party.party_id, "kiosk")
        own.check_id_document(principal, token, engine.pii.decrypt(cipher))
        own.sign(token, read_and_agreed=True, signature_png=None, mark="thumbprint")
    latest = documents.latest(case_id)
    assert latest is not None
    event = SigningEvent(
        act=0,
        document_sha256=latest.sha256,
        document_length=len(documents.read(latest.sha256)),
        identity_method="demo",
    )
    signer = documents.authority.issue_event(
        documents.user_name(mediator), SignerRole.MEDIATOR, event
    )
    documents.sign_as_act(case_id, mediator, "sign_mediator", signer, {"identity_method": "demo"})
    case = engine.get_case(case_id, mediator)
    documents.apply_seal(case_id, mediator, case.version)


def apply_as_parties(
    engine: MediationEngine,
    documents: DocumentService | None,
    case_id: int,
    mediator: Actor,
    court_id: int,
    step: Callable[[], int],
) -> None:
    """R-JC-PACKAGE on the v2 flows: the application prepared, each applicant signing it on
    the kiosk after an ID check, then filed; without documents, the same steps as events."""
    with engine.db.transaction(write=False) as tx:
        parties = queries.parties(tx, case_id)
    applicants = [p.party_id for p in parties]
    if documents is None:
        engine.fire(
            case_id,
            PREPARE,
            mediator,
            step(),
            {"applicants": applicants, "court_id": court_id},
        )
        for party_id in applicants:
            engine.fire(case_id, SIGN, mediator, step(), {"party_id": party_id})
    else:
        assert mediator.user_id is not None, "the demo's mediator is a user"
        with engine.db.transaction(write=False) as tx:
            principal = build_principal(tx, mediator.user_id)
        prepare_application(documents, principal, case_id, step(), applicants, court_id)
        own = OwnActSigning(documents, ConsoleSender())
        for party in parties:
            with engine.db.transaction(write=False) as tx:
                cipher = tx.identity_document_cipher(party.party_id)
            if cipher is None:
                continue
            step()
            _, token = own.open_party_act(principal, case_id, party.party_id, "kiosk", APPLICATION)
            own.check_id_document(principal, token, engine.pii.decrypt(cipher))
            own.sign(token, read_and_agreed=True, signature_png=None, mark="thumbprint")
    engine.fire(
        case_id,
        "apply_confirmation",
        mediator,
        step(),
        {"applicants": applicants, "court_id": court_id},
    )
