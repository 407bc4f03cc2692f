"""R-STATS kept by each fire from the fire itself (facts.after_fire): after every step of long
random runs — registrations on every flow, fires of whatever the case's state offers by an
actor holding the transition's role, timer ticks — the stored facts and counts are exactly
what a recount gives, and every few steps what `rebuild` writes from scratch, on SQLite and
PostgreSQL. A fire that can move no fact runs no statement for the facts."""

from __future__ import annotations

import ast
import contextlib
import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.calendar import SHANGHAI
from engine.errors import EngineError
from engine.ports import FixedClock
from engine.timers import TimerService
from mediation import aggregates, facts
from mediation.engine import MediationEngine
from mediation.models import METADATA
from tests.conftest import START, make_engine
from tests.engine.test_stateful import CALENDAR
from tests.rules import rule
from tests.world import World, build_world

ROLE_ACTORS = {  # who fires a transition that names the role
    "mediator": ["mediator", "mediator2"],
    "central_household": ["household"],
    "supervisor": ["supervisor"],
    "judge": ["judge", "judge2"],
    "court_clerk": ["clerk"],
    "lawyer": ["lawyer"],
    "police": ["police"],
    "system": ["system"],
}
FLOWS = [
    ("standard", 1),
    ("standard", 2),
    ("standard", 2),
    ("court_referral", 2),
    ("court_entrusted", 1),
]


# detours a run would otherwise take most of the time, and the way to a ruling
RARELY = {
    "record_oral_agreement": 0.3,
    "reopen": 0.3,
    "correct_address": 0.3,
    "set_grid": 0.3,
    "waive_confirmation": 0.3,
    "start_followup": 0.3,
    "report_police": 0.3,
    **dict.fromkeys(
        [
            "prepare_confirmation_application",
            "apply_confirmation",
            "accept_application",
            "confirm",
            "reject",
            "record_objection",
            "uphold_objection",
        ],
        4.0,
    ),
    "sign_confirmation_application": 12.0,
}


class _Rollback(Exception):
    pass


def _payloads(world: World, parties: list[int], now: datetime) -> dict[str, list[Any]]:
    """Candidate payloads by trigger, enough for random runs to reach agreements, rulings,
    objections and visits."""
    applicant, respondent = parties[:2]
    term = {
        "obligor": respondent,
        "obligee": applicant,
        "content": "赔偿3000元",
        "amount": 3000,
        "method": "银行转账",
        "place": "村委会",
        "due_date": (now + timedelta(days=90)).date().isoformat(),
    }
    agreement = {
        "facts": "滴水",
        "issues": ["费用"],
        "responsibilities": [
            {"party_id": respondent, "responsibility": "承担主要责任"},
            {"party_id": applicant, "responsibility": "承担次要责任"},
        ],
        "terms": [term],
    }
    court = world.units["court"]
    today = now.astimezone(SHANGHAI).date().isoformat()
    units = world.units
    return {
        "record_consent": [
            {"party_id": p, "source": "written", "notice_acknowledged": True} for p in parties
        ],
        "party_refuses": [{"party_id": respondent, "source": "oral"}],
        "assign": [
            {"user_id": world.users[u], "role": r, "parties_consented": True}
            for u, r in [("mediator", "mediator"), ("lawyer", "lawyer"), ("judge", "judge")]
        ],
        "reassess_risk": [{"risk_level": level} for level in ("red", "yellow", "blue")],
        "report_police": [{"station": "枫桥派出所", "summary": "可能激化"}],
        "record_extension_consent": [{"party_id": p, "source": "written"} for p in parties],
        "extend_deadline": [{"days": 10, "parties_consented": True}, {"days": 10}],
        "accept_at_room": [{"room_id": units["room"]}],
        "escalate": [{"room_id": units["room"]}, {}],
        "schedule_session": [{"at": "2026-03-10T09:00:00+08:00", "place": "调解室"}],
        "give_legal_opinion": [{"opinion": "合法", "hours": 1}],
        "reject_inadmissible": [{"referral_advice": "向法院起诉"}],
        "record_session": [
            {"place": "调解室", "record": "记录", "read_back": True, "signed_by": parties},
            {"place": "调解室", "record": "记录"},
        ],
        "draft_agreement": [agreement],
        "revise_agreement": [agreement],
        "record_oral_agreement": [{"content": "互相道歉"}],
        "terminate": [{"termination_reason": "positions_apart"}],
        "sign_party": [{"party_id": p, "method": "electronic"} for p in parties],
        "sign_mediator": [{"method": "electronic"}],
        "prepare_confirmation_application": [{"applicants": parties, "court_id": court}],
        "sign_confirmation_application": [{"party_id": p} for p in parties],
        "apply_confirmation": [{"applicants": parties, "court_id": court}],
        "waive_confirmation": [{"party_id": p, "statement": "放弃"} for p in parties],
        "extend_review": [{"approved_by": "院长"}],
        "reject": [{"ground": "unclear"}],
        "record_objection": [
            {
                "objector_kind": "party",
                "party_id": respondent,
                "received_on": today,
                "lodged_on": today,
                "grounds": "非本人真实意思表示",
            }
        ],
        "record_visit": [
            {"performance": "performed", "satisfaction": "satisfied"},
            {"performance": "not"},
            {"performance": "partly", "satisfaction": "dissatisfied"},
        ],
        "close": [{"summary": "履行完毕"}],
        "set_grid": [{"grid_id": units["grid"]}],
        "correct_address": [{"party_id": applicant, "address": "枫桥镇枫源村3组16号"}],
    }


