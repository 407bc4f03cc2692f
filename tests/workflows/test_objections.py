"""R-JC-OBJECT: objections to a judicial-confirmation ruling (SPC-I Art. 372), in the v2 flows.

The probe cases: a party objecting on day 15 after receipt is heard and on day 16 refused; a
third party has six months from knowing; an upheld objection revokes a confirmation and the
case goes back to mediation, while one against a rejection sends it back to review; the
panel judge decides none of it; the parties' 15 days from the ruling are kept by a timer.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from engine.calendar import SHANGHAI
from engine.errors import GuardRejected, PayloadInvalid
from engine.ports import FixedClock
from engine.timers import TimerService
from mediation.engine import MediationEngine
from tests.flow import Driver, open_case
from tests.rules import rule
from tests.world import World

pytestmark = rule("R-JC-OBJECT")


@pytest.fixture
def driver(engine: MediationEngine, world: World, clock: FixedClock) -> Driver:
    return open_case(engine, world, clock, spec_version=2)


def _ruled(driver: Driver, outcome: str = "confirm", *, panel_judge: bool = False) -> date:
    """A case whose confirmation was ruled on by judge2; the Beijing day of the ruling."""
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    if panel_judge:
        driver.assign("lawyer", "lawyer")
        driver.assign("judge", "judge")
        driver.fire("mediator", "escalate")
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.sign_all()
    driver.apply_confirmation()
    driver.fire("clerk", "accept_application")
    if outcome == "confirm":
        driver.fire("judge2", "confirm")
    else:
        driver.fire("judge2", "reject", reason="协议内容不明确", ground="unclear")
    return driver.clock.now().astimezone(SHANGHAI).date()


def _today(driver: Driver) -> date:
    return driver.clock.now().astimezone(SHANGHAI).date()


def _object(driver: Driver, received_on: date, **overrides: Any) -> None:
    payload: dict[str, Any] = {
        "objector_kind": "party",
        "party_id": driver.party_ids()[1],
        "received_on": received_on.isoformat(),
        "lodged_on": _today(driver).isoformat(),
        "grounds": "协议约定的还款金额与实际借款不符，非本人真实意思表示",
    }
    payload.update(overrides)
    driver.fire("clerk", "record_objection", **payload)


def test_a_party_may_object_within_15_days_of_receiving_the_ruling(driver: Driver) -> None:
    ruled = _ruled(driver)
    driver.wait(days=20)  # received 5 days after the ruling: still in time on day 20
    _object(driver, ruled + timedelta(days=5))
    (objection,) = driver.case.data["confirmation"]["objections"]
    assert objection["objector"] == "李建国"
    assert objection["received_on"] == (ruled + timedelta(days=5)).isoformat()
    assert objection["decision"] is None


def test_a_party_objecting_after_15_days_is_refused_with_the_deadline(driver: Driver) -> None:
    ruled = _ruled(driver)
    version = driver.case.version
    driver.wait(days=30)
    with pytest.raises(GuardRejected, match="十五日内") as caught:
        _object(driver, ruled)
    assert caught.value.guard == "objection_in_time"
    assert driver.case.version == version  # nothing recorded
    assert "objections" not in driver.case.data["confirmation"]


def test_a_receipt_before_the_ruling_is_refused(driver: Driver) -> None:
    ruled = _ruled(driver)
    with pytest.raises(GuardRejected, match="不能早于裁定作出之日"):
        _object(driver, ruled - timedelta(days=1))


def test_a_third_party_has_six_months_from_knowing(driver: Driver) -> None:
    ruled = _ruled(driver)
    driver.wait(days=200)
    known = ruled + timedelta(days=30)
    third = {"objector_kind": "third_party", "party_id": None, "objector_name": "枫源村村民委员会"}
    _object(driver, known, **third)
    assert driver.case.data["confirmation"]["objections"][0]["objector"] == "枫源村村民委员会"
    driver.fire("judge2", "dismiss_objection", reason="异议人并非案涉房屋的权利人")
    with pytest.raises(GuardRejected, match="六个月内"):
        _object(driver, known - timedelta(days=20), **third)


def test_an_objector_must_be_named(driver: Driver) -> None:
    _ruled(driver)
    with pytest.raises(GuardRejected, match="写明其姓名"):
        _object(driver, _today(driver), objector_kind="third_party", party_id=None)
    with pytest.raises(PayloadInvalid):
        _object(driver, _today(driver), objector_kind="stranger")


def test_an_upheld_objection_revokes_the_confirmation_and_mediation_resumes(
    driver: Driver,
) -> None:
    ruled = _ruled(driver)
    _object(driver, ruled)
    case = driver.fire("judge2", "uphold_objection", reason="协议违反自愿原则")
    assert case.state == "mediation_room"
    confirmation = case.data["confirmation"]
    assert confirmation["outcome"] == "revoked"
    assert confirmation["revoked_outcome"] == "confirmed"
    assert confirmation["objections"][0]["decision"] == "upheld"
    assert confirmation["objections"][0]["reason"] == "协议违反自愿原则"


def test_an_upheld_objection_to_a_rejection_sends_it_back_to_review(driver: Driver) -> None:
    ruled = _ruled(driver, "reject")
    _object(driver, ruled)
    assert (
        driver.fire("judge2", "uphold_objection", reason="驳回理由不成立").state == "jc_reviewing"
    )


def test_a_dismissed_objection_leaves_the_ruling_standing(driver: Driver) -> None:
    ruled = _ruled(driver)
    _object(driver, ruled)
    case = driver.fire("judge2", "dismiss_objection", reason="异议理由不成立")
    assert case.state == "confirmed"
    assert case.data["confirmation"]["outcome"] == "confirmed"
    with pytest.raises(GuardRejected, match="没有待审查的异议"):
        driver.fire("judge2", "uphold_objection", reason="再审")


def test_the_panel_judge_decides_no_objection(driver: Driver) -> None:
    """R-JC-SEPARATION holds for the objection too."""
    ruled = _ruled(driver, panel_judge=True)
    _object(driver, ruled)
    for trigger in ("dismiss_objection", "uphold_objection"):
        with pytest.raises(GuardRejected, match="回避"):
            driver.fire("judge", trigger, reason="审查")


def test_no_objection_without_a_ruling(driver: Driver) -> None:
    """An application withdrawn before any ruling leaves nothing to object to."""
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.sign_all()
    driver.apply_confirmation()
    driver.fire("mediator", "withdraw_application", reason="当事人撤回申请")
    driver.wait(days=32)
    TimerService(driver.engine).fire_due()
    assert driver.case.state == "followup"
    with pytest.raises(GuardRejected, match="尚无司法确认裁定"):
        _object(driver, _today(driver))


def test_the_parties_15_days_from_the_ruling_are_kept_by_a_timer(
    driver: Driver, engine: MediationEngine
) -> None:
    _ruled(driver)
    closes = driver.case.data["confirmation"]["objection_window_closes_at"]
    driver.wait(days=14)
    TimerService(engine).fire_due()
    assert "objection_window_closed_at" not in driver.case.data["confirmation"]
    driver.wait(days=2)
    TimerService(engine).fire_due()
    confirmation = driver.case.data["confirmation"]
    assert confirmation["objection_window_closed_at"] >= closes


def test_the_objection_is_offered_to_the_court_after_a_ruling(
    driver: Driver, engine: MediationEngine
) -> None:
    """Listing a case's actions runs the guards without a payload: the step is offered."""
    _ruled(driver)
    offered = {
        option.trigger: option
        for option in engine.available_triggers(driver.case_id, driver.world.actors["clerk"])
    }
    assert offered["record_objection"].allowed
