"""R-STATS: the figures a committee reports, per period and per level of the org tree.

Supervisors see their own subtrees, administrators everything. Each report also breaks the
chosen unit down by its child units, so "小事不出网格、大事不出社区" can be read level by level.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentPrincipal, EngineDep
from api.errors import problem_responses
from api.routes.org_units import public_unit
from api.schemas import MAX_ID, StatisticsPublic, UnitStatistics
from api.services import statistics as service

router = APIRouter(prefix="/statistics", tags=["统计"])

_UNIT = "组织；缺省为本人督办的组织（管理员为全部）"
_FROM = "受理日期自（含），缺省为截止日期所在年的1月1日"
_TO = "受理日期至（含），缺省为今天"


@router.get("", response_model=StatisticsPublic, responses=problem_responses(401, 403, 404, 422))
def statistics(
    engine: EngineDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description=_UNIT)] = None,
    start: Annotated[date | None, Query(alias="from", description=_FROM)] = None,
    end: Annotated[date | None, Query(alias="to", description=_TO)] = None,
) -> StatisticsPublic:
    """调解统计: received, success and resolution rates, where disputes were resolved, handling
    days, overdue, performance, satisfaction and judicial confirmation, for the cases
    registered in the period."""
    start, end = service.period(engine, start, end)
    report = service.report(engine, principal, unit_id, start, end)
    unit = report.unit
    return StatisticsPublic(
        **report.figures.figures(),
        unit=public_unit(unit) if unit else None,
        children=[UnitStatistics(**r.figures(), unit=public_unit(u)) for u, r in report.children],
    )
