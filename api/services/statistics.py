"""R-STATS for a person: the period they asked for, the units they may read (a supervisor their
subtree, an administrator everything), the report with one per child unit, the period's 台账,
and the figures as people read them. The API route, the dashboard and `fengqiao stats` all
call these, so a figure is computed and worded once."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Font

from api.authz import Principal, require_roles
from api.errors import Forbidden
from engine.calendar import SHANGHAI
from engine.errors import InvalidInput, NotFound
from engine.repository import Tx
from mediation import queries
from mediation.engine import MediationEngine
from mediation.models.org import OrgKind
from mediation.statistics import (
    RESULT_LABELS,
    CaseStatistics,
    LedgerParty,
    LedgerRow,
    case_statistics,
    ledger,
    subtree_statistics,
)
from mediation.vocabulary import LEVEL_LABELS, Level, Role

STATISTICS_ROLES = (Role.supervisor, Role.admin)
EARLIEST, LATEST = date(1949, 10, 1), date(2999, 12, 31)
# the breakdown follows the mediation tree; courts, firms and police have their own figures
MEDIATION_KINDS = frozenset(
    {OrgKind.district, OrgKind.street, OrgKind.community, OrgKind.grid}
    | {OrgKind.committee, OrgKind.room}
)
# what the seed reports quote: 70% resolved in the grid, 20% in the community, 10% above
TARGET_SHARES: dict[str, float] = {"grid": 0.7, "community": 0.2, "street": 0.1}


@dataclass(frozen=True, slots=True)
class Report:
    unit: queries.OrgUnitRow | None
    figures: CaseStatistics
    children: list[tuple[queries.OrgUnitRow, CaseStatistics]]


@dataclass(frozen=True, slots=True)
class Figure:
    key: str  # the CaseStatistics figure it shows, for a page to pick its headline ones
    label: str
    value: str


def period(engine: MediationEngine, start: date | None, end: date | None) -> tuple[date, date]:
    """The period asked for: to today, from the 1st of January of its last day's year.

    Raises:
        InvalidInput: the start after the end, or a day out of range.
    """
    end = end or engine.clock.now().astimezone(SHANGHAI).date()
    start = start or end.replace(month=1, day=1)
    if start > end:
        raise InvalidInput("统计起始日期不能晚于截止日期", field="from")
    if start < EARLIEST or end > LATEST:
        raise InvalidInput(f"统计日期须在 {EARLIEST} 至 {LATEST} 之间", field="from")
    return start, end


def _unit_in_scope(
    tx: Tx, principal: Principal, unit_id: int | None
) -> tuple[queries.OrgUnitRow | None, frozenset[int] | None]:
    """The unit asked for (a supervisor's only unit by default) and the principal's scope."""
    require_roles(principal, STATISTICS_ROLES, "查看统计")
    scope = _supervised(tx, principal)
    if unit_id is None:
        unit_id = _home_unit(principal)
    if unit_id is None:
        return None, scope
    unit = queries.org_unit(tx, unit_id)
    if unit is None:
        raise NotFound("组织", unit_id)
    if scope is not None and unit_id not in scope:
        raise Forbidden(f"无权查看“{unit.name}”的统计")
    return unit, scope


def report(
    engine: MediationEngine, principal: Principal, unit_id: int | None, start: date, end: date
) -> Report:
    """The principal's report for a unit (by default what they supervise) and its children."""
    with engine.db.transaction(write=False) as tx:
        unit, scope = _unit_in_scope(tx, principal, unit_id)
        figures, parts = breakdown(tx, engine, unit, scope, start, end)
    return Report(unit, figures, parts)


def case_ledger(
    engine: MediationEngine, principal: Principal, unit_id: int | None, start: date, end: date
) -> list[LedgerRow]:
    """The period's 台账: every case the report counts, its parties' numbers masked."""
    with engine.db.transaction(write=False) as tx:
        unit, scope = _unit_in_scope(tx, principal, unit_id)
        units = _subtree(tx, unit) if unit is not None else scope
        return ledger(tx, engine.registry, start=start, end=end, unit_ids=units)


def breakdown(
    tx: Tx,
    engine: MediationEngine,
    unit: queries.OrgUnitRow | None,
    scope: frozenset[int] | None,
    start: date,
    end: date,
) -> tuple[CaseStatistics, list[tuple[queries.OrgUnitRow, CaseStatistics]]]:
    """The report for a unit's subtree (without a unit: `scope`, None for everything), and
    one for each unit a level down the mediation tree (without a unit: each district)."""
    if unit is not None:
        children = [
            child
            for child in queries.org_units(tx, parent_id=unit.id)
            if child.kind in MEDIATION_KINDS
        ]
        # the unit and its children in one statement over the facts (mediation/facts.py)
        found = subtree_statistics(
            tx, start=start, end=end, unit_ids=[unit.id, *(c.id for c in children)]
        )
        return found[unit.id], [(child, found[child.id]) for child in children]
    figures = _report(tx, engine, start, end, scope)
    if scope is not None:
        return figures, []
    districts = queries.org_units(tx, kind=OrgKind.district)
    found = subtree_statistics(tx, start=start, end=end, unit_ids=[d.id for d in districts])
    return figures, [(district, found[district.id]) for district in districts]


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def level_label(level: str) -> str:
    return LEVEL_LABELS[Level(level)] if level in Level.__members__ else "其他"


def figure_rows(report: CaseStatistics) -> list[Figure]:
    """The report's figures, labelled and formatted as every reader sees them."""
    shares = "、".join(
        f"{level_label(level)} {count} 件（{rate(report.resolved_share[level])}）"
        for level, count in sorted(report.resolved_at.items(), key=lambda kv: -kv[1])
    )
    days = report.average_working_days
    confirmation = report.confirmation
    applied = " / ".join(str(confirmation.get(k, 0)) for k in ("applied", "confirmed", "rejected"))
    ended = " / ".join(str(confirmation.get(k, 0)) for k in ("not_accepted", "withdrawn"))
    return [
        Figure(key, label, value)
        for key, label, value in (
            ("received", "受理", str(report.received)),
            ("successful", "调解成功", str(report.successful)),
            ("failed", "调解不成", str(report.failed)),
            ("not_mediated", "未进入调解", str(report.not_mediated)),
            ("in_progress", "办理中", str(report.in_progress)),
            ("success_rate", "调解成功率（成功 ÷ 调解）", rate(report.success_rate)),
            ("resolution_rate", "化解率（成功 ÷ 受理）", rate(report.resolution_rate)),
            ("resolved_share", "各层级化解", shares or "—"),
            ("average_working_days", "平均办理工作日", "—" if days is None else str(days)),
            ("overdue", "超期", str(report.overdue)),
            (
                "performance_rate",
                f"履行率（已回访 {report.visited} 件）",
                rate(report.performance_rate),
            ),
            ("confirmation", "司法确认申请 / 确认 / 驳回", applied),
            ("confirmation_ended", "不予受理 / 撤回", ended),
        )
    ]


CHILD_COLUMNS = ("下级组织", "受理", "调解", "成功", "调解成功率", "化解率")


def child_row(unit: queries.OrgUnitRow, part: CaseStatistics) -> tuple[str, ...]:
    """A child unit's line under the report, in CHILD_COLUMNS' order."""
    return (
        unit.name,
        str(part.received),
        str(part.mediated),
        str(part.successful),
        rate(part.success_rate),
        rate(part.resolution_rate),
    )


def _report(
    tx: Tx, engine: MediationEngine, start: date, end: date, scope: frozenset[int] | None
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


LEDGER_COLUMNS = (
    "案件编号",
    "受理日期",
    "当事人（身份证号、电话已遮蔽）",
    "纠纷类型",
    "风险等级",
    "所在层级",
    "状态",
    "调解结果",
    "化解层级",
    "超期",
    "协议生效日期",
    "结案日期",
)


def ledger_cells(row: LedgerRow, risks: Mapping[str, str]) -> tuple[str, ...]:
    """One case's 台账 line in LEDGER_COLUMNS' order; ID and phone numbers only masked."""

    def party(p: LedgerParty) -> str:
        numbers = "，".join(n for n in (p.id_number_masked, p.phone_masked) if n)
        return f"{p.name}（{numbers}）" if numbers else p.name

    def day(value: datetime | None) -> str:
        return value.astimezone(SHANGHAI).date().isoformat() if value else ""

    return (
        row.number,
        day(row.created_at),
        "；".join(party(p) for p in row.parties),
        row.category_name,
        risks.get(row.risk_level, row.risk_level),
        level_label(row.level),
        row.state_label,
        RESULT_LABELS[row.result],
        level_label(row.resolved_level) if row.resolved_level else "",
        "是" if row.overdue else "",
        day(row.agreement_effective_at),
        day(row.closed_at),
    )


def workbook(title: str, report: Report, rows: list[LedgerRow], risks: Mapping[str, str]) -> bytes:
    """The period's figures and 台账 as an Excel workbook (two sheets)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "统计"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["指标", "数值"])
    for figure in figure_rows(report.figures):
        sheet.append([figure.label, _cell(figure.value)])
    if report.children:
        sheet.append([])
        sheet.append(list(CHILD_COLUMNS))
        for unit, part in report.children:
            sheet.append([_cell(v) for v in child_row(unit, part)])
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 40
    ledger_sheet = book.create_sheet("台账")
    ledger_sheet.append(list(LEDGER_COLUMNS))
    for cell in ledger_sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ledger_sheet.append([_text(cell) for cell in ledger_cells(row, risks)])
    for letter, width in zip(
        "ABCDEFGHIJKL", (22, 12, 48, 12, 10, 8, 14, 12, 10, 6, 14, 12), strict=True
    ):
        ledger_sheet.column_dimensions[letter].width = width
    ledger_sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(value: str) -> str:
    """A cell as text, never a formula: names and numbers come from users (CSV injection)."""
    return "'" + value if value.startswith(("=", "+", "-", "@")) else value


def ancestors(
    engine: MediationEngine, principal: Principal, unit: queries.OrgUnitRow
) -> list[queries.OrgUnitRow]:
    """The units above `unit` this principal may read, top first (the way back up)."""
    ids = [int(part) for part in unit.path.strip("/").split("/") if part][:-1]
    with engine.db.transaction(write=False) as tx:
        scope = _supervised(tx, principal)
        found = [queries.org_unit(tx, i) for i in ids if scope is None or i in scope]
    return [row for row in found if row is not None]


def _cell(value: str) -> str | int:
    """A count as a number Excel can sum; anything else as the text people read."""
    return int(value) if value.isascii() and value.isdigit() else _text(value)
