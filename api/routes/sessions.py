"""A case's mediation sessions (调解记录, R-TRANSCRIPT); they are recorded by firing
`record_session`, so this resource is read-only."""

from __future__ import annotations

from fastapi import APIRouter

from api.authz import visible_case
from api.deps import CurrentPrincipal, EngineDep
from api.routes.common import CASE_READ_PROBLEMS, CaseId
from api.schemas import SessionPublic
from mediation import queries

router = APIRouter(prefix="/cases/{case_id}/sessions", tags=["调解记录"])


@router.get("", response_model=list[SessionPublic], responses=CASE_READ_PROBLEMS)
def list_sessions(
    case_id: CaseId, engine: EngineDep, principal: CurrentPrincipal
) -> list[SessionPublic]:
    """The case's mediation sessions, in the order they were held."""
    with engine.db.transaction(write=False) as tx:
        visible_case(tx, case_id, principal)
        rows = queries.sessions(tx, case_id)
    return [
        SessionPublic(
            id=r.id,
            state=r.state,
            level=r.level,
            held_at=r.held_at,
            place=r.place,
            public=r.public,
            attendees=r.attendees,
            record=r.record,
            recorder_id=r.recorder_id,
        )
        for r in rows
    ]
