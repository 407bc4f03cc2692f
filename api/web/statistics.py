"""The supervisors' dashboard (R-STATS): the figures of `fengqiao stats` and the API's report
for a unit and a period, drawn as charts (ECharts, a static script reading a JSON block), each
child unit a link a level down, the overdue cases linked, and the period's 台账 and figures as
an Excel download. Every figure comes from api.services.statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from api.authz import Principal, require_roles
from api.deps import ServicesDep
from api.errors import Forbidden
from api.services import statistics as service
from api.web.cases import risk_labels
from api.web.session import PageRoute, page, signed_in
from engine.calendar import SHANGHAI
from engine.errors import InvalidInput, NotFound
from mediation import queries
from mediation.engine import MediationEngine
from mediation.statistics import RESULT_LABELS, LedgerRow

router = APIRouter(route_class=PageRoute, include_in_schema=False)
User = Annotated[Principal, Depends(signed_in)]
CHART_LEVELS = ("grid", "community", "street", "court")


@dataclass(frozen=True, slots=True)
class Query:
    """The unit and period asked for, and what was wrong with them."""

    unit_id: int | None
    start: date
    end: date
    errors: dict[str, str]

    def params(self, **more: Any) -> str:
        values = {"from": self.start.isoformat(), "to": self.end.isoformat(), **more}
        if "unit_id" not in more and self.unit_id is not None:
            values["unit_id"] = self.unit_id
        return urlencode({k: v for k, v in values.items() if v is not None})


def _day(raw: str | None, name: str, errors: dict[str, str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "请按“年-月-日”填写日期，例如 2026-03-01"
        return None


def _query(engine: MediationEngine, request: Request) -> Query:
    params = request.query_params
    errors: dict[str, str] = {}
    unit_raw = params.get("unit_id") or ""
    unit_id = int(unit_raw) if unit_raw.isdigit() and len(unit_raw) < 10 else None
    if unit_raw and unit_id is None:
        errors["unit_id"] = "组织编号不正确"
    start = _day(params.get("from"), "from", errors)
    end = _day(params.get("to"), "to", errors)
    try:
        first, last = service.period(engine, start, end)
    except InvalidInput as exc:
        errors["from"] = exc.message_zh
        first, last = service.period(engine, None, None)
    return Query(unit_id, first, last, errors)


def presets(today: date) -> list[tuple[str, date, date]]:
    """The periods a supervisor reports most: this month, last month, this quarter, this year."""
    month = today.replace(day=1)
    last_end = month - timedelta(days=1)
    quarter = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    return [
        ("本月", month, today),
        ("上月", last_end.replace(day=1), last_end),
        ("本季度", quarter, today),
        ("今年", today.replace(month=1, day=1), today),
    ]


def _chart(report: service.Report, satisfaction: dict[str, str]) -> dict[str, Any]:
    """What the charts draw, read by static/js/statistics.js (no inline script)."""
    figures = report.figures
    shares = figures.resolved_share
    return {
        "levels": [
            {
                "label": service.level_label(level),
                "actual": round((shares.get(level) or 0) * 100, 1),
                "target": round(service.TARGET_SHARES.get(level, 0) * 100, 1),
            }
            for level in CHART_LEVELS
        ],
        "outcomes": [
            {"label": label, "value": getattr(figures, name)}
            for name, label in RESULT_LABELS.items()
        ],
        "children": [
            {
                "label": unit.name,
                "received": part.received,
                "successful": part.successful,
                "rate": round((part.resolution_rate or 0) * 100, 1),
            }
            for unit, part in report.children
        ],
        "satisfaction": [
            {"label": label, "value": figures.satisfaction.get(code, 0)}
            for code, label in satisfaction.items()
        ],
    }


def _figures(
    engine: MediationEngine, user: Principal, q: Query
) -> tuple[service.Report, list[LedgerRow]]:
    """The report and its 台账; a unit outside the supervisor's subtree is the same 404 page
    as a missing one (the role itself was checked before)."""
    try:
        report = service.report(engine, user, q.unit_id, q.start, q.end)
    except Forbidden as exc:
        raise NotFound("组织", q.unit_id or 0) from exc
    return report, service.case_ledger(engine, user, q.unit_id, q.start, q.end)


def _title(report: service.Report, q: Query) -> str:
    name = report.unit.name if report.unit else "全部"
    return f"{name}：{q.start} 至 {q.end} 受理的案件"


@router.get("/statistics", response_class=HTMLResponse)
def dashboard(request: Request, user: User, services: ServicesDep) -> HTMLResponse:
    engine = services.engine
    require_roles(user, service.STATISTICS_ROLES, "查看统计")
    q = _query(engine, request)
    report, rows = _figures(engine, user, q)
    satisfaction = engine.registry.vocabularies["satisfaction"].labels()
    figures = service.figure_rows(report.figures)
    trail: list[queries.OrgUnitRow] = []
    if report.unit is not None:
        trail = service.ancestors(engine, user, report.unit)
    return page(
        request,
        user,
        "statistics.html",
        "调解统计",
        400 if q.errors else 200,
        q=q,
        report=report,
        caption=_title(report, q),
        figures=figures,
        headline={f.key: f.value for f in figures},
        child_columns=service.CHILD_COLUMNS,
        children=[(unit, service.child_row(unit, part)) for unit, part in report.children],
        overdue=[r for r in rows if r.overdue],
        trail=trail,
        chart=_chart(report, satisfaction),
        satisfaction={
            label: report.figures.satisfaction.get(c, 0) for c, label in satisfaction.items()
        },
        errors=q.errors,
        export=f"/statistics/export.xlsx?{q.params()}",
        presets=[
            (label, Query(q.unit_id, first, last, {}).params())
            for label, first, last in presets(engine.clock.now().astimezone(SHANGHAI).date())
        ],
    )


@router.get("/statistics/export.xlsx")
def export(request: Request, user: User, services: ServicesDep) -> Response:
    engine = services.engine
    require_roles(user, service.STATISTICS_ROLES, "导出台账")
    q = _query(engine, request)
    report, rows = _figures(engine, user, q)
    body = service.workbook(_title(report, q), report, rows, risk_labels(engine))
    name = f"调解台账_{q.start}_{q.end}.xlsx"
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"ledger.xlsx\"; filename*=UTF-8''{quote(name)}"
            ),
            "Cache-Control": "no-store",
        },
    )
