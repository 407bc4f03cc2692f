"""Per-case facts for R-STATS (tables case_facts and case_fact_units), kept current by the
fire that changes a case, in its transaction, with the per-unit, per-day counts they add to
(engine/aggregates.py), so that a report reads counts instead of each case's history.

`refresh` recounts one case from what is stored (its row, its visits, its audit events): the
same function serves the fire path, the migration's back-fill and `rebuild`, so the facts
are by construction what a from-scratch recount gives.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

from engine.calendar import SHANGHAI
from engine.ports import DeadlineCalendar
from engine.registry import Registry
from engine.repository import Tx
from mediation import aggregates
from mediation.queries import in_params
from mediation.statistics import (
    CONFIRMATION_TRIGGERS,
    LATE_VISIT_ONLY,
    REVOKING_TRIGGER,
    classify,
    standing_outcomes,
)

_CASE = (
    "SELECT spec_id, spec_version, state, resolved_level, category_code, risk_level, overdue, "
    "data, created_at, agreement_effective_at, closed_at, committee_id, org_unit_id, grid_id "
    "FROM cases WHERE id = :id"
)
FACT_COLUMNS = (
    "case_id",
    "registered_at",
    "committee_id",
    "org_unit_id",
    "grid_id",
    "result",
    "resolved_level",
    "category_code",
    "risk_level",
    "overdue",
    "working_days",
    "agreement_effective_at",
    "closed_at",
    "latest_performance",
    "latest_satisfaction",
    "applied",
    "confirmed",
    "rejected",
    "not_accepted",
    "withdrawn",
)
_UPSERT = (
    f"INSERT INTO case_facts ({', '.join(FACT_COLUMNS)}) VALUES "
    f"({', '.join(':' + c for c in FACT_COLUMNS)}) ON CONFLICT (case_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in FACT_COLUMNS[1:])
)


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """One case's row of case_facts (datetimes aware, UTC)."""

    case_id: int
    registered_at: datetime
    committee_id: int
    org_unit_id: int
    grid_id: int | None
    result: str
    resolved_level: str | None
    category_code: str
    risk_level: str
    overdue: bool
    working_days: int | None
    agreement_effective_at: datetime | None
    closed_at: datetime | None
    latest_performance: str | None
    latest_satisfaction: str | None
    applied: bool
    confirmed: bool
    rejected: bool
    not_accepted: bool
    withdrawn: bool


def recount(
    tx: Tx, registry: Registry, calendar: DeadlineCalendar, case_id: int
) -> CaseFacts | None:
    """The case's facts as its stored rows give them now (None: no such case)."""
    row = tx.one(_CASE, {"id": case_id})
    if row is None:
        return None
    spec_id, version, state, resolved, category, risk, overdue, data = row[:8]
    created, effective, closed = (tx.codec.dt_in(v) for v in row[8:11])
    assert created is not None
    result = classify(registry.get(spec_id, version).states.get(state), effective)
    ended = closed if result == "failed" else effective if result == "successful" else None
    days = None
    if ended is not None:
        days = calendar.working_days_between(_local(created), _local(ended))
    performance = satisfaction = None
    for visit_performance, visit_satisfaction in tx.all(
        "SELECT performance, satisfaction FROM visits WHERE case_id = :id ORDER BY visited_at, id",
        {"id": case_id},
    ):
        performance = visit_performance
        satisfaction = visit_satisfaction if visit_satisfaction is not None else satisfaction
    params: dict[str, Any] = {"id": case_id}
    triggers = in_params("t", [*CONFIRMATION_TRIGGERS, REVOKING_TRIGGER], params)
    seen = standing_outcomes(
        t
        for (t,) in tx.all(
            f"SELECT trigger FROM audit_events WHERE case_id = :id AND trigger IN ({triggers}) "
            "ORDER BY seq",
            params,
        )
    )
    return CaseFacts(
        case_id=case_id,
        registered_at=created,
        committee_id=int(row[11]),
        org_unit_id=int(row[12]),
        grid_id=None if row[13] is None else int(row[13]),
        result=result,
        resolved_level=(resolved or "unknown") if result == "successful" else None,
        category_code=category,
        risk_level=risk,
        overdue=bool(overdue) and _overdue_reason(data) != LATE_VISIT_ONLY,
        working_days=days,
        agreement_effective_at=effective,
        closed_at=closed,
        latest_performance=performance,
        latest_satisfaction=satisfaction,
        applied="applied" in seen,
        confirmed="confirmed" in seen,
        rejected="rejected" in seen,
        not_accepted="not_accepted" in seen,
        withdrawn="withdrawn" in seen,
    )


