"""R-STATS: what a committee reports per period and per level.

Counted over the cohort of cases registered (受理) in the period, as they stand now, so a
report for last month moves as its cases progress:

- successful: an agreement took effect (a written one signed and sealed, or an oral one),
  unless the case then ended in a failed state or went back to mediation (not performed);
- failed: it ended in a final state whose spec marks it `outcome: failed` (including a
  drafted agreement the parties would not sign);
- not mediated: refused or inadmissible (`outcome: not_mediated`);
- 调解成功率 = successful ÷ (successful + failed); 化解率 = successful ÷ received;
- resolved at each level: where the agreement was reached (网格, 社区, 街道, 法院);
- handling time: working days from registration to the agreement taking effect (successful)
  or to the end (failed);
- 履行率: of the successful cases visited, those whose latest visit found the agreement
  performed; satisfaction likewise from each case's latest visit that recorded it;
- overdue: cases whose period of mediation passed unextended (超期督办), at any time; a
  case flagged only for a late follow-up visit is not counted;
- confirmation: cases that applied for 司法确认 and each outcome (受理 not counted apart):
  confirmed, rejected, not accepted (不予受理) and withdrawn (撤回), each case once per
  outcome, by the triggers the flows name (`apply_confirmation`, `confirm`, `reject`,
  `decline_application`, `withdraw_application`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from engine.calendar import SHANGHAI
from engine.ports import DeadlineCalendar
from engine.queries import in_params
from engine.registry import Registry
from engine.repository import Tx
from engine.spec import Level, Outcome, StateSpec

CONFIRMATION_TRIGGERS = {
    "apply_confirmation": "applied",
    "confirm": "confirmed",
    "reject": "rejected",
    "decline_application": "not_accepted",  # 不予受理: an outcome, not "no outcome"
    "withdraw_application": "withdrawn",  # 撤回
}
# A case flagged overdue only because a follow-up visit went unrecorded is not an overdue
# case: overdue counts the periods of mediation (超期督办), not late visits.
LATE_VISIT_ONLY = "visit"


_MEDIATION_LEVELS = frozenset({Level.intake, Level.grid, Level.community, Level.street})


def _mediating(state: StateSpec | None) -> bool:
    return state is not None and state.level in _MEDIATION_LEVELS


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class CaseStatistics:
    start: date
    end: date  # inclusive
    received: int = 0
    successful: int = 0
    failed: int = 0
    not_mediated: int = 0
    in_progress: int = 0
    overdue: int = 0
    resolved_at: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_risk: dict[str, int] = field(default_factory=dict)
    working_days_total: int = 0
    working_days_cases: int = 0
    visited: int = 0
    performed: int = 0
    satisfaction: dict[str, int] = field(default_factory=dict)
    confirmation: dict[str, int] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        """Every count and rate by name, the derived ones included."""
        derived = ("mediated", "success_rate", "resolution_rate", "resolved_share")
        more = ("average_working_days", "performance_rate")
        return {**asdict(self), **{name: getattr(self, name) for name in derived + more}}

    @property
    def mediated(self) -> int:
        return self.successful + self.failed

    @property
    def success_rate(self) -> float | None:
        return _share(self.successful, self.mediated)

    @property
    def resolution_rate(self) -> float | None:
        return _share(self.successful, self.received)

    @property
    def resolved_share(self) -> dict[str, float | None]:
        return {level: _share(n, self.successful) for level, n in self.resolved_at.items()}

    @property
    def average_working_days(self) -> float | None:
        if not self.working_days_cases:
            return None
        return round(self.working_days_total / self.working_days_cases, 1)

    @property
    def performance_rate(self) -> float | None:
        return _share(self.performed, self.visited)


def _local_date(value: datetime) -> date:
    return value.astimezone(SHANGHAI).date()


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period's local days as UTC instants: [start 00:00, end + 1 day 00:00)."""
    first = datetime.combine(start, time(), SHANGHAI)
    after = datetime.combine(end + timedelta(days=1), time(), SHANGHAI)
    return first, after


CaseResult = Literal["successful", "failed", "not_mediated", "in_progress"]
RESULT_LABELS: dict[str, str] = {
    "successful": "调解成功",
    "failed": "调解不成",
    "not_mediated": "未进入调解",
    "in_progress": "办理中",
}


