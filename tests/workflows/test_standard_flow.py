"""The standard flow against the law it encodes; each test reloads the case between steps."""

from __future__ import annotations

import pytest

from engine.errors import GuardRejected, InvalidInput, ReasonRequired, RoleNotPermitted
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from tests.flow import Driver, open_case
from tests.rows import outbox as _outbox
from tests.rows import timers as _timers
from tests.rules import rule
from tests.world import World


@pytest.fixture
def driver(engine: MediationEngine, world: World, clock: FixedClock) -> Driver:
    return open_case(engine, world, clock)


@rule("R-COPIES")
def test_full_path_from_intake_to_closing(driver: Driver) -> None:
    assert driver.case.state == "intake"
    driver.consent_all()
    case = driver.fire("household", "route_to_grid")
    assert (case.state, case.level) == ("central_household", "grid")
    driver.fire(
        "household",
        "record_session",
        place="村委会",
        record="双方陈述",
        attendees=["王秀英", "李建国"],
    )
    assert driver.case.state_sessions == 1
    case = driver.fire("household", "escalate", room_id=driver.world.units["room"])
    assert (case.state, case.level, case.org_unit_id) == (
        "mediation_room",
        "community",
        driver.world.units["room"],
    )
    assert case.state_sessions == 0
    driver.assign("mediator", "mediator", consented=False)
    driver.fire("mediator", "record_session", place="调解室", record="达成初步意向")
    case = driver.draft()
    assert case.state == "agreement_drafted"
    assert case.resolved_level == "community"
    assert case.data["agreement"]["copies"] == 3  # R-COPIES: two parties + archive
    case = driver.sign_all()
    assert case.state == "agreement_in_effect"
    assert case.agreement_effective_at == driver.clock.now()
    driver.wait(days=5)
    case = driver.fire(
        "mediator",
        "apply_confirmation",
        court_id=driver.world.units["court"],
        applicants=driver.party_ids(),
    )
    assert (case.state, case.court_id) == ("jc_applied", driver.world.units["court"])
    driver.fire("clerk", "accept_application")
    case = driver.fire("judge", "confirm", ruling_number="（2026）浙0681民特12号")
    assert case.state == "confirmed"
    assert case.data["confirmation"]["outcome"] == "confirmed"
    driver.fire("mediator", "start_followup")
    driver.fire("household", "record_visit", performance="performed", satisfaction="satisfied")
    case = driver.fire("mediator", "close", summary="协议已履行完毕")
    assert (case.state, case.level) == ("closed", "closed")
    assert case.closed_at is not None
    assert driver.engine.verify_audit([driver.case_id]) == []


def test_r_start_one_refusal_ends_the_case_as_withdrawn(driver: Driver) -> None:
    applicant, respondent = driver.party_ids()
    driver.fire("mediator", "record_consent", party_id=applicant, source="written")
    case = driver.fire(
        "mediator",
        "party_refuses",
        reason="被申请人明确表示不愿调解",
        party_id=respondent,
        source="oral",
    )
    assert (case.state, case.level) == ("withdrawn", "closed")
    with driver.engine.db.transaction(write=False) as tx:
        consents = {p.party_id: p.consent for p in tx.case_parties(driver.case_id)}
    assert consents == {applicant: "consented", respondent: "refused"}


def test_r_start_mediation_needs_every_party_consent(driver: Driver) -> None:
    driver.fire("household", "route_to_grid")
    with pytest.raises(GuardRejected) as caught:
        driver.fire("household", "record_session", place="村委会", record="……")
    assert caught.value.guard == "all_parties_consented"
    assert "王秀英" in caught.value.message_zh


def test_r_notice_acknowledged_before_first_session(driver: Driver) -> None:
    for party_id in driver.party_ids():
        driver.fire("mediator", "record_consent", party_id=party_id, source="written")
    driver.fire("household", "route_to_grid")
    with pytest.raises(GuardRejected) as caught:
        driver.fire("household", "record_session", place="村委会", record="……")
    assert caught.value.guard == "notice_acknowledged"


def test_r_risk_red_case_skips_grid_and_community(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock, risk_level="red")
    options = {
        o.trigger: o for o in engine.available_triggers(driver.case_id, world.actors["mediator"])
    }
    assert not options["route_to_grid"].allowed
    assert any("红色" in r for r in options["route_to_grid"].blocked_reasons)
    assert not options["accept_at_room"].allowed
    assert not options["accept_at_panel"].allowed  # the panel is not assembled yet
    driver.assign("lawyer", "lawyer")
    driver.assign("police", "police")
    assert driver.fire("mediator", "accept_at_panel").state == "joint_mediation"