class Run:
    """One random run on one database: a few cases, fires and ticks, the facts checked
    against a recount and a rebuild after every step."""

    def __init__(self, sa_engine: sa.Engine, seed: int) -> None:
        self.world = build_world(sa_engine)
        self.clock = FixedClock(START)
        self.engine: MediationEngine = make_engine(sa_engine, self.clock, CALENDAR)
        self.timers = TimerService(self.engine)
        self.rng = random.Random(seed)
        self.cases: list[int] = []
        self.parties: dict[int, list[int]] = {}
        self.fired: Counter[str] = Counter()
        self.ended: set[int] = set()  # in a final state

    def step(self) -> None:
        rng = self.rng
        roll = rng.random()
        live = [c for c in self.cases if c not in self.ended]
        if len(live) < 3 and len(self.cases) < 16 and (not live or roll < 0.1):
            self.register()
        elif roll < 0.05:
            self.clock.set(self.clock.now() + timedelta(days=rng.randint(1, 20)))
            self.timers.fire_due()
            self.fired["(tick)"] += 1
        elif live:
            self.fire(rng.choice(live))
            self.clock.set(self.clock.now() + timedelta(hours=rng.randint(0, 60)))

    def register(self) -> None:
        spec_id, version = self.rng.choice(FLOWS)
        intake = self.world.intake(
            spec_id=spec_id,
            spec_version=version,
            committee_id=self.world.units[self.rng.choice(["committee"] * 4 + ["other_committee"])],
            risk_level=self.rng.choice(["blue", "yellow", "red"]),
            category_code=self.rng.choice(["neighbour", "contract"]),
        )
        try:
            case_id = self.engine.open_case(intake, self.world.actors["mediator"]).case_id
        except EngineError:
            return
        with self.engine.db.transaction(write=False) as tx:
            self.parties[case_id] = [p.party_id for p in tx.case_parties(case_id)]
        self.cases.append(case_id)
        if self.rng.random() < 0.8:  # the parties consent at once (R-CONSENT), mostly
            for party_id in self.parties[case_id]:
                payload = {"party_id": party_id, "source": "written", "notice_acknowledged": True}
                with contextlib.suppress(EngineError):  # a flow where they consented earlier
                    version = self.engine.get_case(case_id, self.world.actors["supervisor"]).version
                    self.engine.fire(
                        case_id, "record_consent", self.world.actors["mediator"], version, payload
                    )

    def fire(self, case_id: int) -> None:
        """A few tries at what the case's state offers, onward moves first, an end rarely,
        so that runs reach agreements, rulings and visits."""
        rng, engine = self.rng, self.engine
        case = engine.get_case(case_id, self.world.actors["supervisor"])
        compiled = engine.registry.get(case.spec_id, case.spec_version)
        transitions = sorted(compiled.transitions_from(case.state).items())
        if compiled.states[case.state].final:
            self.ended.add(case_id)  # its last fires (a visit after the end) rarely
            if rng.random() < 0.8:
                return
        weights = []
        for _, bound in transitions:
            dest = compiled.states[bound.spec.dest or case.state]
            weight = 0.1 if dest.final else 3.0 if dest.name != case.state else 1.0
            weights.append(weight * RARELY.get(bound.spec.trigger, 1.0))
        payloads = _payloads(self.world, self.parties[case_id], self.clock.now())
        for _ in range(min(6, len(transitions))):
            trigger, bound = rng.choices(transitions, weights)[0]
            actors = [a for r in bound.spec.roles for a in ROLE_ACTORS.get(str(r), [])]
            actor = self.world.actors[rng.choice(actors or ["mediator"])]
            payload = rng.choice(payloads.get(trigger, [{}]))
            try:
                engine.fire(case_id, trigger, actor, case.version, payload, "理由")
            except EngineError:
                continue
            self.fired[trigger] += 1
            return

    def check(self, *, rebuild: bool) -> None:
        """The stored facts and counts are a recount's (and, with `rebuild`, what `rebuild`
        writes from scratch)."""
        engine = self.engine
        with engine.db.transaction(write=False) as tx:
            kept, counts = facts.stored(tx), aggregates.stored(tx)
            assert set(kept) == set(self.cases)
            for case_id in self.cases:
                assert kept[case_id] == facts.recount(tx, engine.registry, engine.calendar, case_id)
            assert counts == aggregates.expected(tx)
            if not rebuild:
                return
            units = {case_id: facts.stored_units(tx, case_id) for case_id in self.cases}
        with pytest.raises(_Rollback) as rolled_back:
            self.rebuild_and_roll_back()
        assert rolled_back.value.args == (kept, counts, units)

    def rebuild_and_roll_back(self) -> None:
        """`rebuild` in a transaction that is rolled back, raising what it wrote."""
        engine = self.engine
        with engine.db.transaction(write=True) as tx:
            facts.rebuild(tx, engine.registry, engine.calendar)
            units = {case_id: facts.stored_units(tx, case_id) for case_id in self.cases}
            raise _Rollback(facts.stored(tx), aggregates.stored(tx), units)


