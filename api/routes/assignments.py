"""Who works a case (R-MEDIATOR, R-INVITE); changed by firing `assign` / `unassign`."""

from __future__ import annotations

from fastapi import APIRouter

from api.authz import visible_case
from api.deps import CurrentPrincipal, EngineDep
from api.routes.common import CASE_READ_PROBLEMS, CaseId
from api.schemas import AssignmentPublic
from mediation import queries

router = APIRouter(prefix="/cases/{case_id}/assignments", tags=["人员"])


@router.get("", response_model=list[AssignmentPublic], responses=CASE_READ_PROBLEMS)
def list_assignments(
    case_id: CaseId, engine: EngineDep, principal: CurrentPrincipal
) -> list[AssignmentPublic]:
    """The mediators, 中心户 and invited members of the case, current and past."""
    with engine.db.transaction(write=False) as tx:
        visible_case(tx, case_id, principal)
        rows = queries.assignments(tx, case_id)
    return [
        AssignmentPublic(
            id=r.id,
            user_id=r.user_id,
            display_name=r.display_name,
            role=r.role,
            assigned_at=r.assigned_at,
            ended_at=r.ended_at,
            parties_consented_at=r.parties_consented_at,
            active=r.ended_at is None,
        )
        for r in rows
    ]
