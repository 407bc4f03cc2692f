"""Court flows of issue 14: court_referral v2 (委派) and court_entrusted v1 (委托)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from engine.calendar import SHANGHAI
from engine.errors import GuardRejected, InvalidInput
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from tests.flow import Driver, open_case
from tests.world import World


def _court_case(
    engine: MediationEngine, world: World, clock: FixedClock, spec_id: str, **overrides: object
) -> Driver:
    origin = "court_entrusted" if spec_id == "court_entrusted" else "court_delegated"
    values: dict[str, Any] = {
        "spec_id": spec_id,
        "spec_version": None,
        "origin": origin,
        "referring_court_id": world.units["court"],
    }
    values.update(overrides)
    return open_case(engine, world, clock, **values)


def _clock_due(driver: Driver, name: str) -> date:
    with driver.engine.db.transaction(write=False) as tx:
        [(_, due)] = tx.pending_timers(driver.case_id, "clock", name)
    return due.astimezone(SHANGHAI).date()


def test_r_dl_delegated_the_30_days_start_when_the_mediator_signs_for_the_materials(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = _court_case(engine, world, clock, "court_referral")
    assert driver.case.spec_version == 2
    with engine.db.transaction(write=False) as tx:
        assert tx.pending_timers(driver.case_id, "clock", "delegated_limit") == []
    driver.wait(days=10)  # the materials wait ten days before the mediator signs for them
    driver.fire("mediator", "accept_delegation", room_id=world.units["room"])
    signed = clock.now().astimezone(SHANGHAI).date()
    assert _clock_due(driver, "delegated_limit") >= signed + timedelta(days=30)


def test_r_dl_entrusted_an_ordinary_case_is_due_on_day_15_never_the_30_day_clock(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = _court_case(engine, world, clock, "court_entrusted")
    driver.wait(days=3)
    driver.fire("mediator", "accept_entrustment", room_id=world.units["room"], procedure="ordinary")
    signed = clock.now().astimezone(SHANGHAI).date()
    due = _clock_due(driver, "entrusted_limit")
    # day 15, carried to the next working day only when day 15 is a rest day (CPL Art. 85)
    assert signed + timedelta(days=15) <= due < signed + timedelta(days=19)
    with engine.db.transaction(write=False) as tx:
        assert tx.pending_timers(driver.case_id, "clock", "mediation_limit") == []


def test_r_dl_entrusted_a_simplified_case_is_due_on_day_7(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = _court_case(engine, world, clock, "court_entrusted")
    driver.fire(
        "mediator", "accept_entrustment", room_id=world.units["room"], procedure="simplified"
    )
    signed = clock.now().astimezone(SHANGHAI).date()
    due = _clock_due(driver, "entrusted_limit")  # one clock, not the 15 days beside it
    assert signed + timedelta(days=7) <= due < signed + timedelta(days=11)
    assert driver.case.data["entrustment"]["procedure"] == "simplified"


def test_r_dl_entrusted_entrusted_cases_do_not_run_the_standard_flow(
    engine: MediationEngine, world: World
) -> None:
    with pytest.raises(InvalidInput, match="来源"):
        engine.open_case(
            world.intake(spec_version=None, origin="court_entrusted"), world.actors["mediator"]
        )


def test_r_risk_the_court_referral_flow_has_the_police_step(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = _court_case(engine, world, clock, "court_referral", risk_level="red")
    driver.consent_all()
    driver.assign("lawyer", "lawyer")
    driver.assign("police", "police")
    assert driver.fire("mediator", "accept_delegation_at_panel").state == "joint_mediation"
    assert driver.case.org_unit_id is not None
    driver.assign("mediator", "mediator")
    with pytest.raises(GuardRejected, match="公安机关") as caught:
        driver.fire(
            "mediator",
            "record_session",
            place="调解室",
            record="双方陈述",
            read_back=True,
            signed_by=driver.party_ids(),
        )
    assert caught.value.guard == "police_report_recorded"
    driver.fire("mediator", "report_police", station="枫桥派出所", summary="可能引发治安案件")
    driver.fire(
        "mediator",
        "record_session",
        place="调解室",
        record="双方陈述",
        read_back=True,
        signed_by=driver.party_ids(),
    )
    assert driver.draft().state == "agreement_drafted"
