"""R-INVITE (PML Art. 20): relatives, neighbours and experts invited to help mediate take part
only with every party's recorded consent; one refusal keeps them out. The v2 flows."""

from __future__ import annotations

import pytest

from engine.errors import GuardRejected, InvalidInput
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from tests.flow import Driver, open_case
from tests.rules import rule
from tests.world import World

pytestmark = rule("R-INVITE")
UNCLE = "王大伯"


@pytest.fixture
def driver(engine: MediationEngine, world: World, clock: FixedClock) -> Driver:
    driver = open_case(engine, world, clock, spec_version=2)
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=world.units["room"])
    driver.assign("mediator", "mediator")
    driver.fire(
        "mediator", "invite_participant", name=UNCLE, kind="relative", capacity="申请人的兄长"
    )
    return driver


def _session(driver: Driver, *attendees: str) -> None:
    driver.fire(
        "mediator",
        "record_session",
        place="调解室",
        record="双方陈述，王大伯从旁劝解",
        attendees=["王秀英", "李建国", *attendees],
        read_back=True,
        signed_by=driver.party_ids(),
    )


def _consent(driver: Driver, party_id: int, consent: bool) -> None:
    driver.fire(
        "mediator", "record_invitation_consent", invitee=UNCLE, party_id=party_id, consent=consent
    )


def test_an_invitee_takes_part_only_after_every_party_consented(driver: Driver) -> None:
    first, second = driver.party_ids()
    _consent(driver, first, True)
    version = driver.case.version
    with pytest.raises(GuardRejected, match="尚未记录李建国的同意") as caught:
        _session(driver, UNCLE)
    assert caught.value.guard == "invitees_consented"
    assert driver.case.version == version  # no session recorded
    _consent(driver, second, True)
    _session(driver, UNCLE)
    (invitation,) = driver.case.data["invitations"]
    assert invitation["kind"] == "relative"
    assert invitation["consents"][str(second)]["consent"] is True
    assert driver.case.state_sessions == 1


def test_one_partys_refusal_keeps_the_invitee_out(driver: Driver) -> None:
    first, second = driver.party_ids()
    _consent(driver, first, True)
    _consent(driver, second, False)
    with pytest.raises(GuardRejected, match="李建国不同意邀请王大伯"):
        _session(driver, UNCLE)
    _session(driver)  # without him the session goes on


def test_consent_is_recorded_only_for_someone_invited(driver: Driver) -> None:
    with pytest.raises(InvalidInput, match="没有邀请过此人"):
        driver.fire(
            "mediator",
            "record_invitation_consent",
            invitee="张医生",
            party_id=driver.party_ids()[0],
            consent=True,
        )
    with pytest.raises(InvalidInput, match="已邀请过"):
        driver.fire("mediator", "invite_participant", name=UNCLE, kind="relative")
