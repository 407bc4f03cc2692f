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
  `decline_application`, `withdraw_application`); a ruling the court revoked on an objection
  (`uphold_objection`, R-JC-OBJECT) no longer counts as that outcome.

The figures are read from counts kept per unit and per day and month (mediation/aggregates.py),
which the fire keeps with the per-case facts (engine/facts.py).

Hand SQL on purpose: the report's statements are tuned for bench.scale's district reports
at 1M cases.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from engine.calendar import SHANGHAI
from engine.ports import DeadlineCalendar
from engine.registry import Registry
from engine.repository import Tx
from engine.spec import StateSpec
from mediation import aggregates
from mediation.queries import in_params
from mediation.spec import Outcome

CONFIRMATION_TRIGGERS = {
    "apply_confirmation": "applied",
    "confirm": "confirmed",
    "reject": "rejected",
    "decline_application": "not_accepted",  # 不予受理: an outcome, not "no outcome"
    "withdraw_application": "withdrawn",  # 撤回
}
# 异议成立: the ruling it names is revoked (a confirmation or a rejection, the latest standing)
REVOKING_TRIGGER = "uphold_objection"
RULINGS = frozenset({"confirmed", "rejected"})


def standing_outcomes(triggers: Iterable[str]) -> set[str]:
    """The confirmation outcomes a case reached, from its triggers in order, without the
    rulings an upheld objection revoked (R-JC-OBJECT)."""
    reached: set[str] = set()
    rulings: list[str] = []
    for trigger in triggers:
        if trigger == REVOKING_TRIGGER:
            if rulings:
                rulings.pop()
        elif trigger in CONFIRMATION_TRIGGERS:
            outcome = CONFIRMATION_TRIGGERS[trigger]
            (rulings.append if outcome in RULINGS else reached.add)(outcome)
    return reached | set(rulings)


# A case flagged overdue only because a follow-up visit went unrecorded is not an overdue
# case: overdue counts the periods of mediation (超期督办), not late visits.
LATE_VISIT_ONLY = "visit"


_MEDIATION_LEVELS = frozenset({"intake", "grid", "community", "street"})


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
    if outcome == Outcome.failed:  # even after an agreement: refused to sign, or the
        return "failed"  # court declined to confirm it and mediation ended
    if outcome == Outcome.not_mediated:
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
    registry: Registry,  # noqa: ARG001 (kept for callers: the facts hold what it classified)
    calendar: DeadlineCalendar,  # noqa: ARG001 (likewise: the facts hold the working days)
    *,
    start: date,
    end: date,
    unit_ids: Collection[int] | None,
) -> CaseStatistics:
    """The report for cases registered from `start` to `end` (local days, inclusive) whose
    committee, org unit or grid is among `unit_ids` (None: every case).

    Read from the pre-aggregated counts when `unit_ids` is None or one unit's whole subtree
    (what a supervisor of one unit reads); any other set of units from the per-case facts,
    so a case in two of its subtrees is counted once."""
    if unit_ids is None:
        root: int | None = aggregates.ALL_CASES
    else:
        root = _subtree_root(tx, unit_ids)
    empty = CaseStatistics(start=start, end=end, confirmation=_no_confirmation())
    if root is not None:
        return _fold(start, end, aggregates.grouped(tx, start, end, [root])).get(root, empty)
    first, after = _bounds(start, end)
    params: dict[str, Any] = {
        "first": tx.codec.dt_out(first),
        "after": tx.codec.dt_out(after),
    }
    units = sorted(unit_ids or ())
    where = (
        f"f.registered_at >= :first AND f.registered_at < :after AND (f.committee_id IN "
        f"({in_params('u', units, params)}) OR f.org_unit_id IN "
        f"({in_params('o', units, params)}) OR f.grid_id IN ({in_params('g', units, params)}))"
    )
    rows: list[tuple[int, str, str, tuple[int, ...]]] = []
    for facts_row in tx.all(
        f"SELECT f.{', f.'.join(_FACT_FIELDS)} FROM case_facts f WHERE {where}",
        params,
    ):
        fact = dict(zip(_FACT_FIELDS, facts_row, strict=True))
        for (dim, value), vector in aggregates.contributions(_Fact(fact)).items():
            rows.append((0, dim, value, vector))
    return _fold(start, end, rows).get(0, empty)


