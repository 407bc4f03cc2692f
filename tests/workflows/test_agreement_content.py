"""PML Art. 29 as the drafting form asks it (R-AGREEMENT-FIELDS): facts, disputed matters and
each party's responsibility are required, structured inputs; every term names debtor,
creditor, content, method, place and deadline; a deadline before signing is refused, when
drafting and again when signing (R-AGREEMENT-EFFECT)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.errors import InvalidInput
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from tests.flow import Driver, open_case
from tests.world import World
from workflows.agreement_content import agreement_fields


@pytest.fixture
def driver(engine: MediationEngine, world: World, clock: FixedClock) -> Driver:
    driver = open_case(engine, world, clock)
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    return driver


def _payload(driver: Driver, **changes: Any) -> dict[str, Any]:
    return {
        "facts": "被申请人房屋滴水损坏申请人院墙",
        "issues": ["修缮费用的承担", "修缮期限"],
        "responsibilities": driver.responsibilities(),
        "terms": driver.terms(),
        **changes,
    }


def test_r_agreement_fields_each_party_needs_its_own_responsibility(driver: Driver) -> None:
    applicant, respondent = driver.party_ids()[:2]
    only_one = [{"party_id": respondent, "responsibility": "承担全部责任"}]
    with pytest.raises(InvalidInput, match="请写明每位当事人的责任") as caught:
        agreement_fields(_payload(driver, responsibilities=only_one), {applicant, respondent})
    assert caught.value.field == "responsibilities"
    with pytest.raises(InvalidInput, match="请逐一写明各方当事人的责任"):
        agreement_fields(
            _payload(driver, responsibilities="被申请人承担主要责任"), {applicant, respondent}
        )
    blank = [*only_one, {"party_id": applicant, "responsibility": " "}]
    with pytest.raises(InvalidInput, match="不承担责任"):
        agreement_fields(_payload(driver, responsibilities=blank), {applicant, respondent})


def test_r_agreement_fields_facts_and_issues_have_no_default(driver: Driver) -> None:
    parties = set(driver.party_ids())
    for payload, field in (
        ({"facts": ""}, "facts"),
        ({"issues": []}, "issues"),
        ({"issues": "；"}, "issues"),
    ):
        with pytest.raises(InvalidInput) as caught:
            agreement_fields(_payload(driver, **payload), parties)
        assert caught.value.field == field
    fields = agreement_fields(_payload(driver, issues="费用；期限\n方式"), parties)
    assert fields["issues"] == ["费用", "期限", "方式"]


@pytest.mark.parametrize(
    ("key", "message"), [("method", "履行方式"), ("place", "履行地点"), ("content", "履行内容")]
)
def test_r_agreement_fields_every_term_names_method_place_and_content(
    driver: Driver, key: str, message: str
) -> None:
    terms = driver.terms()
    terms[0][key] = ""
    with pytest.raises(InvalidInput, match=message) as caught:
        agreement_fields(_payload(driver, terms=terms), set(driver.party_ids()))
    assert caught.value.field == f"terms.0.{key}"


def test_r_agreement_fields_debtor_and_creditor_are_two_parties(driver: Driver) -> None:
    terms = driver.terms()
    terms[0]["obligee"] = terms[0]["obligor"]
    with pytest.raises(InvalidInput, match="义务人与权利人不能是同一当事人"):
        agreement_fields(_payload(driver, terms=terms), set(driver.party_ids()))


def test_r_agreement_effect_a_deadline_before_drafting_is_refused(driver: Driver) -> None:
    terms = driver.terms()
    terms[0]["due_date"] = "2026-03-01"  # the clock stands at 2026-03-02 in Beijing
    with pytest.raises(InvalidInput, match="履行期限2026年3月1日早于签署日期2026年3月2日"):
        driver.fire("mediator", "draft_agreement", **_payload(driver, terms=terms))


def test_r_agreement_effect_a_deadline_passed_before_signing_blocks_the_signatures(
    driver: Driver,
) -> None:
    driver.fire("mediator", "draft_agreement", **_payload(driver))
    driver.fire("mediator", "start_signing")
    driver.clock.set(driver.clock.now() + timedelta(days=45))  # the term fell due on 04-01
    applicant = driver.party_ids()[0]
    with pytest.raises(InvalidInput, match=r"第1条（2026年4月1日）；请先修订协议再签署"):
        driver.fire("mediator", "sign_party", party_id=applicant, method="electronic")
