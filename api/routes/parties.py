"""A case's parties: ID and phone numbers masked, unmasked on request for the roles that
need them, and every unmasked read logged (R-PII)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.authz import Principal, pii_purpose, visible_case
from api.deps import CurrentPrincipal, EngineDep
from api.errors import problem_responses
from api.pii import PiiRead, log_reads
from api.routes.common import CaseId
from api.schemas import MAX_ID, PartyPublic
from engine.errors import NotFound
from mediation import queries
from mediation.engine import MediationEngine

router = APIRouter(prefix="/cases/{case_id}/parties", tags=["当事人"])

Reveal = Annotated[
    bool, Query(description="返回完整身份证号码和手机号码（仅本案调解员、受理申请的法院；留痕）")
]
_PROBLEMS = problem_responses(401, 403, 404, 422)


def _parties(
    engine: MediationEngine, case_id: int, principal: Principal, reveal: bool, party_id: int | None
) -> list[PartyPublic]:
    with engine.db.transaction(write=False) as tx:
        case = visible_case(tx, case_id, principal)
        purpose = pii_purpose(tx, principal, case) if reveal else None
        rows = [
            r for r in queries.parties(tx, case_id) if party_id is None or r.party_id == party_id
        ]
    if party_id is not None and not rows:
        raise NotFound("当事人", party_id)
    shown = []
    log: list[PiiRead] = []
    for r in rows:
        id_number, phone = r.id_number_masked, r.phone_masked
        if purpose is not None:
            fields = []
            if r.id_number_cipher:
                id_number = engine.pii.decrypt(r.id_number_cipher)
                fields.append("id_number")
            if r.phone_cipher:
                phone = engine.pii.decrypt(r.phone_cipher)
                fields.append("phone")
            if fields:
                log.append(PiiRead(r.party_id, tuple(fields)))
        shown.append(
            PartyPublic(
                party_id=r.party_id,
                role=r.role,
                kind=r.kind,
                name=r.name,
                sex=r.sex,
                ethnicity=r.ethnicity,
                birth_date=r.birth_date,
                occupation=r.occupation,
                address=r.address,
                representative=r.representative,
                guardian_name=r.guardian_name,
                agent_name=r.agent_name,
                consent=r.consent,
                consent_at=r.consent_at,
                notice_acknowledged_at=r.notice_acknowledged_at,
                id_number=id_number,
                phone=phone,
                masked=purpose is None,
            )
        )
    if purpose is not None:  # written before anything unmasked leaves the server
        log_reads(
            engine, principal.user_id, case_id, log, f"{purpose}（GET /cases/{case_id}/parties）"
        )
    return shown


@router.get("", response_model=list[PartyPublic], responses=_PROBLEMS)
def list_parties(
    case_id: CaseId, engine: EngineDep, principal: CurrentPrincipal, reveal: Reveal = False
) -> list[PartyPublic]:
    """The case's parties; ID and phone numbers masked unless revealed (logged)."""
    return _parties(engine, case_id, principal, reveal, None)


@router.get("/{party_id}", response_model=PartyPublic, responses=_PROBLEMS)
def read_party(
    case_id: CaseId,
    party_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    engine: EngineDep,
    principal: CurrentPrincipal,
    reveal: Reveal = False,
) -> PartyPublic:
    """One party of the case; ID and phone numbers masked unless revealed (logged)."""
    return _parties(engine, case_id, principal, reveal, party_id)[0]