_FACT_FIELDS = (*aggregates.FIGURE_FACTS, "registered_at")


class _Fact:
    """A case_facts row read by name, as aggregates.contributions reads a fact."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _subtree_root(tx: Tx, unit_ids: Collection[int]) -> int | None:
    """The unit whose subtree is exactly `unit_ids`, if there is one."""
    wanted = set(unit_ids)
    if not wanted:
        return None
    params: dict[str, Any] = {}
    rows = tx.all(
        f"SELECT id, path FROM org_units WHERE id IN ({in_params('u', sorted(wanted), params)})",
        params,
    )
    by_depth = sorted(rows, key=lambda r: len(str(r[1])))
    if len(rows) != len(wanted) or not by_depth:
        return None
    root_id, root_path = int(by_depth[0][0]), str(by_depth[0][1])
    inside = tx.all("SELECT id FROM org_units WHERE path LIKE :prefix", {"prefix": root_path + "%"})
    return root_id if {int(i) for (i,) in inside} == wanted else None


def subtree_statistics(
    tx: Tx, *, start: date, end: date, unit_ids: Collection[int]
) -> dict[int, CaseStatistics]:
    """For each unit given, the report for the cases of its subtree (committee, org unit or
    grid within it) registered in the period: one statement over the pre-aggregated counts
    for them all, whose rows follow the months and days of the period, not the cases."""
    found = _fold(start, end, aggregates.grouped(tx, start, end, list(unit_ids)))
    empty = CaseStatistics(start=start, end=end, confirmation=_no_confirmation())
    return {unit: found.get(unit, empty) for unit in unit_ids}


def _no_confirmation() -> dict[str, int]:
    return dict.fromkeys(CONFIRMATION_TRIGGERS.values(), 0)


def _fold(
    start: date, end: date, rows: Sequence[tuple[int, str, str, tuple[int, ...]]]
) -> dict[int, CaseStatistics]:
    """The (unit, dim, value, sums) rows of one or more reports, as each report's figures."""
    sums: dict[int, Counter[str]] = {}
    dims: dict[int, dict[str, Counter[str]]] = {}
    for key, dim, value, vector in rows:
        total = sums.setdefault(key, Counter())
        by = dims.setdefault(key, {n: Counter() for n in _BREAKDOWNS})
        count = vector[0]
        if dim == "result":
            total["received"] += count
            total[value] += count
            for name, amount in zip(aggregates.SUMS[1:], vector[1:], strict=True):
                total[name] += amount
        elif dim == "performance":
            total["visited"] += count
            total["performed"] += count if value == "performed" else 0
        else:
            by[dim][value] += count
    return {
        key: CaseStatistics(
            start=start,
            end=end,
            received=total["received"],
            successful=total["successful"],
            failed=total["failed"],
            not_mediated=total["not_mediated"],
            in_progress=total["in_progress"],
            overdue=total["overdue"],
            resolved_at=dict(dims[key]["resolved"]),
            by_category=dict(dims[key]["category"]),
            by_risk=dict(dims[key]["risk"]),
            working_days_total=total["working_days_total"],
            working_days_cases=total["working_days_cases"],
            visited=total["visited"],
            performed=total["performed"],
            satisfaction=dict(dims[key]["satisfaction"]),
            confirmation={n: total[n] for n in CONFIRMATION_TRIGGERS.values()},
        )
        for key, total in sums.items()
    }


_BREAKDOWNS = ("category", "risk", "resolved", "satisfaction")


def _batches(case_ids: list[int], size: int = 500) -> Iterator[list[int]]:
    """Ids in slices an IN list can hold on every database."""
    for start in range(0, len(case_ids), size):
        yield case_ids[start : start + size]


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
