"""Volunteer lawyers' page: the cases they are assigned to, each with the 法律意见书 form (the
`give_legal_opinion` action's own form, drawn from its declared fields by the action pages)
when it can be given, and their pro-bono hours; supervisors see each lawyer's total."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from api.authz import Principal, require_roles
from api.deps import ServicesDep
from api.services import lawyers
from api.web.cases import risk_labels
from api.web.session import PageRoute, page, signed_in
from mediation.vocabulary import LEVEL_LABELS, Role

router = APIRouter(route_class=PageRoute, include_in_schema=False)
User = Annotated[Principal, Depends(signed_in)]
LAWYER_PAGE_ROLES = frozenset({Role.lawyer, *lawyers.HOURS_ROLES})


@router.get("/lawyers", response_class=HTMLResponse)
def lawyers_page(request: Request, user: User, services: ServicesDep) -> HTMLResponse:
    require_roles(user, tuple(LAWYER_PAGE_ROLES), "查看律师法律服务")
    engine = services.engine
    is_lawyer = user.has_any({Role.lawyer})
    return page(
        request,
        user,
        "lawyers.html",
        "法律服务",
        assigned=lawyers.my_cases(engine, user) if is_lawyer else [],
        mine=lawyers.my_hours(engine, user) if is_lawyer else None,
        everyone=(
            lawyers.hours_by_lawyer(engine, user) if user.has_any(lawyers.HOURS_ROLES) else []
        ),
        supervising=user.has_any(lawyers.HOURS_ROLES),
        trigger=lawyers.OPINION_TRIGGER,
        levels={str(k): v for k, v in LEVEL_LABELS.items()},
        risks=risk_labels(engine),
    )
