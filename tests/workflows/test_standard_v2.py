"""The standard flow v2 (issue 14: the law, exactly), rule by rule; v1 keeps its own tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from engine.calendar import SHANGHAI, months_later
from engine.errors import GuardRejected, InvalidInput, PayloadInvalid
from engine.ports import FixedClock
from engine.timers import TimerService
from mediation.engine import MediationEngine
from mediation.intake import CaseIntake, PartyIntake, PartyRole, RepresentativeIntake
from mediation.models.org import OrgKind
from mediation.statistics import CaseStatistics, case_statistics
from tests.flow import Driver, open_case
from tests.world import World, _unit


@pytest.fixture
def driver(engine: MediationEngine, world: World, clock: FixedClock) -> Driver:
    return open_case(engine, world, clock, spec_version=2)


def _in_effect(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.sign_all()


def _apply(driver: Driver) -> None:
    driver.apply_confirmation()


def test_new_cases_get_the_latest_version(engine: MediationEngine, world: World) -> None:
    result = engine.open_case(world.intake(spec_version=None), world.actors["mediator"])
    assert engine.get_case(result.case_id, world.actors["supervisor"]).spec_version == 2


def test_r_jc_window_no_followup_before_the_window_closes(driver: Driver) -> None:
    _in_effect(driver)
    with pytest.raises(GuardRejected, match="书面表示") as caught:
        driver.fire("mediator", "start_followup")
    assert caught.value.guard == "confirmation_window_closed_or_waived"
    driver.wait(days=29)
    with pytest.raises(GuardRejected):
        driver.fire("mediator", "start_followup")


def test_r_jc_window_followup_early_only_when_every_party_declines_in_writing(
    driver: Driver,
) -> None:
    _in_effect(driver)
    first, second = driver.party_ids()
    driver.fire("mediator", "waive_confirmation", party_id=first, statement="本人不申请司法确认")
    with pytest.raises(GuardRejected, match="李建国"):
        driver.fire("mediator", "start_followup")
    driver.fire("mediator", "waive_confirmation", party_id=second, statement="本人不申请司法确认")
    assert driver.fire("mediator", "start_followup").state == "followup"
    assert set(driver.case.data["confirmation_waivers"]) == {str(first), str(second)}


def test_r_jc_window_followup_starts_when_the_window_closes(
    driver: Driver, engine: MediationEngine
) -> None:
    _in_effect(driver)
    driver.wait(days=32)
    TimerService(engine).fire_due()
    assert driver.case.state == "followup"


def test_r_jc_package_parties_apply_again_after_withdrawal(driver: Driver) -> None:
    _in_effect(driver)
    _apply(driver)
    case = driver.fire("mediator", "withdraw_application", reason="向有管辖权的法院重新申请")
    assert case.state == "agreement_in_effect"
    assert case.data["confirmation"]["outcome"] == "withdrawn"
    with pytest.raises(GuardRejected):
        driver.fire("mediator", "start_followup")
    _apply(driver)
    assert driver.case.state == "jc_applied"


def test_r_jc_package_parties_apply_again_after_the_court_declines(driver: Driver) -> None:
    _in_effect(driver)
    _apply(driver)
    case = driver.fire("clerk", "decline_application", reason="材料不全")
    assert case.state == "agreement_in_effect"
    _apply(driver)
    assert driver.case.state == "jc_applied"


def test_r_jc_package_declined_after_the_window_goes_to_followup(
    driver: Driver, engine: MediationEngine
) -> None:
    _in_effect(driver)
    driver.wait(days=28)
    _apply(driver)
    driver.wait(days=5)
    TimerService(engine).fire_due()
    assert driver.case.state == "jc_applied"  # the window's end waits for the court
    driver.fire("clerk", "decline_application", reason="材料不全")
    with pytest.raises(GuardRejected, match="30日"):
        _apply(driver)
    TimerService(engine).fire_due()
    assert driver.case.state == "followup"


def test_r_risk_red_case_does_not_go_on_until_the_police_report(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock, spec_version=2, risk_level="red")
    driver.consent_all()
    driver.assign("lawyer", "lawyer")
    driver.assign("police", "police")
    driver.fire("mediator", "accept_at_panel")
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
    with pytest.raises(GuardRejected, match="公安机关"):
        driver.draft()
    driver.fire("mediator", "report_police", station="枫桥派出所", summary="双方冲突可能升级")
    driver.fire(
        "mediator",
        "record_session",
        place="调解室",
        record="双方陈述",
        read_back=True,
        signed_by=driver.party_ids(),
    )
    assert driver.draft().state == "agreement_drafted"


def test_r_written_required_an_oral_agreement_of_3000_yuan_is_refused(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("household", "route_to_grid")
    second = driver.party_ids()[1]
    with pytest.raises(GuardRejected, match="书面调解协议书") as caught:
        driver.fire("household", "record_oral_agreement", content="李建国赔偿王秀英3000元")
    assert caught.value.guard == "oral_agreement_without_obligations"
    with pytest.raises(GuardRejected, match="书面调解协议书"):
        driver.fire(
            "household",
            "record_oral_agreement",
            content="双方和解",
            terms=[{"obligor": second, "content": "修缮院墙"}],
        )
    case = driver.fire("household", "record_oral_agreement", content="互相道歉，今后和睦相处")
    assert case.state == "followup"


def test_r_notice_acknowledged_by_every_party_before_any_agreement(driver: Driver) -> None:
    first, second = driver.party_ids()
    for party_id in (first, second):
        driver.fire("mediator", "record_consent", party_id=party_id, source="written")
    driver.fire("household", "route_to_grid")
    with pytest.raises(GuardRejected, match="告知书") as caught:
        driver.fire("household", "record_oral_agreement", content="互相道歉")
    assert caught.value.guard == "notice_acknowledged_by_every_party"
    with pytest.raises(GuardRejected, match="告知书"):
        driver.draft("household")


def _reviewing(driver: Driver, *, panel_judge: bool) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    if panel_judge:
        driver.assign("lawyer", "lawyer")
        driver.assign("judge", "judge")
        driver.fire("mediator", "escalate")
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.sign_all()
    _apply(driver)


def test_r_jc_separation_the_panel_judge_takes_no_court_step(driver: Driver) -> None:
    _reviewing(driver, panel_judge=True)
    for trigger in ("accept_application", "decline_application"):
        with pytest.raises(GuardRejected, match="回避"):
            driver.fire("judge", trigger, reason="审查")
    driver.fire("judge2", "accept_application")
    with pytest.raises(GuardRejected, match="回避"):
        driver.fire("judge", "extend_review", reason="案情复杂", approved_by="院长")
    with pytest.raises(GuardRejected, match="回避"):
        driver.fire("judge", "reject", reason="内容不明确", ground="unclear")
    with pytest.raises(GuardRejected, match="回避"):
        driver.fire("judge", "confirm")
    assert driver.fire("judge2", "confirm").state == "confirmed"


def test_r_jc_review_an_extension_after_expiry_is_refused_with_a_message(driver: Driver) -> None:
    _reviewing(driver, panel_judge=False)
    driver.fire("clerk", "accept_application")
    driver.wait(days=16)
    with pytest.raises(GuardRejected, match="审查期限已于") as caught:
        driver.fire("judge2", "extend_review", reason="案情复杂", approved_by="院长")
    assert caught.value.guard == "review_period_running"


def test_r_close_only_when_every_term_is_performed(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    applicant, respondent = driver.party_ids()
    terms = [
        *driver.terms(),
        {**driver.terms()[0], "content": "修缮院墙", "amount": None},
    ]
    driver.fire(
        "mediator",
        "draft_agreement",
        facts="滴水",
        issues=["费用"],
        responsibilities=driver.responsibilities(),
        terms=terms,
    )
    driver.sign_all()
    for party_id in (applicant, respondent):
        driver.fire("mediator", "waive_confirmation", party_id=party_id, statement="不申请")
    driver.fire("mediator", "start_followup")
    driver.fire("mediator", "record_visit", performance="performed", term_index=1)
    with pytest.raises(GuardRejected, match="第1条") as caught:
        driver.fire("mediator", "close", summary="结案")
    assert caught.value.guard == "every_term_performed"
    driver.fire("mediator", "record_visit", performance="partly", term_index=0)
    with pytest.raises(GuardRejected, match="第1条"):
        driver.fire("mediator", "close", summary="结案")
    driver.fire("mediator", "record_visit", performance="performed", term_index=0)
    assert driver.fire("mediator", "close", summary="全部履行").state == "closed"


def test_r_dl_pm_one_calendar_month_30_january_ends_28_or_29_february() -> None:
    assert months_later(date(2026, 1, 30), 1) == date(2026, 2, 28)
    assert months_later(date(2028, 1, 30), 1) == date(2028, 2, 29)
    assert months_later(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert months_later(date(2026, 3, 2), 1) == date(2026, 4, 2)
    assert months_later(date(2026, 12, 15), 1) == date(2027, 1, 15)


def test_r_dl_pm_the_mediation_clock_is_a_calendar_month(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 1, 30, 2, 0, tzinfo=UTC))  # 30 January, 10:00 in Beijing
    driver = open_case(engine, world, clock, spec_version=2)
    with engine.db.transaction(write=False) as tx:
        [(_, due)] = tx.pending_timers(driver.case_id, "clock", "mediation_limit")
    # one month, not 30 days (which would end on 1 March); 28 February 2026 is a Saturday but
    # a make-up working day of the Spring Festival, so the period is not carried over
    assert due.astimezone(SHANGHAI).date() == date(2026, 2, 28)


def test_r_dl_pm_extension_needs_each_partys_recorded_consent(driver: Driver) -> None:
    first, second = driver.party_ids()
    with driver.engine.db.transaction(write=False) as tx:
        [(_, due_before)] = tx.pending_timers(driver.case_id, "clock", "mediation_limit")
    driver.fire("mediator", "record_extension_consent", party_id=first, source="written")
    with pytest.raises(GuardRejected, match="李建国") as caught:
        driver.fire("mediator", "extend_deadline", reason="需要鉴定", days=15)
    assert caught.value.guard == "every_party_consented_to_extension"
    driver.fire("mediator", "record_extension_consent", party_id=second, source="oral")
    case = driver.fire("mediator", "extend_deadline", reason="需要鉴定", days=15)
    with driver.engine.db.transaction(write=False) as tx:
        [(_, due_after)] = tx.pending_timers(driver.case_id, "clock", "mediation_limit")
    assert (due_after - due_before).days >= 15
    assert set(case.data["extensions"][0]["consents"]) == {str(first), str(second)}
    with pytest.raises(GuardRejected):  # consents are spent on the extension they allowed
        driver.fire("mediator", "extend_deadline", reason="再次延长", days=5)


def test_r_dl_pm_the_clock_runs_again_when_a_case_returns_to_mediation(driver: Driver) -> None:
    _in_effect(driver)
    first, second = driver.party_ids()
    for party_id in (first, second):
        driver.fire("mediator", "waive_confirmation", party_id=party_id, statement="不申请")
    driver.fire("mediator", "start_followup")
    with driver.engine.db.transaction(write=False) as tx:
        assert tx.pending_timers(driver.case_id, "clock", "mediation_limit") == []
    driver.wait(days=40)
    driver.fire("mediator", "reopen", reason="未履行")
    with driver.engine.db.transaction(write=False) as tx:
        [(_, due)] = tx.pending_timers(driver.case_id, "clock", "mediation_limit")
    assert due > driver.clock.now()


def test_r_number_1_january_0759_beijing_is_numbered_in_the_new_year(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))  # 1 January 2027, 07:59 Beijing
    result = engine.open_case(world.intake(), world.actors["mediator"])
    case = engine.get_case(result.case_id, world.actors["supervisor"])
    assert case.number.startswith("（2027）")


def test_r_jc_court_a_court_of_another_district_is_refused_with_its_reason(
    driver: Driver, sa_engine: sa.Engine
) -> None:
    with Session(sa_engine) as session:
        elsewhere = _unit(session, OrgKind.district, "绍兴市越城区", None)
        court = _unit(session, OrgKind.court, "绍兴市越城区人民法院", elsewhere)
        session.commit()
        court_id = court.id
    _in_effect(driver)
    with pytest.raises(PayloadInvalid) as caught:
        driver.fire(
            "mediator", "apply_confirmation", court_id=court_id, applicants=driver.party_ids()
        )
    [problem] = caught.value.errors
    assert problem["field"] == "court_id"
    assert "绍兴市越城区人民法院不在调解委员会所在辖区" in problem["message"]
    assert "民事诉讼法第205条" in problem["message"]
    with pytest.raises(PayloadInvalid, match="不是人民法院"):
        driver.fire(
            "mediator",
            "apply_confirmation",
            court_id=driver.world.units["committee"],
            applicants=driver.party_ids(),
        )
    _apply(driver)
    assert driver.case.court_id == driver.world.units["court"]


def _report(engine: MediationEngine) -> CaseStatistics:
    with engine.db.transaction(write=False) as tx:
        return case_statistics(
            tx,
            engine.registry,
            engine.calendar,
            start=date(2026, 3, 1),
            end=date(2026, 3, 31),
            unit_ids=None,
        )


def test_r_stats_withdrawn_and_not_accepted_applications_count_with_their_outcome(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    withdrawn, declined = (open_case(engine, world, clock, spec_version=2) for _ in range(2))
    for driver in (withdrawn, declined):
        _in_effect(driver)
        _apply(driver)
    withdrawn.fire("mediator", "withdraw_application", reason="向其他法院申请")
    declined.fire("clerk", "decline_application", reason="材料不全")
    assert _report(engine).confirmation == {
        "applied": 2,
        "confirmed": 0,
        "rejected": 0,
        "not_accepted": 1,
        "withdrawn": 1,
    }


def test_r_stats_overdue_counts_no_late_visits(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    late_visit, late_mediation = (open_case(engine, world, clock, spec_version=2) for _ in range(2))
    _in_effect(late_visit)
    driver = late_visit
    for party_id in driver.party_ids():
        driver.fire("mediator", "waive_confirmation", party_id=party_id, statement="不申请")
    driver.fire("mediator", "start_followup")
    driver.wait(days=70)  # the visits fall due and go unrecorded past their grace days
    TimerService(engine).fire_due()
    driver.wait(days=14)
    TimerService(engine).fire_due()
    assert late_visit.case.overdue  # the case is flagged for the supervisor, as before
    assert late_visit.case.data["overdue_reason"] == "visit"
    assert late_mediation.case.overdue  # its month of mediation passed too
    assert _report(engine).overdue == 1


MINOR_ID = "330681201001010015"  # born 1 January 2010: 16 in March 2026
PARENT_ID = "34052419800101001X"


def _with_minor(world: World, representative: RepresentativeIntake | None) -> CaseIntake:
    minor = PartyIntake(
        role=PartyRole.applicant,
        name="王小明",
        id_number=MINOR_ID,
        address="枫桥镇枫源村3组12号",
        legal_representative=representative,
    )
    return world.intake(spec_version=2, parties=(minor, world.intake().parties[1]))


def test_r_minor_a_party_under_18_without_a_legal_representative_is_refused(
    engine: MediationEngine, world: World
) -> None:
    with pytest.raises(InvalidInput, match="法定代理人") as caught:
        engine.open_case(_with_minor(world, None), world.actors["mediator"])
    assert caught.value.field == "parties.0.legal_representative"
    child = RepresentativeIntake(name="王小红", id_number=MINOR_ID, relation="姐姐")
    with pytest.raises(InvalidInput, match="未成年"):
        engine.open_case(_with_minor(world, child), world.actors["mediator"])


def test_r_minor_the_legal_representative_is_a_person_and_signs_for_the_minor(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    parent = RepresentativeIntake(name="王建华", id_number=PARENT_ID, relation="父亲")
    result = engine.open_case(_with_minor(world, parent), world.actors["mediator"])
    driver = Driver(engine, world, clock, result.case_id)
    with engine.db.transaction(write=False) as tx:
        minor = tx.case_parties(driver.case_id)[0]
        row = tx.one(
            "SELECT guardian_name, guardian_relation, guardian_id_masked, guardian_id_cipher "
            "FROM parties WHERE id = :id",
            {"id": minor.party_id},
        )
    assert row is not None
    assert (row[0], row[1], row[2]) == ("王建华", "父亲", "3405**********001X")
    assert row[3]
    assert PARENT_ID not in row[3]  # encrypted at rest (R-PII)
    _in_effect(driver)
    with engine.db.transaction(write=False) as tx:
        signed = {s.party_id: s.signer_name for s in tx.signatures(driver.case_id)}
    assert signed[minor.party_id] == "王建华"
    assert signed[driver.party_ids()[1]] == "李建国"


def test_r_minor_v1_keeps_its_recorded_intake(engine: MediationEngine, world: World) -> None:
    minor = PartyIntake(role=PartyRole.applicant, name="王小明", id_number=MINOR_ID)
    result = engine.open_case(
        world.intake(parties=(minor, world.intake().parties[1])), world.actors["mediator"]
    )
    assert engine.get_case(result.case_id, world.actors["supervisor"]).spec_version == 1
