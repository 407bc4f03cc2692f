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
from typing import Any

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
    first, after = _bounds(start, end)
    params: dict[str, Any] = {"first": tx.codec.dt_out(first), "after": tx.codec.dt_out(after)}
    where = "c.created_at >= :first AND c.created_at < :after"
    if unit_ids is not None:
        units = sorted(unit_ids)
        where += (
            f" AND (c.committee_id IN ({in_params('u', units, params)}) OR c.org_unit_id IN "
            f"({in_params('o', units, params)}) OR c.grid_id IN ({in_params('g', units, params)}))"
        )
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
        spec_state = registry.get(spec_id, version).states.get(state)
        outcome = spec_state.outcome if spec_state is not None else None
        ended: datetime | None = None
        if outcome is Outcome.failed:  # even after an agreement: refused to sign, or the
            counts["failed"] += 1  # court declined to confirm it and mediation ended
            ended = closed
        elif outcome is Outcome.not_mediated:
            counts["not_mediated"] += 1
        elif effective is not None and not _mediating(spec_state):
            counts["successful"] += 1
            resolved_at[resolved or "unknown"] += 1
            successful_ids.append(int(case_id))
            ended = effective
        else:  # a drafted agreement not yet sealed, or mediation reopened after one
            counts["in_progress"] += 1
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
