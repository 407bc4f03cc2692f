"""Per-case facts for R-STATS (tables case_facts and case_fact_units), kept current by the
fire that changes a case, in its transaction, with the per-unit, per-day counts they add to
(mediation/aggregates.py), so that a report reads counts instead of each case's history.

`recount` gives one case's facts from what is stored (its row, its visits, its audit events);
`refresh` stores them (case opening, the migrations' back-fill, `rebuild`). A fire does not
recount: `after_fire` derives what it moved from the fire itself (the case as loaded, the
columns its actions wrote, the state it entered) and reads history only for the transitions
that can move a history fact, as a table built once per spec version says (`SpecMoves`);
tests/engine/test_facts_incremental.py holds it to a recount after every step.

Hand SQL on purpose: the facts a fire moves are written in the fire's transaction, measured
by bench.engine (its "moving a fact every fire" column).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

from engine.calendar import SHANGHAI
from engine.machine import CompiledSpec
from engine.ports import DeadlineCalendar
from engine.registry import Registry
from engine.repository import Tx
from engine.spec import StateSpec, TransitionSpec
from mediation import aggregates
from mediation.queries import in_params
from mediation.records import MediationCase
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


OUTCOME_FACTS = aggregates.CONFIRMATION  # applied, confirmed, ...: a flag each


class CaseInputs(NamedTuple):
    """What the case's own row gives its facts: equal inputs, equal facts (working days and
    the resolved level follow from them), so a fire compares these, in memory, before and
    after it to know whether the row's part of the facts moved."""

    result: str
    resolved_level: str | None  # the column: the fact is it, or "unknown", when successful
    category_code: str
    risk_level: str
    overdue: bool  # the fact: flagged, and not for a late visit only
    agreement_effective_at: datetime | None
    closed_at: datetime | None
    committee_id: int
    org_unit_id: int
    grid_id: int | None

    def facts(self, created: datetime, calendar: DeadlineCalendar) -> dict[str, Any]:
        """The facts these give, by name (every fact but the case id, its registration and
        those of its visits and confirmation events)."""
        result = self.result
        ended = (
            self.closed_at
            if result == "failed"
            else self.agreement_effective_at
            if result == "successful"
            else None
        )
        days = None
        if ended is not None:
            days = calendar.working_days_between(_local(created), _local(ended))
        return {
            "committee_id": self.committee_id,
            "org_unit_id": self.org_unit_id,
            "grid_id": self.grid_id,
            "result": result,
            "resolved_level": (self.resolved_level or "unknown")
            if result == "successful"
            else None,
            "category_code": self.category_code,
            "risk_level": self.risk_level,
            "overdue": self.overdue,
            "working_days": days,
            "agreement_effective_at": self.agreement_effective_at,
            "closed_at": self.closed_at,
        }


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
    seen = _outcomes(tx, case_id)
    performance, satisfaction = _latest_visit(tx, case_id)
    inputs = CaseInputs(
        result=classify(registry.get(spec_id, version).states.get(state), effective),
        resolved_level=resolved,
        category_code=category,
        risk_level=risk,
        overdue=bool(overdue) and _overdue_reason(data) != LATE_VISIT_ONLY,
        agreement_effective_at=effective,
        closed_at=closed,
        committee_id=int(row[11]),
        org_unit_id=int(row[12]),
        grid_id=None if row[13] is None else int(row[13]),
    )
    return CaseFacts(
        case_id=case_id,
        registered_at=created,
        **inputs.facts(created, calendar),
        latest_performance=performance,
        latest_satisfaction=satisfaction,
        applied="applied" in seen,
        confirmed="confirmed" in seen,
        rejected="rejected" in seen,
        not_accepted="not_accepted" in seen,
        withdrawn="withdrawn" in seen,
    )


def _latest_visit(tx: Tx, case_id: int) -> tuple[str | None, str | None]:
    """(performance, satisfaction) of the case's latest visit, satisfaction from the latest
    visit that recorded one."""
    performance = satisfaction = None
    for visit_performance, visit_satisfaction in tx.all(
        "SELECT performance, satisfaction FROM visits WHERE case_id = :id ORDER BY visited_at, id",
        {"id": case_id},
    ):
        performance = visit_performance
        satisfaction = visit_satisfaction if visit_satisfaction is not None else satisfaction
    return performance, satisfaction