def classify(state: StateSpec | None, effective: datetime | None) -> CaseResult:
    """Where a case of the cohort stands for the report (see the module's docstring)."""
    outcome = state.outcome if state is not None else None
    if outcome is Outcome.failed:  # even after an agreement: refused to sign, or the
        return "failed"  # court declined to confirm it and mediation ended
    if outcome is Outcome.not_mediated:
        return "not_mediated"
    if effective is not None and not _mediating(state):
        return "successful"
    return "in_progress"  # a drafted agreement not yet sealed, or mediation reopened after one


def _cohort(
    tx: Tx, start: date, end: date, unit_ids: Collection[int] | None, params: dict[str, Any]
) -> str:
    """SQL true for the cases (alias c) registered in the period within the units."""
    first, after = _bounds(start, end)
    params["first"], params["after"] = tx.codec.dt_out(first), tx.codec.dt_out(after)
    where = "c.created_at >= :first AND c.created_at < :after"
    if unit_ids is not None:
        units = sorted(unit_ids)
        where += (
            f" AND (c.committee_id IN ({in_params('u', units, params)}) OR c.org_unit_id IN "
            f"({in_params('o', units, params)}) OR c.grid_id IN ({in_params('g', units, params)}))"
        )
    return where


def case_statistics(
    tx: Tx,
    registry: Registry,
    calendar: DeadlineCalendar,
    *,
    start: date,
    end: date,
    unit_ids: Collection[int] | None,
) -> CaseStatistics:
    """The report for cases registered from `start` to `end` (local days, inclusive) whose
    committee, org unit or grid is among `unit_ids` (None: every case)."""
    params: dict[str, Any] = {}
    where = _cohort(tx, start, end, unit_ids, params)
    rows = tx.all(
        "SELECT c.id, c.spec_id, c.spec_version, c.state, c.resolved_level, c.category_code, "
        "c.risk_level, c.overdue, c.created_at, c.agreement_effective_at, c.closed_at, c.data "
        f"FROM cases c WHERE {where}",
        params,
    )
    counts: Counter[str] = Counter()
    resolved_at: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    by_risk: Counter[str] = Counter()
    days_total = days_cases = 0
    successful_ids: list[int] = []
    for row in rows:
        case_id, spec_id, version, state, resolved, category, risk, overdue = row[:8]
        created, effective, closed = (tx.codec.dt_in(v) for v in row[8:11])
        assert created is not None
        by_category[category] += 1
        by_risk[risk] += 1
        counts["overdue"] += bool(overdue) and _overdue_reason(row[11]) != LATE_VISIT_ONLY
        result = classify(registry.get(spec_id, version).states.get(state), effective)
        counts[result] += 1
        ended: datetime | None = None
        if result == "failed":
            ended = closed
        elif result == "successful":
            resolved_at[resolved or "unknown"] += 1
            successful_ids.append(int(case_id))
            ended = effective
        if ended is not None:
            days_total += calendar.working_days_between(_local_date(created), _local_date(ended))
            days_cases += 1
    visited, performed, satisfaction = _visits(tx, successful_ids)
    return CaseStatistics(
        start=start,
        end=end,
        received=len(rows),
        successful=counts["successful"],
        failed=counts["failed"],
        not_mediated=counts["not_mediated"],
        in_progress=counts["in_progress"],
        overdue=counts["overdue"],
        resolved_at=dict(resolved_at),
        by_category=dict(by_category),
        by_risk=dict(by_risk),
        working_days_total=days_total,
        working_days_cases=days_cases,
        visited=visited,
        performed=performed,
        satisfaction=satisfaction,
        confirmation=_confirmations(tx, [int(r[0]) for r in rows]),
    )


def _batches(case_ids: list[int], size: int = 500) -> Iterator[list[int]]:
    """Ids in slices an IN list can hold on every database."""
    for start in range(0, len(case_ids), size):
        yield case_ids[start : start + size]


