"""R-STATS: the figures a committee reports, per period and per level of the org tree.

Supervisors see their own subtrees, administrators everything. Each report also breaks the
chosen unit down by its child units, so "小事不出网格、大事不出社区" can be read level by level.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.authz import require_roles
from api.deps import CurrentPrincipal, EngineDep
from api.errors import Forbidden, problem_responses
from api.routes.org_units import public_unit
from api.schemas import MAX_ID, StatisticsPublic, UnitStatistics
from engine import queries
from engine.calendar import SHANGHAI
from engine.errors import InvalidInput, NotFound
from engine.repository import Tx
from engine.runtime import Engine
from engine.spec import Role
from engine.statistics import CaseStatistics, case_statistics

router = APIRouter(prefix="/statistics", tags=["统计"])

STATISTICS_ROLES = (Role.supervisor, Role.admin)
_UNIT = "组织；缺省为本人的全部范围"
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
    require_roles(principal, STATISTICS_ROLES, "查看统计")
    end = end or engine.clock.now().astimezone(SHANGHAI).date()
    start = start or end.replace(month=1, day=1)
    if start > end:
        raise InvalidInput("统计起始日期不能晚于截止日期", field="from")
    with engine.db.transaction(write=False) as tx:
        if unit_id is None:
            unit = None
            scope = None if principal.actor.all_units else principal.actor.unit_ids
            children: list[queries.OrgUnitRow] = []
        else:
            unit = queries.org_unit(tx, unit_id)
            if unit is None:
                raise NotFound("组织", unit_id)
            if not principal.actor.all_units and unit_id not in principal.actor.unit_ids:
                raise Forbidden(f"无权查看“{unit.name}”的统计")
            scope = _subtree(tx, unit)
            children = queries.org_units(tx, parent_id=unit_id)
        report = _report(tx, engine, start, end, scope)
        parts = [
            _unit_line(
                child, _report(tx, engine, start, end, queries.subtree_ids(tx, [child.path]))
            )
            for child in children
        ]
    return StatisticsPublic(
        **report.figures(), unit=public_unit(unit) if unit else None, children=parts
    )


def _report(
    tx: Tx, engine: Engine, start: date, end: date, scope: frozenset[int] | None
) -> CaseStatistics:
    return case_statistics(
        tx, engine.registry, engine.calendar, start=start, end=end, unit_ids=scope
    )


def _subtree(tx: Tx, unit: queries.OrgUnitRow) -> frozenset[int]:
    return queries.subtree_ids(tx, [unit.path])


def _unit_line(unit: queries.OrgUnitRow, report: CaseStatistics) -> UnitStatistics:
    return UnitStatistics(**report.figures(), unit=public_unit(unit))