def test_jiangyin_331_limits_grid_attempts(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("household", "route_to_grid")
    for _ in range(3):
        driver.fire("household", "record_session", place="村委会", record="未达成一致")
    with pytest.raises(GuardRejected) as caught:
        driver.fire("household", "record_session", place="村委会", record="第四次")
    assert caught.value.guard == "within_session_limit"
    assert (
        driver.fire("household", "escalate", room_id=driver.world.units["room"]).state
        == "mediation_room"
    )


def test_joint_mediation_needs_lawyer_and_an_official_invited_with_consent(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    with pytest.raises(GuardRejected, match="律师"):
        driver.fire("mediator", "escalate")
    driver.assign("lawyer", "lawyer")
    with pytest.raises(GuardRejected, match="法官、检察官或民警"):
        driver.fire("mediator", "escalate")
    with pytest.raises(InvalidInput, match="当事人同意"):
        driver.assign("judge", "judge", consented=False)
    driver.assign("judge", "judge")
    assert driver.fire("mediator", "escalate").state == "joint_mediation"
    driver.fire("lawyer", "give_legal_opinion", opinion="协议内容合法", hours=2)
    assert driver.case.data["legal_opinions"][0]["hours"] == 2


def test_r_agreement_effect_signing_order_is_enforced(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.fire("mediator", "start_signing")
    applicant, respondent = driver.party_ids()
    with pytest.raises(GuardRejected, match="全体当事人签署后"):
        driver.fire("mediator", "sign_mediator")
    with pytest.raises(GuardRejected, match="尚有当事人未签署"):
        driver.fire("mediator", "apply_seal")
    driver.fire("mediator", "sign_party", party_id=applicant, method="electronic")
    with pytest.raises(GuardRejected, match="重复"):
        driver.fire("mediator", "sign_party", party_id=applicant, method="electronic")
    with pytest.raises(InvalidInput, match="须为本案当事人"):
        driver.fire("mediator", "sign_party", party_id=99999, method="electronic")
    driver.fire("mediator", "sign_party", party_id=respondent, method="electronic")
    with pytest.raises(GuardRejected, match="调解员尚未签署"):
        driver.fire("mediator", "apply_seal")
    with pytest.raises(GuardRejected, match="主持本案"):
        driver.fire("mediator3", "sign_mediator")
    driver.fire("mediator", "sign_mediator")
    assert driver.case.agreement_effective_at is None  # never earlier than the seal
    driver.wait(hours=2)
    case = driver.fire("mediator", "apply_seal")
    assert case.agreement_effective_at == driver.clock.now()


def test_r_esign_exclude_inheritance_is_signed_on_paper(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock, category_code="inheritance")
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    case = driver.draft()
    assert any("纸质" in w for w in case.data["agreement"]["warnings"])
    driver.fire("mediator", "start_signing")
    party = driver.party_ids()[0]
    with pytest.raises(GuardRejected, match="电子签名法第3条"):
        driver.fire("mediator", "sign_party", party_id=party, method="electronic")
    with pytest.raises(InvalidInput, match="扫描件"):
        driver.fire("mediator", "sign_party", party_id=party, method="paper")
    driver.fire("mediator", "sign_party", party_id=party, method="paper", scan_sha256="ab" * 32)
    with engine.db.transaction(write=False) as tx:
        assert [s.method for s in tx.signatures(driver.case_id)] == ["paper"]


def _in_effect(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.sign_all()


def test_r_jc_window_closes_after_30_days(driver: Driver) -> None:
    _in_effect(driver)
    driver.wait(days=31)
    with pytest.raises(GuardRejected, match="30日") as caught:
        driver.fire(
            "mediator",
            "apply_confirmation",
            court_id=driver.world.units["court"],
            applicants=driver.party_ids(),
        )
    assert caught.value.guard == "within_confirmation_window"


def test_r_jc_window_open_on_day_30(driver: Driver) -> None:
    _in_effect(driver)
    driver.wait(days=30)
    case = driver.fire(
        "mediator",
        "apply_confirmation",
        court_id=driver.world.units["court"],
        applicants=driver.party_ids(),
    )
    assert case.state == "jc_applied"


def test_r_jc_window_is_a_state_deadline_timer(driver: Driver) -> None:
    _in_effect(driver)
    assert ("state_deadline", "agreement_in_effect", "pending") in _timers(
        driver.engine, driver.case_id
    )
    driver.fire("mediator", "start_followup")
    assert ("state_deadline", "agreement_in_effect", "cancelled") in _timers(
        driver.engine, driver.case_id
    )


def test_r_jc_package_needs_both_parties(driver: Driver) -> None:
    _in_effect(driver)
    with pytest.raises(InvalidInput, match="共同申请"):
        driver.fire(
            "mediator",
            "apply_confirmation",
            court_id=driver.world.units["court"],
            applicants=driver.party_ids()[:1],
        )


def test_r_jc_exclude_warns_at_agreement_and_blocks_application(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock, category_code="land_ownership")
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    case = driver.draft()
    assert any("司法确认" in w for w in case.data["agreement"]["warnings"])
    driver.sign_all()
    with pytest.raises(GuardRejected, match="第355条"):
        driver.fire(
            "mediator",
            "apply_confirmation",
            court_id=world.units["court"],
            applicants=driver.party_ids(),
        )


def test_r_jc_separation_panel_judge_cannot_review(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("lawyer", "lawyer")
    driver.assign("judge", "judge")
    driver.fire("mediator", "escalate")
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.sign_all()
    driver.fire(
        "mediator",
        "apply_confirmation",
        court_id=driver.world.units["court"],
        applicants=driver.party_ids(),
    )
    driver.fire("clerk", "accept_application")
    with pytest.raises(GuardRejected, match="回避") as caught:
        driver.fire("judge", "confirm")
    assert caught.value.guard == "judge_not_on_panel"
    assert driver.fire("judge2", "confirm").state == "confirmed"


def test_r_jc_review_extends_once_by_ten_days(driver: Driver) -> None:
    _in_effect(driver)
    driver.fire(
        "mediator",
        "apply_confirmation",
        court_id=driver.world.units["court"],
        applicants=driver.party_ids(),
    )
    driver.fire("clerk", "accept_application")
    with driver.engine.db.transaction(write=False) as tx:
        [(_, due_before)] = tx.pending_timers(driver.case_id, "state_deadline", "jc_reviewing")
    with pytest.raises(ReasonRequired):
        driver.fire("judge", "extend_review", approved_by="院长")
    driver.fire("judge", "extend_review", reason="案情复杂", approved_by="院长")
    with driver.engine.db.transaction(write=False) as tx:
        [(_, due_after)] = tx.pending_timers(driver.case_id, "state_deadline", "jc_reviewing")
    assert (due_after - due_before).days == 10
    with pytest.raises(GuardRejected, match="延长过一次"):
        driver.fire("judge", "extend_review", reason="再次延长", approved_by="院长")
    case = driver.fire("judge2", "reject", reason="内容不明确", ground="unclear")
    assert case.state == "jc_rejected"
    assert case.data["confirmation"]["ground"] == "unclear"


def test_r_jc_hard_limit_clock_runs_from_filing(driver: Driver) -> None:
    _in_effect(driver)
    driver.fire(
        "mediator",
        "apply_confirmation",
        court_id=driver.world.units["court"],
        applicants=driver.party_ids(),
    )
    assert ("clock", "jc_hard_limit", "pending") in _timers(driver.engine, driver.case_id)
    driver.fire("clerk", "accept_application")
    driver.fire("judge2", "confirm")
    assert ("clock", "jc_hard_limit", "cancelled") in _timers(driver.engine, driver.case_id)


def test_court_roles_only(driver: Driver) -> None:
    _in_effect(driver)
    driver.fire(
        "mediator",
        "apply_confirmation",
        court_id=driver.world.units["court"],
        applicants=driver.party_ids(),
    )
    with pytest.raises(RoleNotPermitted, match="法院司法确认窗口"):
        driver.fire("mediator", "accept_application")


def test_r_oral_agreement_only_without_money(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("household", "route_to_grid")
    with pytest.raises(GuardRejected, match="书面调解协议书"):
        driver.fire(
            "household", "record_oral_agreement", content="互相道歉", has_monetary_terms=True
        )
    case = driver.fire("household", "record_oral_agreement", content="互相道歉，今后和睦相处")
    assert case.state == "followup"
    assert case.agreement_effective_at == driver.clock.now()  # R-ORAL: effective the same day
    assert case.resolved_level == "grid"
    assert ("clock", "mediation_limit", "cancelled") in _timers(driver.engine, driver.case_id)


def test_r_dl_pm_mediation_clock_starts_at_acceptance(driver: Driver) -> None:
    assert _timers(driver.engine, driver.case_id) == [("clock", "mediation_limit", "pending")]
    with pytest.raises(InvalidInput, match="双方当事人同意"):
        driver.fire("mediator", "extend_deadline", reason="需要鉴定", days=15)
    driver.fire("mediator", "extend_deadline", reason="需要鉴定", days=15, parties_consented=True)
    with driver.engine.db.transaction(write=False) as tx:
        [(_, due)] = tx.pending_timers(driver.case_id, "clock", "mediation_limit")
    assert (due - driver.clock.now()).days >= 44


def test_central_household_deadline_escalates(driver: Driver) -> None:
    driver.fire("household", "route_to_grid")
    assert ("state_deadline", "central_household", "pending") in _timers(
        driver.engine, driver.case_id
    )
    case = driver.fire("system", "escalate")  # what the timer tick fires on expiry
    assert case.state == "mediation_room"
    assert ("state_deadline", "central_household", "cancelled") in _timers(
        driver.engine, driver.case_id
    )


def test_r_terminate_records_reason_and_routes(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    with pytest.raises(InvalidInput, match="终止原因"):
        driver.fire("mediator", "terminate", reason="谈不拢", termination_reason="bogus")
    case = driver.fire(
        "mediator", "terminate", reason="谈不拢", termination_reason="positions_apart"
    )
    assert case.state == "terminated"
    assert "仲裁" in case.data["termination"]["routes_advised"]


def test_r_inadmissible_records_referral(driver: Driver) -> None:
    case = driver.fire(
        "mediator",
        "reject_inadmissible",
        reason="已由法院受理",
        referral_advice="向诸暨市人民法院了解案件进展",
    )
    assert case.state == "inadmissible"
    assert case.data["inadmissible"]["referral_advice"].startswith("向诸暨市")


def test_r_nonperform_reopens_mediation(driver: Driver) -> None:
    _in_effect(driver)
    driver.fire("mediator", "start_followup")
    driver.fire("household", "record_visit", performance="not", notes="未按期付款")
    with pytest.raises(GuardRejected, match="尚未履行完毕"):
        driver.fire("mediator", "close", summary="……")
    driver.fire("mediator", "urge_performance")
    assert "诉讼" in driver.case.data["urges"][0]["advice"]
    assert driver.fire("mediator", "reopen", reason="未履行").state == "mediation_room"


def test_r_enforce_a_confirmed_agreement_names_each_terms_enforcement_deadline(
    driver: Driver,
) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    terms = driver.terms()
    terms.append(
        {**terms[0], "content": "支付误工费500元", "amount": 500, "due_date": "2026-10-01"}
    )
    driver.fire(
        "mediator",
        "draft_agreement",
        facts="滴水",
        issues=["费用"],
        responsibilities=driver.responsibilities(),
        terms=terms,
    )
    driver.sign_all()
    driver.apply_confirmation()
    driver.fire("clerk", "accept_application")
    driver.fire("judge", "confirm", ruling_number="（2026）浙0681民特12号")
    driver.fire("mediator", "start_followup")
    driver.fire("household", "record_visit", performance="not", notes="未按期付款")
    driver.fire("mediator", "urge_performance")
    urge = driver.case.data["urges"][0]
    # two years from each term's last day (CPL Art. 250); 2028-04-01 is a Saturday and
    # 2028-10-01 a Sunday; a deadline before the agreement is signed is refused at drafting,
    # so every term of an agreement signed in 2026 ends in a year not published yet
    assert urge["enforcement_deadlines"] == [
        {"term": 1, "due_date": "2026-04-01", "deadline": "2028-04-03", "provisional": True},
        {"term": 2, "due_date": "2026-10-01", "deadline": "2028-10-02", "provisional": True},
    ]
    assert "申请强制执行" in urge["advice"]
    assert "须于 2028-04-03 前申请（该年节假日安排尚未公布，届时请核实）" in urge["advice"]
    assert "第2条（履行期限 2026-10-01）须于 2028-10-02 前申请" in urge["advice"]


def test_court_referral_reports_outcome_to_the_court(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(
        engine,
        world,
        clock,
        spec_id="court_referral",
        origin="court_delegated",
        referring_court_id=world.units["court"],
    )
    driver.consent_all()
    driver.fire("mediator", "accept_delegation", room_id=driver.world.units["room"])
    case = driver.fire(
        "mediator", "return_to_court", reason="调解不成", termination_reason="positions_apart"
    )
    assert case.state == "returned_to_court"
    assert _outbox(engine, driver.case_id) == [
        ("referral_outcome", f"court:{world.units['court']}")
    ]


def test_court_referral_needs_the_court(engine: MediationEngine, world: World) -> None:
    with pytest.raises(InvalidInput, match="委派法院"):
        engine.open_case(
            world.intake(spec_id="court_referral", origin="court_delegated"),
            world.actors["mediator"],
        )
    with pytest.raises(InvalidInput, match="来源"):
        engine.open_case(
            world.intake(spec_id="court_referral", referring_court_id=world.units["court"]),
            world.actors["mediator"],
        )


def test_court_referral_confirmation_goes_to_the_delegating_court(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(
        engine,
        world,
        clock,
        spec_id="court_referral",
        origin="court_delegated",
        referring_court_id=world.units["court"],
    )
    driver.consent_all()
    driver.fire("mediator", "accept_delegation", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.sign_all()
    case = driver.fire("mediator", "apply_confirmation", applicants=driver.party_ids())
    assert case.court_id == world.units["court"]
    assert ("referral_outcome", f"court:{world.units['court']}") in _outbox(engine, driver.case_id)
