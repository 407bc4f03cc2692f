"""R-STATS from per-case facts: after any random run of registrations, fires by any actor and
timer ticks, every case's stored facts equal a from-scratch recount, the per-unit counts
kept by differences equal the facts grouped from scratch, and the reports
aggregated from them give the very figures the old count (every case, visit and event read
in Python: tests/engine/statistics_recount.py) gives, for every unit and period."""

from __future__ import annotations

import contextlib
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from api.wiring import make_sa_engine
from engine.errors import EngineError
from engine.ports import FixedClock
from engine.timers import TimerService
from mediation import aggregates, facts, queries
from mediation.engine import MediationEngine
from mediation.models import METADATA
from mediation.statistics import case_statistics, subtree_statistics
from tests.conftest import START, make_engine
from tests.engine import statistics_recount
from tests.engine.test_stateful import ACTORS, CALENDAR, _payloads
from tests.world import build_world

UNITS = ("district", "street", "community", "committee", "room", "grid", "other_committee")
PERIODS = (
    (date(2026, 1, 1), date(2026, 12, 31)),
    (START.date(), START.date() + timedelta(days=3)),
    (START.date() + timedelta(days=4), date(2027, 12, 31)),
)


class FactsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        self.sa_engine: sa.Engine = make_sa_engine(f"sqlite:///{Path(self._dir.name) / 'f.db'}")
        METADATA.create_all(self.sa_engine)
        self.world = build_world(self.sa_engine)
        self.clock = FixedClock(START)
        self.engine: MediationEngine = make_engine(self.sa_engine, self.clock, CALENDAR)
        self.timers = TimerService(self.engine)
        self.cases: list[int] = []
        self.payloads: dict[int, dict[str, list[dict[str, Any]]]] = {}
        self.steps = 0

    def teardown(self) -> None:
        self.sa_engine.dispose()
        self._dir.cleanup()

    @precondition(lambda self: len(self.cases) < 4)
    @rule(
        committee=st.sampled_from(["committee", "room", "other_committee"]),
        risk=st.sampled_from(["blue", "yellow", "red"]),
        category=st.sampled_from(["neighbour", "marriage_family", "contract"]),
        version=st.sampled_from([1, 2]),
    )
    def register(self, committee: str, risk: str, category: str, version: int) -> None:
        intake = self.world.intake(
            committee_id=self.world.units[committee],
            risk_level=risk,
            category_code=category,
            spec_version=version,
        )
        try:
            case_id = self.engine.open_case(intake, self.world.actors["mediator"]).case_id
        except EngineError:
            return
        with self.engine.db.transaction(write=False) as tx:
            party_ids = [p.party_id for p in tx.case_parties(case_id)]
        self.cases.append(case_id)
        self.payloads[case_id] = _payloads(self.world, party_ids)

    @precondition(lambda self: bool(self.cases))
    @rule(
        which=st.integers(min_value=0, max_value=3),
        actor=st.sampled_from(ACTORS),
        trigger_index=st.integers(min_value=0, max_value=200),
        payload_index=st.integers(min_value=0, max_value=5),
        days=st.integers(min_value=0, max_value=12),
    )
    def fire(
        self, which: int, actor: str, trigger_index: int, payload_index: int, days: int
    ) -> None:
        case_id = self.cases[which % len(self.cases)]
        supervisor = self.world.actors["supervisor"]
        case = self.engine.get_case(case_id, supervisor)
        options = sorted(o.trigger for o in self.engine.available_triggers(case_id, supervisor))
        if options:
            trigger = options[trigger_index % len(options)]
            candidates = self.payloads[case_id].get(trigger, [{}])
            payload = candidates[payload_index % len(candidates)]
            with contextlib.suppress(EngineError):  # refused fires belong to the run too
                self.engine.fire(
                    case_id, trigger, self.world.actors[actor], case.version, payload, "理由"
                )
        self.clock.set(self.clock.now() + timedelta(days=days))
        self.steps += 1

    @rule(days=st.integers(min_value=1, max_value=40))
    def tick(self, days: int) -> None:
        """Deadlines pass: the tick fires expiries (overdue flags, lapsed windows)."""
        self.clock.set(self.clock.now() + timedelta(days=days))
        self.timers.fire_due()

    @invariant()
    def facts_equal_a_recount(self) -> None:
        engine = self.engine
        with engine.db.transaction(write=False) as tx:
            stored = facts.stored(tx)
            assert set(stored) == set(self.cases)
            for case_id in self.cases:
                assert stored[case_id] == facts.recount(
                    tx, engine.registry, engine.calendar, case_id
                )
                record = tx.load_case(case_id)
                assert record is not None
                paths = [
                    row.path
                    for unit in {record.committee_id, record.org_unit_id, record.grid_id}
                    if unit is not None and (row := tx.org_unit(unit)) is not None
                ]
                assert facts.stored_units(tx, case_id) == facts.ancestry(paths)

    @invariant()
    def counts_equal_a_recount_from_the_facts(self) -> None:
        """The per-unit, per-day and per-month counts the fires kept by differences are
        what grouping every case's facts from scratch gives."""
        with self.engine.db.transaction(write=False) as tx:
            assert aggregates.stored(tx) == aggregates.expected(tx)

    @precondition(lambda self: self.steps % 4 == 0)
    @invariant()
    def reports_equal_the_old_count(self) -> None:
        engine, units = self.engine, self.world.units
        with engine.db.transaction(write=False) as tx:
            for start, end in PERIODS:
                subtrees = {
                    name: queries.subtree_ids(tx, [unit.path])
                    for name in UNITS
                    if (unit := queries.org_unit(tx, units[name])) is not None
                }
                grouped = subtree_statistics(
                    tx, start=start, end=end, unit_ids=[units[n] for n in subtrees]
                )
                for scope in [None, *subtrees.values()]:
                    expected = statistics_recount.case_statistics(
                        tx, engine.registry, engine.calendar, start=start, end=end, unit_ids=scope
                    )
                    found = case_statistics(
                        tx, engine.registry, engine.calendar, start=start, end=end, unit_ids=scope
                    )
                    assert found.figures() == expected.figures()
                for name, scope in subtrees.items():
                    expected = statistics_recount.case_statistics(
                        tx, engine.registry, engine.calendar, start=start, end=end, unit_ids=scope
                    )
                    assert grouped[units[name]].figures() == expected.figures(), name


FactsMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_r_stats_facts_equal_a_recount_after_random_flows = FactsMachine.TestCase
