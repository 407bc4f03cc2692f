"""Standard v2, the smaller rules of issue 14: R-TRANSCRIPT, R-PUBLIC, R-MEDIATOR, R-FOLLOWUP."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import GuardRejected, InvalidInput
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from mediation.records import SignatureRecord
from tests.flow import Driver, open_case
from tests.world import World


@pytest.fixture
def driver(engine: MediationEngine, world: World, clock: FixedClock) -> Driver:
    return open_case(engine, world, clock, spec_version=2)


def _in_room(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")


def test_r_transcript_read_back_and_every_partys_signature_recorded(driver: Driver) -> None:
    _in_room(driver)
    first, second = driver.party_ids()
    session = {"place": "调解室", "record": "双方陈述"}
    with pytest.raises(InvalidInput, match="宣读"):
        driver.fire("mediator", "record_session", read_back=False, signed_by=[first], **session)
    with pytest.raises(InvalidInput, match="李建国"):
        driver.fire("mediator", "record_session", read_back=True, signed_by=[first], **session)
    case = driver.fire(
        "mediator", "record_session", read_back=True, signed_by=[first, second], **session
    )
    [transcript] = case.data["transcripts"]
    assert transcript["read_back"] is True
    assert transcript["signed_by"] == sorted([first, second])
    assert case.state_sessions == 1


def test_r_public_a_public_session_names_who_asked_for_it(driver: Driver) -> None:
    _in_room(driver)
    first, second = driver.party_ids()
    session: dict[str, Any] = {
        "place": "村文化礼堂",
        "record": "公开调解",
        "signed_by": [first, second],
    }
    with pytest.raises(InvalidInput, match="当事人提出"):
        driver.fire("mediator", "record_session", read_back=True, public=True, **session)
    case = driver.fire(
        "mediator",
        "record_session",
        read_back=True,
        public=True,
        public_requested_by=[second],
        **session,
    )
    assert case.data["transcripts"][0]["public_requested_by"] == [second]


def test_r_mediator_a_central_household_may_not_sign_a_room_case(driver: Driver) -> None:
    _in_room(driver)  # the grid's 中心户 stays assigned from intake
    driver.draft()
    driver.fire("mediator", "start_signing")
    for party_id in driver.party_ids():
        driver.fire("mediator", "sign_party", party_id=party_id, method="electronic")
    with pytest.raises(GuardRejected, match="中心户不能作为调解员签署") as caught:
        driver.fire("household", "sign_mediator")
    assert caught.value.guard == "presiding_mediator_may_sign"
    driver.fire("mediator", "sign_mediator")


def test_r_mediator_a_central_household_signs_what_was_agreed_at_the_grid(
    driver: Driver,
) -> None:
    driver.consent_all()
    driver.fire("household", "route_to_grid")
    driver.draft("household")
    driver.fire("household", "start_signing")
    for party_id in driver.party_ids():
        driver.fire("household", "sign_party", party_id=party_id, method="electronic")
    driver.fire("household", "sign_mediator")
    assert [s.signer_kind for s in _signatures(driver)][-1] == "mediator"


def _signatures(driver: Driver) -> list[SignatureRecord]:
    with driver.engine.db.transaction(write=False) as tx:
        return list(tx.signatures(driver.case_id))


def test_r_followup_high_risk_cases_get_periodic_visits(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock, spec_version=2, risk_level="orange")
    _in_room(driver)
    driver.draft()  # one term, due 2026-04-01: 30 days after a 2 March agreement
    case = driver.sign_all()
    periodic = sorted(k for k in case.data["visits_due"] if k.startswith("periodic_"))
    assert periodic == ["periodic_1"]
    blue = open_case(engine, world, clock, spec_version=2)
    _in_room(blue)
    blue.draft()
    assert not any(k.startswith("periodic_") for k in blue.sign_all().data["visits_due"])
