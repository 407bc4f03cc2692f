"""R-STATS: the figures a committee reports, per period and per level of the org tree.

Supervisors see their own subtrees, administrators everything. Each report also breaks the
chosen unit down by its child units, so "小事不出网格、大事不出社区" can be read level by level.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.authz import Principal, require_roles
from api.deps import CurrentPrincipal, EngineDep
from api.errors import Forbidden, problem_responses
from api.routes.org_units import public_unit
from api.schemas import MAX_ID, StatisticsPublic, UnitStatistics
from engine import queries
from engine.calendar import SHANGHAI
from engine.errors import InvalidInput, NotFound
from engine.models import OrgKind
from engine.repository import Tx
from engine.runtime import Engine
from engine.spec import Role
from engine.statistics import CaseStatistics, case_statistics

router = APIRouter(prefix="/statistics", tags=["统计"])

STATISTICS_ROLES = (Role.supervisor, Role.admin)
EARLIEST, LATEST = date(1949, 10, 1), date(2999, 12, 31)
# the breakdown follows the mediation tree; courts, firms and police have their own figures
MEDIATION_KINDS = frozenset(
    {OrgKind.district, OrgKind.street, OrgKind.community, OrgKind.grid}
    | {OrgKind.committee, OrgKind.room}
)
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
    require_roles(principal, STATISTICS_ROLES, "查看统计")
    end = end or engine.clock.now().astimezone(SHANGHAI).date()
    start = start or end.replace(month=1, day=1)
    if start > end:
        raise InvalidInput("统计起始日期不能晚于截止日期", field="from")
    if start < EARLIEST or end > LATEST:
        raise InvalidInput(f"统计日期须在 {EARLIEST} 至 {LATEST} 之间", field="from")
    with engine.db.transaction(write=False) as tx:
        scope = _supervised(tx, principal)
        if unit_id is None:
            unit_id = _home_unit(principal)
        unit = None
        if unit_id is not None:
            unit = queries.org_unit(tx, unit_id)
            if unit is None:
                raise NotFound("组织", unit_id)
            if scope is not None and unit_id not in scope:
                raise Forbidden(f"无权查看“{unit.name}”的统计")
        report, parts = breakdown(tx, engine, unit, scope, start, end)
    return StatisticsPublic(
        **report.figures(),
        unit=public_unit(unit) if unit else None,
        children=[UnitStatistics(**r.figures(), unit=public_unit(u)) for u, r in parts],
    )


def breakdown(
    tx: Tx,
    engine: Engine,
    unit: queries.OrgUnitRow | None,
    scope: frozenset[int] | None,
    start: date,
    end: date,
) -> tuple[CaseStatistics, list[tuple[queries.OrgUnitRow, CaseStatistics]]]:
    """The report for a unit's subtree (without a unit: `scope`, None for everything), and
    one for each unit a level down the mediation tree (without a unit: each district)."""
    if unit is not None:
        scope = _subtree(tx, unit)
        children = [
            child
            for child in queries.org_units(tx, parent_id=unit.id)
            if child.kind in MEDIATION_KINDS
        ]
    else:
        children = queries.org_units(tx, kind=OrgKind.district) if scope is None else []
    report = _report(tx, engine, start, end, scope)
    return report, [
        (child, _report(tx, engine, start, end, _subtree(tx, child))) for child in children
    ]


def _report(
    tx: Tx, engine: Engine, start: date, end: date, scope: frozenset[int] | None
) -> CaseStatistics:
    return case_statistics(
        tx, engine.registry, engine.calendar, start=start, end=end, unit_ids=scope
    )


def _supervised(tx: Tx, principal: Principal) -> frozenset[int] | None:
    """The units whose figures this principal may read: what they supervise (their other
    roles, a mediator's committee say, open cases but not reports), or everything."""
    if principal.actor.all_units:
        return None
    paths = [
        row.path
        for m in principal.memberships
        if m.role is Role.supervisor and (row := queries.org_unit(tx, m.org_unit_id))
    ]
    return queries.subtree_ids(tx, paths)


def _home_unit(principal: Principal) -> int | None:
    """The one unit a supervisor supervises, so the report can break it down."""
    units = {m.org_unit_id for m in principal.memberships if m.role is Role.supervisor}
    return units.pop() if len(units) == 1 and not principal.actor.all_units else None


def _subtree(tx: Tx, unit: queries.OrgUnitRow) -> frozenset[int]:
    return queries.subtree_ids(tx, [unit.path])
