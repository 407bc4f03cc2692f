"""The court's queue: judicial confirmation applications addressed to the user's court."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.authz import COURT_QUEUE_STATES, court_units
from api.deps import CurrentPrincipal, EngineDep
from api.errors import problem_responses
from api.routes.cases import case_page
from api.schemas import CasePage
from mediation import queries

router = APIRouter(prefix="/court", tags=["司法确认"])


@router.get("/applications", response_model=CasePage, responses=problem_responses(401, 403, 422))
def court_applications(
    engine: EngineDep,
    principal: CurrentPrincipal,
    cursor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,40}$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CasePage:
    """Confirmation applications awaiting acceptance or review at your court."""
    filters = queries.CaseFilters(states=COURT_QUEUE_STATES, court_ids=court_units(principal))
    return case_page(engine, principal.actor, filters, cursor, limit)