# what the runs must have fired, so that every kind of fact a fire moves was moved
POLICE = {"station": "枫桥派出所", "summary": "可能激化"}
MOVERS = {
    "reassess_risk",  # a column
    "accept_at_room",  # the org unit: the case's unit rows rewritten
    "apply_seal",  # successful: result, resolved level, working days
    "terminate",  # failed
    "record_visit",  # the latest visit
    "apply_confirmation",  # a confirmation outcome
    "confirm",
    "reject",
    "uphold_objection",  # a ruling revoked
    "(tick)",
}


SEEDS, STEPS, REBUILD_EVERY = 5, 400, 8  # recounted after every step


@rule("R-STATS")
def test_r_stats_fires_keep_facts_and_counts_equal_to_a_recount_at_every_step(
    any_sa_engine: sa.Engine,
) -> None:
    fired: Counter[str] = Counter()
    for seed in range(SEEDS):
        if seed:  # a fresh world per seed
            _reset(any_sa_engine)
        run = Run(any_sa_engine, seed)
        for step in range(1, STEPS + 1):
            run.step()
            run.check(rebuild=step % REBUILD_EVERY == 0)
        fired.update(run.fired)
    assert set(fired) >= MOVERS, f"never fired: {sorted(MOVERS - set(fired))}"


def _reset(sa_engine: sa.Engine) -> None:
    METADATA.drop_all(sa_engine)
    METADATA.create_all(sa_engine)