def refresh(
    tx: Tx, registry: Registry, calendar: DeadlineCalendar, case_id: int, *, counts: bool = True
) -> None:
    """Bring the case's facts, and the counts they add to (engine/aggregates.py; not with
    `counts` False, before their table exists), up to date inside the transaction that
    changed the case; nothing is written when nothing changed."""
    facts = recount(tx, registry, calendar, case_id)
    if facts is None:
        return
    before = stored(tx, [case_id]).get(case_id)
    if before == facts:
        return  # most fires: a session recorded, a document signed
    held = {int(u) for (u,) in tx.all(_UNITS_OF, {"id": case_id})}
    params = dict(zip(FACT_COLUMNS, astuple(facts), strict=True))
    for name in ("registered_at", "agreement_effective_at", "closed_at"):
        params[name] = tx.codec.dt_out(params[name])
    tx.execute(_UPSERT, params)
    units = (facts.committee_id, facts.org_unit_id, facts.grid_id)
    now_held = held
    if before is None or (before.committee_id, before.org_unit_id, before.grid_id) != units:
        now_held = _write_units(tx, params, units)
    else:
        tx.execute(_UPDATE_UNITS, {name: params[name] for name in ("case_id", *UNIT_FACTS)})
    if counts:
        aggregates.apply(tx, aggregates.delta(before, held, facts, now_held))


_UNITS_OF = "SELECT unit_id FROM case_fact_units WHERE case_id = :id"


# what a unit's report groups and sums, copied to each of the case's unit rows
UNIT_FACTS = aggregates.FIGURE_FACTS
UNIT_COLUMNS = ("unit_id", "case_id", "registered_at", *UNIT_FACTS)
_UPDATE_UNITS = (
    f"UPDATE case_fact_units SET {', '.join(f'{c} = :{c}' for c in UNIT_FACTS)} "
    "WHERE case_id = :case_id"
)
_INSERT_UNIT = (
    f"INSERT INTO case_fact_units ({', '.join(UNIT_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in UNIT_COLUMNS)})"
)


def _write_units(tx: Tx, facts: dict[str, Any], units: Sequence[int | None]) -> set[int]:
    tx.execute("DELETE FROM case_fact_units WHERE case_id = :id", {"id": facts["case_id"]})
    params: dict[str, Any] = {}
    paths = tx.all(
        f"SELECT path FROM org_units WHERE id IN ({in_params('u', set(units) - {None}, params)})",
        params,
    )
    row = {name: facts[name] for name in UNIT_COLUMNS[1:]}
    found = ancestry(path for (path,) in paths)
    for unit_id in sorted(found):
        tx.execute(_INSERT_UNIT, {**row, "unit_id": unit_id})
    return found


def ancestry(paths: Iterable[str]) -> set[int]:
    """Every unit on the given paths ("/1/4/9/"): the units whose subtree holds them."""
    return {int(part) for path in paths for part in path.strip("/").split("/") if part}


def stored(tx: Tx, case_ids: Sequence[int] | None = None) -> dict[int, CaseFacts]:
    """The facts as stored, for the cases given (None: every case)."""
    params: dict[str, Any] = {}
    where = "" if case_ids is None else f" WHERE case_id IN ({in_params('c', case_ids, params)})"
    rows = tx.all(f"SELECT {', '.join(FACT_COLUMNS)} FROM case_facts{where}", params)
    found = {}
    for row in rows:
        values = list(row)
        for index in (1, 11, 12):
            values[index] = tx.codec.dt_in(values[index])
        for index in (9, 15, 16, 17, 18, 19):
            values[index] = bool(values[index])
        found[int(values[0])] = CaseFacts(*values)
    return found


def stored_units(tx: Tx, case_id: int) -> set[int]:
    """The units whose reports count the case, each row checked to carry the case's facts."""
    rows = tx.all(
        f"SELECT unit_id, {', '.join(UNIT_FACTS)} FROM case_fact_units WHERE case_id = :id",
        {"id": case_id},
    )
    facts = stored(tx, [case_id]).get(case_id)
    expected = None if facts is None else [getattr(facts, name) for name in UNIT_FACTS]
    found = set()
    for unit_id, *values in rows:
        flags = {UNIT_FACTS.index(n) for n in ("overdue", *UNIT_FACTS[-5:])}
        held = [bool(v) if index in flags else v for index, v in enumerate(values)]
        if held != expected:
            raise AssertionError(f"case {case_id}: unit {unit_id} holds {held}, not {expected}")
        found.add(int(unit_id))
    return found


def rebuild(tx: Tx, registry: Registry, calendar: DeadlineCalendar, *, counts: bool = True) -> int:
    """Recount every case's facts and then the counts (the migrations' back-fill: migration
    0012 without the counts, whose table comes later); returns how many cases."""
    tx.execute("DELETE FROM case_fact_units")
    tx.execute("DELETE FROM case_facts")
    ids = [int(i) for (i,) in tx.all("SELECT id FROM cases ORDER BY id")]
    for case_id in ids:
        refresh(tx, registry, calendar, case_id, counts=False)
    if counts:
        aggregates.rebuild(tx)
    return len(ids)


def _local(value: datetime) -> Any:
    return value.astimezone(SHANGHAI).date()


def _overdue_reason(data: Any) -> str | None:
    loaded = json.loads(data) if isinstance(data, str) and data else data
    return loaded.get("overdue_reason") if isinstance(loaded, dict) else None
