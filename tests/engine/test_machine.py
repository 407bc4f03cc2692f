"""The spec's transitions machine does the state machine's work: its event table finds the
transition, its conditions are the guards, its callbacks the actions; and no case is ever
added to it as a model."""

from __future__ import annotations

import pytest
from transitions.core import Condition, EventData, Machine

from api.wiring import load_registry
from engine.errors import GuardRejected
from engine.machine import ActionCallback, BoundTransition, GuardCondition
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from tests.flow import open_case
from tests.world import World


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The guards transitions evaluates, in order, as it checks each condition."""
    names: list[str] = []
    check = Condition.check

    def spy(self: Condition, event: EventData) -> bool:
        assert isinstance(self.func, GuardCondition)
        names.append(self.func.hook.name)
        passed: bool = check(self, event)
        return passed

    monkeypatch.setattr(Condition, "check", spy)
    return names


@pytest.fixture
def no_models(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("a model was added to the spec's machine")

    monkeypatch.setattr(Machine, "add_model", refuse)


def test_transitions_carry_guards_as_conditions_and_actions_as_callbacks() -> None:
    compiled = load_registry().latest("standard")
    machine = compiled.machine
    assert (machine.send_event, machine.auto_transitions, machine.models) == (True, False, [])
    found = machine.get_transitions(trigger="record_session", source="central_household")
    assert len(found) == 1
    transition = found[0]
    assert isinstance(transition, BoundTransition)
    assert transition is compiled.transition("central_household", "record_session")
    guards = [c.func.hook.name for c in transition.conditions if isinstance(c.func, GuardCondition)]
    assert guards == list(transition.spec.guards)
    assert len(guards) >= 3
    actions = [a.hook.name for a in transition.before if isinstance(a, ActionCallback)]
    assert actions == list(transition.spec.actions)
    assert actions
    assert compiled.transition("central_household", "no_such_trigger") is None
    assert compiled.transition("closed", "record_session") is None
    assert compiled.triggers("central_household") == machine.get_triggers("central_household")


@pytest.mark.usefixtures("no_models")
def test_fire_evaluates_guards_as_conditions_until_the_first_refusal(
    engine: MediationEngine, world: World, clock: FixedClock, checked: list[str]
) -> None:
    driver = open_case(engine, world, clock)
    driver.fire("household", "route_to_grid")
    compiled = engine.registry.get(driver.case.spec_id, driver.case.spec_version)
    transition = compiled.transition("central_household", "record_session")
    assert transition is not None

    checked.clear()
    with pytest.raises(GuardRejected) as caught:
        driver.fire("household", "record_session", place="村委会", record="……")
    assert caught.value.guard == "all_parties_consented"  # the first, and the only one checked
    assert checked == ["all_parties_consented"]
    assert "王秀英" in caught.value.message_zh

    for party_id in driver.party_ids():
        driver.fire("mediator", "record_consent", party_id=party_id, source="written")
    checked.clear()
    with pytest.raises(GuardRejected) as caught:
        driver.fire("household", "record_session", place="村委会", record="……")
    assert (caught.value.code, caught.value.guard) == ("guard_rejected", "notice_acknowledged")
    assert checked == ["all_parties_consented", "notice_acknowledged"]  # stopped at the refusal
    assert driver.case.state == "central_household"

    driver.consent_all()
    checked.clear()
    driver.fire("household", "record_session", place="村委会", record="双方陈述")
    assert checked == list(transition.spec.guards)  # every condition passed, each checked once
    assert driver.case.state_sessions == 1  # the action ran, as the transition's callback
    assert compiled.machine.models == []


@pytest.mark.usefixtures("no_models")
def test_available_triggers_names_every_refusing_guard(
    engine: MediationEngine, world: World, clock: FixedClock, checked: list[str]
) -> None:
    driver = open_case(engine, world, clock)
    driver.fire("household", "route_to_grid")
    checked.clear()
    options = {
        o.trigger: o for o in engine.available_triggers(driver.case_id, world.actors["household"])
    }
    record = options["record_session"]
    assert not record.allowed
    assert len(record.blocked_reasons) >= 2  # not only the first refusal: every guard says why
    assert any("王秀英" in reason for reason in record.blocked_reasons)
    assert {"all_parties_consented", "notice_acknowledged"} <= set(checked)