@contextlib.contextmanager
def _statements(engine: MediationEngine) -> Iterator[list[str]]:
    """The text of every statement the engine runs meanwhile."""
    seen: list[str] = []
    sql: Callable[[str], str] = engine.db.sql

    def counting(text: str) -> str:
        seen.append(text)
        return sql(text)

    engine.db.sql = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del engine.db.sql


@rule("R-STATS")
def test_a_fire_that_moves_no_fact_runs_no_statement_for_the_facts(
    sa_engine: sa.Engine, clock: FixedClock
) -> None:
    world = build_world(sa_engine)
    engine = make_engine(sa_engine, clock, CALENDAR)
    mediator = world.actors["mediator"]
    case_id = engine.open_case(world.intake(risk_level="blue"), mediator).case_id
    with _statements(engine) as seen:
        engine.fire(case_id, "reassess_risk", mediator, 1, {"risk_level": "blue"}, "复核")
        assert len(seen) == 3  # the case, its update and its event: as the raw driver
        engine.fire(case_id, "report_police", mediator, 2, POLICE)
        assert not [s for s in seen if "case_fact" in s or "unit_period" in s or "visits" in s]
        seen.clear()
        engine.fire(case_id, "reassess_risk", mediator, 3, {"risk_level": "red"}, "复核")
        assert any("unit_period_counts" in s for s in seen)  # a fact moved: counted
    with engine.db.transaction(write=False) as tx:
        (kept,) = facts.stored(tx, [case_id]).values()
        assert kept.risk_level == "red"
        assert kept == facts.recount(tx, engine.registry, engine.calendar, case_id)
        assert aggregates.stored(tx) == aggregates.expected(tx)


def test_every_action_that_records_a_visit_is_known_to_the_facts() -> None:
    """VISIT_ACTIONS is what tells a fire to read the visits again: an action calling
    `ctx.add_visit` that it does not name would leave the latest visit's facts stale."""
    recording = set()
    for file in (Path(__file__).parents[2] / "workflows").rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            calls = {
                n.func.attr
                for n in ast.walk(node)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            }
            if "add_visit" not in calls:
                continue
            names = [
                d.args[0].value
                for d in node.decorator_list
                if isinstance(d, ast.Call)
                and isinstance(d.func, ast.Attribute)
                and d.func.attr == "action"
                and d.args
                and isinstance(d.args[0], ast.Constant)
            ]
            assert names, f"{file}: {node.name} records a visit outside an action"
            recording.update(names)
    assert recording
    assert recording <= facts.VISIT_ACTIONS


@rule("R-STATS")
def test_an_overdue_reason_written_alone_moves_the_overdue_fact(
    sa_engine: sa.Engine, clock: FixedClock
) -> None:
    """No flow's action rewrites the reason without the flag today; one that did must still
    move the fact (a case flagged only for a late visit is not counted overdue)."""
    world = build_world(sa_engine)
    engine = make_engine(sa_engine, clock, CALENDAR)
    case_id = engine.open_case(world.intake(), world.actors["mediator"]).case_id
    registry, calendar = engine.registry, engine.calendar
    with engine.db.transaction(write=True) as tx:
        tx.execute(
            "UPDATE cases SET overdue = :yes, data = :data WHERE id = :id",
            {"yes": True, "data": '{"overdue_reason": "mediation_limit"}', "id": case_id},
        )
        facts.refresh(tx, registry, calendar, case_id)
        (flagged,) = facts.stored(tx, [case_id]).values()
        case = tx.load_case(case_id)
        assert case is not None
        assert flagged.overdue
        police = registry.get(case.spec_id, case.spec_version).transition(
            case.state, "report_police"
        )
        assert police is not None
        changes = {"data": {**case.data, "overdue_reason": "visit"}}
        tx.execute(
            "UPDATE cases SET data = :data WHERE id = :id",
            {"data": json.dumps(changes["data"]), "id": case_id},
        )
        facts.after_fire(tx, registry, calendar, case, police.spec, case.state, changes)
        (kept,) = facts.stored(tx, [case_id]).values()
        assert not kept.overdue
        assert kept == facts.recount(tx, registry, calendar, case_id)
        assert aggregates.stored(tx) == aggregates.expected(tx)