def _visits(tx: Tx, case_ids: list[int]) -> tuple[int, int, dict[str, int]]:
    """Cases visited, those whose latest visit found the agreement performed, and each
    case's latest recorded satisfaction."""
    latest: dict[int, str] = {}
    satisfied: dict[int, str] = {}
    for batch in _batches(case_ids):
        params: dict[str, Any] = {}
        rows = tx.all(
            "SELECT case_id, performance, satisfaction FROM visits "
            f"WHERE case_id IN ({in_params('c', batch, params)}) "
            "ORDER BY visited_at, id",
            params,
        )
        for case_id, performance, satisfaction in rows:
            latest[int(case_id)] = performance
            if satisfaction is not None:
                satisfied[int(case_id)] = satisfaction
    performed = sum(1 for value in latest.values() if value == "performed")
    return len(latest), performed, dict(Counter(satisfied.values()))


def _overdue_reason(data: Any) -> str | None:
    loaded = json.loads(data) if isinstance(data, str) and data else data
    return loaded.get("overdue_reason") if isinstance(loaded, dict) else None


def _confirmations(tx: Tx, case_ids: list[int]) -> dict[str, int]:
    """Cases that applied for judicial confirmation, and the rulings (each case once)."""
    seen: dict[str, set[int]] = {name: set() for name in CONFIRMATION_TRIGGERS.values()}
    for batch in _batches(case_ids):
        params: dict[str, Any] = {}
        cases = in_params("c", batch, params)
        triggers = in_params("t", list(CONFIRMATION_TRIGGERS), params)
        rows = tx.all(
            "SELECT case_id, trigger FROM audit_events "
            f"WHERE case_id IN ({cases}) AND trigger IN ({triggers})",
            params,
        )
        for case_id, trigger in rows:
            seen[CONFIRMATION_TRIGGERS[trigger]].add(int(case_id))
    return {name: len(ids) for name, ids in seen.items()}


@dataclass(frozen=True, slots=True)
class LedgerParty:
    name: str
    role: str
    id_number_masked: str | None
    phone_masked: str | None


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One case of the period's 台账 (ledger), with its parties' numbers masked (R-PII)."""

    id: int
    number: str
    created_at: datetime
    category_code: str
    category_name: str
    risk_level: str
    level: str
    state: str
    state_label: str
    result: CaseResult
    resolved_level: str | None
    overdue: bool
    agreement_effective_at: datetime | None
    closed_at: datetime | None
    parties: tuple[LedgerParty, ...]


def ledger(
    tx: Tx,
    registry: Registry,
    *,
    start: date,
    end: date,
    unit_ids: Collection[int] | None,
) -> list[LedgerRow]:
    """The cases `case_statistics` counts, one row each in registration order."""
    params: dict[str, Any] = {}
    where = _cohort(tx, start, end, unit_ids, params)
    rows = tx.all(
        "SELECT c.id, c.number, c.spec_id, c.spec_version, c.state, c.level, c.resolved_level, "
        "c.category_code, c.risk_level, c.overdue, c.created_at, c.agreement_effective_at, "
        "c.closed_at, k.name FROM cases c LEFT JOIN categories k ON k.code = c.category_code "
        f"WHERE {where} ORDER BY c.created_at, c.id",
        params,
    )
    parties: dict[int, list[LedgerParty]] = {int(r[0]): [] for r in rows}
    for batch in _batches(list(parties)):
        batch_params: dict[str, Any] = {}
        for case_id, name, role, id_masked, phone_masked in tx.all(
            "SELECT cp.case_id, p.name, cp.role, p.id_number_masked, p.phone_masked "
            "FROM case_parties cp JOIN parties p ON p.id = cp.party_id "
            f"WHERE cp.case_id IN ({in_params('c', batch, batch_params)}) ORDER BY cp.id",
            batch_params,
        ):
            parties[int(case_id)].append(LedgerParty(name, role, id_masked, phone_masked))
    dt = tx.codec.dt_in
    found = []
    for r in rows:
        created = dt(r[10])
        assert created is not None
        state = registry.get(r[2], r[3]).states.get(r[4])
        effective = dt(r[11])
        found.append(
            LedgerRow(
                id=int(r[0]),
                number=r[1],
                created_at=created,
                category_code=r[7],
                category_name=r[13] or r[7],
                risk_level=r[8],
                level=r[5],
                state=r[4],
                state_label=state.label if state is not None else r[4],
                result=classify(state, effective),
                resolved_level=r[6],
                overdue=bool(r[9]),
                agreement_effective_at=effective,
                closed_at=dt(r[12]),
                parties=tuple(parties[int(r[0])]),
            )
        )
    return found
