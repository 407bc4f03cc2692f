"""Random actors firing random triggers never reach an undeclared state, never bypass a guard
or a role, bump the version exactly once per success, and the audit chain always verifies."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from api.wiring import make_sa_engine
from engine.calendar import WorkingCalendar
from engine.errors import EngineError
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from mediation.models import METADATA
from tests.conftest import START, make_engine
from tests.world import build_world

CALENDAR = WorkingCalendar.from_chinesecalendar()
ACTORS = [
    "household",
    "mediator",
    "mediator2",
    "lawyer",
    "judge",
    "judge2",
    "clerk",
    "police",
    "supervisor",
    "outsider",
    "system",
]


def _payloads(world: Any, party_ids: list[int]) -> dict[str, list[dict[str, Any]]]:
    applicant, respondent = party_ids
    term = {
        "obligor": respondent,
        "obligee": applicant,
        "content": "赔偿3000元",
        "amount": 3000,
        "method": "银行转账",
        "place": "村委会",
        "due_date": "2026-04-01",
    }
    responsibilities = [
        {"party_id": respondent, "responsibility": "承担主要责任"},
        {"party_id": applicant, "responsibility": "承担次要责任"},
    ]
    agreement = {
        "facts": "滴水",
        "issues": ["费用"],
        "responsibilities": responsibilities,
        "terms": [term],
    }
    return {
        "record_consent": [
            {"party_id": p, "source": "written", "notice_acknowledged": True} for p in party_ids
        ],
        "party_refuses": [{"party_id": respondent, "source": "oral"}],
        "assign": [
            {"user_id": world.users[u], "role": r, "parties_consented": True}
            for u, r in [
                ("mediator", "mediator"),
                ("lawyer", "lawyer"),
                ("judge", "judge"),
                ("police", "police"),
            ]
        ],
        "unassign": [{"user_id": world.users["judge"], "role": "judge"}],
        "reassess_risk": [{"risk_level": "red"}, {"risk_level": "blue"}],
        "report_police": [{"station": "枫桥派出所", "summary": "可能激化"}],
        "extend_deadline": [{"days": 10, "parties_consented": True}],
        "record_session": [{"place": "调解室", "record": "记录"}],
        "give_legal_opinion": [{"opinion": "合法", "hours": 1}],
        "draft_agreement": [agreement],
        "revise_agreement": [agreement],
        "record_oral_agreement": [{"content": "互相道歉"}],
        "terminate": [{"termination_reason": "positions_apart"}],
        "reject_inadmissible": [{"referral_advice": "向法院起诉"}],
        "sign_party": [{"party_id": p, "method": "electronic"} for p in party_ids],
        "apply_confirmation": [{"court_id": world.units["court"], "applicants": party_ids}],
        "extend_review": [{"approved_by": "院长"}],
        "confirm": [{}],
        "reject": [{"ground": "unclear"}],
        "record_visit": [{"performance": "performed"}, {"performance": "not"}],
        "close": [{"summary": "履行完毕"}],
    }


class MediationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        self.sa_engine: sa.Engine = make_sa_engine(f"sqlite:///{Path(self._dir.name) / 'h.db'}")
        METADATA.create_all(self.sa_engine)
        self.world = build_world(self.sa_engine)
        self.clock = FixedClock(START)
        self.engine: MediationEngine = make_engine(self.sa_engine, self.clock, CALENDAR)
        self.case_id = self.engine.open_case(
            self.world.intake(), self.world.actors["mediator"]
        ).case_id
        self.compiled = self.engine.registry.get("standard", 1)
        with self.engine.db.transaction(write=False) as tx:
            party_ids = [p.party_id for p in tx.case_parties(self.case_id)]
        self.payloads = _payloads(self.world, party_ids)
        self.triggers = sorted({t.trigger for t in self.compiled.spec.transitions})
        self.version = 1
        self.successes = 0

    def teardown(self) -> None:
        self.sa_engine.dispose()
        self._dir.cleanup()

    def _case(self) -> Any:
        return self.engine.get_case(self.case_id, self.world.actors["supervisor"])

    @rule(
        actor=st.sampled_from(ACTORS),
        trigger_index=st.integers(min_value=0, max_value=200),
        payload_index=st.integers(min_value=0, max_value=5),
        stale=st.booleans(),
        days=st.integers(min_value=0, max_value=20),
    )
    def fire(
        self, actor: str, trigger_index: int, payload_index: int, stale: bool, days: int
    ) -> None:
        before = self._case()
        options = self.engine.available_triggers(self.case_id, self.world.actors["supervisor"])
        in_state = {o.trigger for o in options}
        # prefer triggers that exist from here so runs go deep, but keep some that do not
        pool = sorted(in_state) if trigger_index % 4 and in_state else self.triggers
        trigger = pool[trigger_index % len(pool)]
        candidates = self.payloads.get(trigger, [{}])
        payload = candidates[payload_index % len(candidates)]
        actor_obj = self.world.actors[actor]
        visible = True
        try:
            own = {o.trigger: o for o in self.engine.available_triggers(self.case_id, actor_obj)}
        except EngineError:
            visible, own = False, {}
        version = before.version - 1 if stale else before.version
        try:
            result = self.engine.fire(
                self.case_id, trigger, actor_obj, version, payload, reason="理由"
            )
        except EngineError:
            after = self._case()
            assert after == before, "a refused fire changed the case"
            return
        finally:
            self.clock.set(self.clock.now() + timedelta(days=days))
        self.successes += 1
        assert not stale, "a stale version was accepted"
        assert visible, "an actor out of scope fired"
        bound = self.compiled.transition(before.state, trigger)
        assert bound is not None, "an undeclared transition fired"
        assert not set(map(str, actor_obj.roles)).isdisjoint(map(str, bound.spec.roles)), (
            "role bypassed"
        )
        assert own[trigger].allowed, f"a guard or role was bypassed: {own[trigger]}"
        assert result.version == before.version + 1
        assert result.state == (bound.spec.dest or before.state)

    @invariant()
    def state_is_declared_and_version_counts_successes(self) -> None:
        case = self._case()
        assert case.state in self.compiled.states
        assert case.version == 1 + self.successes
        assert case.audit_seq == case.version

    @precondition(lambda self: self.successes % 3 == 0)
    @invariant()
    def audit_chain_verifies(self) -> None:
        assert self.engine.verify_audit([self.case_id]) == []


MediationMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_mediation_machine = MediationMachine.TestCase