def _outcomes(tx: Tx, case_id: int) -> set[str]:
    """The confirmation outcomes standing, from the case's confirmation events in order."""
    params: dict[str, Any] = {"id": case_id}
    triggers = in_params("t", [*CONFIRMATION_TRIGGERS, REVOKING_TRIGGER], params)
    return standing_outcomes(
        t
        for (t,) in tx.all(
            f"SELECT trigger FROM audit_events WHERE case_id = :id AND trigger IN ({triggers}) "
            "ORDER BY seq",
            params,
        )
    )


def refresh(
    tx: Tx, registry: Registry, calendar: DeadlineCalendar, case_id: int, *, counts: bool = True
) -> None:
    """Bring the case's facts, and the counts they add to (mediation/aggregates.py; not with
    `counts` False, before their table exists), up to date inside the transaction that
    changed the case; nothing is written when nothing changed."""
    facts = recount(tx, registry, calendar, case_id)
    if facts is None:
        return
    before = stored(tx, [case_id]).get(case_id)
    if before == facts:
        return  # most fires: a session recorded, a document signed
    _write(tx, before, facts, counts=counts)


# --- a fire's part: what it moved, from the fire itself ---------------------------------

# the case columns the facts read that a transition's actions may write (`data` counts only
# through the overdue reason, so only while the case is flagged overdue)
_COLUMN_INPUTS = frozenset(
    {
        "resolved_level",
        "category_code",
        "risk_level",
        "overdue",
        "agreement_effective_at",
        "closed_at",
        "org_unit_id",
        "grid_id",
    }
)
# the actions that record a visit (R-FOLLOWUP), whose latest one gives two facts
VISIT_ACTIONS = frozenset({"record_visit"})


@dataclass(frozen=True, slots=True)
class Moves:
    """What one transition can move of a case's facts beyond the columns its actions write."""

    result: bool  # its destination can classify the case otherwise than its source
    visits: bool  # it records a visit: the latest visit is read again
    outcome: str | None  # the confirmation outcome it adds (R-STATS confirmation)
    revokes: bool  # an upheld objection (R-JC-OBJECT): the standing outcomes are read again

    @property
    def history(self) -> bool:
        return self.visits or self.revokes or self.outcome is not None


class SpecMoves:
    """For one spec version, built once: what each of its transitions (and each expiry
    action a timer fires) can move, so a fire that can move nothing does no fact work."""

    def __init__(self, compiled: CompiledSpec) -> None:
        self.states = compiled.states
        self._result: dict[tuple[str, str], bool] = {}
        self._history: dict[tuple[str, tuple[str, ...]], Moves] = {}
        for source in compiled.states:
            for bound in compiled.transitions_from(source).values():
                self.of(source, bound.spec.dest or source, bound.spec)
        for bound in compiled.expiry_actions.values():
            self._of_history(bound.spec)

    def of(self, source: str, dest: str, transition: TransitionSpec) -> Moves:
        history = self._of_history(transition)
        if source == dest:
            return history
        result = self._result.get((source, dest))
        if result is None:
            result = self._result[(source, dest)] = _classes(self.states.get(source)) != _classes(
                self.states.get(dest)
            )
        return (
            Moves(result, history.visits, history.outcome, history.revokes) if result else history
        )

    def _of_history(self, transition: TransitionSpec) -> Moves:
        key = (transition.trigger, transition.actions)
        found = self._history.get(key)
        if found is None:
            found = self._history[key] = Moves(
                result=False,
                visits=not VISIT_ACTIONS.isdisjoint(transition.actions),
                outcome=CONFIRMATION_TRIGGERS.get(transition.trigger),
                revokes=transition.trigger == REVOKING_TRIGGER,
            )
        return found


def _classes(state: StateSpec | None) -> tuple[str, str]:
    """How a case in `state` is classified without an agreement and with one."""
    return classify(state, None), classify(state, _AN_INSTANT)


_AN_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
_TABLES: weakref.WeakKeyDictionary[Registry, dict[tuple[str, int], SpecMoves]] = (
    weakref.WeakKeyDictionary()
)


def spec_moves(registry: Registry, spec_id: str, version: int) -> SpecMoves:
    """The table of one spec version, built the first time the registry is asked for any."""
    tables = _TABLES.get(registry)
    if tables is None:
        tables = _TABLES[registry] = {c.key: SpecMoves(c) for c in registry.all()}
    table = tables.get((spec_id, version))
    if table is None:  # a version loaded after the others (tests load flows one by one)
        table = tables[(spec_id, version)] = SpecMoves(registry.get(spec_id, version))
    return table


