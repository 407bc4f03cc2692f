"""R-STATS recounted from scratch the way the reports were counted before the facts existed
(engine/statistics.py before issue 12): every case of the cohort read and classified in
Python, its visits and its confirmation events read from their tables. The facts' reports
must give exactly these figures."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from engine.calendar import SHANGHAI
from engine.ports import DeadlineCalendar
from engine.registry import Registry
from engine.repository import Tx
from mediation.queries import in_params
from mediation.statistics import (
    CONFIRMATION_TRIGGERS,
    LATE_VISIT_ONLY,
    CaseStatistics,
    classify,
)


def _local_date(value: datetime) -> date:
    return value.astimezone(SHANGHAI).date()


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period's local days as UTC instants: [start 00:00, end + 1 day 00:00)."""
    first = datetime.combine(start, time(), SHANGHAI)
    after = datetime.combine(end + timedelta(days=1), time(), SHANGHAI)
    return first, after


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
    """Cases that applied for judicial confirmation, and the rulings (each case once); a
    ruling an upheld objection revoked (R-JC-OBJECT) is not counted: each `uphold_objection`
    cancels the latest `confirm` or `reject` before it not yet cancelled."""
    seen: dict[str, set[int]] = {name: set() for name in CONFIRMATION_TRIGGERS.values()}
    for batch in _batches(case_ids):
        params: dict[str, Any] = {}
        cases = in_params("c", batch, params)
        triggers = in_params("t", [*CONFIRMATION_TRIGGERS, "uphold_objection"], params)
        rows = tx.all(
            "SELECT case_id, trigger FROM audit_events "
            f"WHERE case_id IN ({cases}) AND trigger IN ({triggers}) ORDER BY case_id, seq",
            params,
        )
        rulings: dict[int, list[str]] = {}
        for case_id, trigger in rows:
            standing = rulings.setdefault(int(case_id), [])
            if trigger == "uphold_objection":
                if standing:
                    standing.pop()
            elif trigger in ("confirm", "reject"):
                standing.append(trigger)
            else:
                seen[CONFIRMATION_TRIGGERS[trigger]].add(int(case_id))
        for case_id, standing in rulings.items():
            for trigger in standing:
                seen[CONFIRMATION_TRIGGERS[trigger]].add(case_id)
    return {name: len(ids) for name, ids in seen.items()}
