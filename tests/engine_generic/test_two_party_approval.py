"""The engine running a two-party approval: either party first, the other within three
working days, and a ten-day window with its reminder."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import Engine, FixedClock, ReasonRequired, RoleNotPermitted
from engine.timers import TimerService
from tests.engine_generic.conftest import START, Office


def _offer(engine: Engine, office: Office) -> int:
    opened = engine.start_case(
        "two_party_approval",
        office.actors["dan"],
        unit_id=office.unit_id,
        attributes={"summary": "二手车买卖"},
    )
    assert opened.state == "awaiting_both"
    return opened.case_id


@pytest.mark.parametrize(
    ("first", "second", "between"),
    [
        ("dan", "erin", "awaiting_seller"),
        ("erin", "dan", "awaiting_buyer"),
    ],
)
def test_both_parties_approve_in_either_order(
    engine: Engine, office: Office, first: str, second: str, between: str
) -> None:
    case_id = _offer(engine, office)
    trigger = {"dan": "buyer_approves", "erin": "seller_approves"}
    step = engine.fire(case_id, trigger[first], office.actors[first], 1)
    assert step.state == between
    with pytest.raises(RoleNotPermitted):  # the first party cannot approve for the other
        engine.fire(case_id, trigger[second], office.actors[first], 2)
    done = engine.fire(case_id, trigger[second], office.actors[second], 2)
    assert done.state == "agreed"
    case = engine.get_case(case_id, office.actors["dan"])
    roles = {"dan": "buyer", "erin": "seller"}
    assert case.data["approvals"] == [roles[first], roles[second]]


def test_declining_needs_a_reason(engine: Engine, office: Office) -> None:
    case_id = _offer(engine, office)
    with pytest.raises(ReasonRequired):
        engine.fire(case_id, "decline", office.actors["erin"], 1)
    assert engine.fire(case_id, "decline", office.actors["erin"], 1, reason="价格不合").state == (
        "declined"
    )


def test_the_second_party_has_three_working_days(
    engine: Engine, office: Office, clock: FixedClock, timers: TimerService
) -> None:
    case_id = _offer(engine, office)
    engine.fire(case_id, "buyer_approves", office.actors["dan"], 1)
    clock.set(START + timedelta(days=2))
    assert timers.fire_due().fired == 0
    clock.set(START + timedelta(days=4))
    assert timers.fire_due().fired == 1
    case = engine.get_case(case_id, office.actors["erin"])
    assert case.state == "lapsed"
    with engine.db.transaction(write=False) as tx:
        pending = tx.all(
            "SELECT kind FROM timers WHERE case_id = :c AND status = 'pending'", {"c": case_id}
        )
    assert pending == []  # the final state cancelled the offer's window and its reminder


def test_the_offer_window_reminds_then_marks_the_case_overdue(
    engine: Engine, office: Office, clock: FixedClock, timers: TimerService
) -> None:
    case_id = _offer(engine, office)
    """Ten days from Monday 2 March end on Thursday 12 March at midnight in Beijing: the
    reminder is due two days before, Tuesday night."""
    clock.set(START + timedelta(days=8))
    assert timers.fire_due().fired == 0
    clock.set(START + timedelta(days=9))
    assert timers.fire_due().fired == 1
    with engine.db.transaction(write=False) as tx:
        kinds = [r[0] for r in tx.all("SELECT kind FROM outbox WHERE case_id = :c", {"c": case_id})]
    assert kinds == ["offer_closing"]
    assert not engine.get_case(case_id, office.actors["dan"]).overdue
    clock.set(START + timedelta(days=11))
    assert timers.fire_due().fired == 1
    case = engine.get_case(case_id, office.actors["dan"])
    assert (case.state, case.overdue) == ("awaiting_both", True)
    assert engine.fire(case_id, "buyer_approves", office.actors["dan"], case.version).state == (
        "awaiting_seller"
    )