def after_fire(
    tx: Tx,
    registry: Registry,
    calendar: DeadlineCalendar,
    case: MediationCase,
    transition: TransitionSpec,
    dest: str,
    changes: Mapping[str, Any],
) -> None:
    """R-STATS for a fire, in its transaction, after its case update and event: the facts
    and counts as `refresh` would leave them, derived from the fire itself — `case` as it
    was loaded, the columns its actions `changes`, the state it entered — reading only the
    history a fact depends on (visits, confirmation events) when the transition can move it.
    Most fires change no fact and cost no statement."""
    moves = spec_moves(registry, case.spec_id, case.spec_version).of(case.state, dest, transition)
    if not (moves.result or moves.history or _may_touch(case, changes)):
        return  # a session recorded, a document signed, a party's consent
    states = registry.get(case.spec_id, case.spec_version).states
    old = _inputs(case, states.get(case.state), {})
    new = _inputs(case, states.get(dest), changes)
    if old == new and not moves.history:
        return  # nothing the facts hold moved (a flag for a late visit only, not counted)
    before = stored(tx, [case.id]).get(case.id)
    if before is None:  # a case the facts never held: count it from scratch
        refresh(tx, registry, calendar, case.id)
        return
    fields = new.facts(case.created_at, calendar) if new != old else {}
    if moves.visits:
        fields["latest_performance"], fields["latest_satisfaction"] = _latest_visit(tx, case.id)
    if moves.revokes:
        standing = _outcomes(tx, case.id)
        fields.update({name: name in standing for name in OUTCOME_FACTS})
    elif moves.outcome is not None:
        fields[moves.outcome] = True  # reached, and a ruling stands until revoked
    after = replace(before, **fields)
    if after != before:
        _write(tx, before, after)


def _may_touch(case: MediationCase, changes: Mapping[str, Any]) -> bool:
    """Whether the fire wrote a column the facts read with a value it did not have."""
    for name in _COLUMN_INPUTS.intersection(changes):
        if changes[name] != getattr(case, name):
            return True
    if case.overdue and "data" in changes:
        return _overdue_reason(changes["data"]) != _overdue_reason(case.data)
    return False


def _inputs(case: MediationCase, state: StateSpec | None, changes: Mapping[str, Any]) -> CaseInputs:
    get = changes.get
    effective = get("agreement_effective_at", case.agreement_effective_at)
    overdue = bool(get("overdue", case.overdue))
    return CaseInputs(
        result=classify(state, effective),
        resolved_level=get("resolved_level", case.resolved_level),
        category_code=get("category_code", case.category_code),
        risk_level=get("risk_level", case.risk_level),
        overdue=overdue and _overdue_reason(get("data", case.data)) != LATE_VISIT_ONLY,
        agreement_effective_at=effective,
        closed_at=get("closed_at", case.closed_at),
        committee_id=case.committee_id,
        org_unit_id=get("org_unit_id", case.org_unit_id),
        grid_id=get("grid_id", case.grid_id),
    )


def _write(tx: Tx, before: CaseFacts | None, after: CaseFacts, *, counts: bool = True) -> None:
    """Store the case's new facts, their copies on its units' rows and (with `counts`) the
    difference they make to the counts."""
    params = _params(tx, after)
    tx.execute(_UPSERT, params)
    units = (after.committee_id, after.org_unit_id, after.grid_id)
    if before is None or (before.committee_id, before.org_unit_id, before.grid_id) != units:
        held = {int(u) for (u,) in tx.all(_DELETE_UNITS + " RETURNING unit_id", params)}
        now_held = _insert_units(tx, params, units)
    elif any(getattr(before, name) != getattr(after, name) for name in UNIT_FACTS):
        unit_params = {name: params[name] for name in ("case_id", *UNIT_FACTS)}
        returned = tx.all(_UPDATE_UNITS + " RETURNING unit_id", unit_params)
        held = now_held = {int(u) for (u,) in returned}
    else:
        return  # no figure moved (a closing date beside an unchanged result): counts stand
    if counts:
        aggregates.apply(tx, aggregates.delta(before, held, after, now_held))


def _params(tx: Tx, facts: CaseFacts) -> dict[str, Any]:
    params = {name: getattr(facts, name) for name in FACT_COLUMNS}  # astuple deep-copies
    for name in ("registered_at", "agreement_effective_at", "closed_at"):
        params[name] = tx.codec.dt_out(params[name])
    return params


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


_DELETE_UNITS = "DELETE FROM case_fact_units WHERE case_id = :case_id"


def _insert_units(tx: Tx, facts: dict[str, Any], units: Sequence[int | None]) -> set[int]:
    """The case's unit rows, one for every unit above its committee, org unit and grid."""
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
