"""Deadlines, reminders and follow-up visits fire at the right time, once, through crashes and
several workers; a frozen clock drives every test."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from engine.calendar import SHANGHAI, WorkingCalendar
from engine.ports import FixedClock
from engine.timers import TimerService
from mediation.engine import MediationEngine
from tests.conftest import make_engine
from tests.flow import Driver, open_case
from tests.rows import outbox as _outbox
from tests.rows import timers as _timers
from tests.world import World, build_world


def _due(engine: MediationEngine, case_id: int, kind: str, name: str) -> datetime:
    with engine.db.transaction(write=False) as tx:
        row = tx.one(
            "SELECT due_at FROM timers WHERE case_id = :c AND kind = :k AND name = :n "
            "AND status = 'pending'",
            {"c": case_id, "k": kind, "n": name},
        )
        assert row is not None, _timers(engine, case_id)
        return tx.codec.dt_in_required(row[0])


def _tick_at(timers: TimerService, clock: FixedClock, at: datetime) -> Any:
    clock.set(at)
    return timers.fire_due()


@pytest.fixture
def driver(engine: MediationEngine, world: World, clock: FixedClock) -> Driver:
    return open_case(engine, world, clock)


@pytest.fixture
def timers(engine: MediationEngine) -> TimerService:
    return TimerService(engine)


def _in_effect(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.sign_all()
    assert driver.case.state == "agreement_in_effect"


def test_central_household_stage_escalates_itself_when_its_deadline_passes(
    driver: Driver, timers: TimerService, clock: FixedClock
) -> None:
    driver.consent_all()
    driver.fire("household", "route_to_grid")
    due = _due(driver.engine, driver.case_id, "state_deadline", "central_household")
    assert due.astimezone(SHANGHAI).date().isoformat() == "2026-03-09"  # 7 days from Mon 2 Mar
    assert _tick_at(timers, clock, due - timedelta(seconds=1)).fired == 0
    assert driver.case.state == "central_household"
    report = _tick_at(timers, clock, due + timedelta(seconds=1))
    assert (report.fired, report.lags) == (1, [1.0])
    case = driver.case
    assert (case.state, case.level) == ("mediation_room", "community")
    last = driver.engine.history(driver.case_id, driver.world.actors["supervisor"])[-1]
    assert (last.trigger, last.actor_name, last.reason) == (
        "escalate",
        "系统",
        "期限届满：中心户调解期限",
    )
    assert _tick_at(timers, clock, due + timedelta(days=1)).claimed == 0  # never twice


def test_deadline_ending_on_national_day_runs_to_the_next_working_day(
    engine: MediationEngine, world: World, clock: FixedClock, timers: TimerService
) -> None:
    clock.set(datetime(2026, 9, 24, 2, 0, tzinfo=UTC))  # Thu 24 Sep; +7 days is 1 Oct
    driver = open_case(engine, world, clock)
    driver.consent_all()
    driver.fire("household", "route_to_grid")
    due = _due(engine, driver.case_id, "state_deadline", "central_household")
    assert due.astimezone(SHANGHAI).date().isoformat() == "2026-10-08"
    assert _tick_at(timers, clock, datetime(2026, 10, 7, 12, tzinfo=SHANGHAI)).fired == 0
    assert _tick_at(timers, clock, datetime(2026, 10, 9, 0, 1, tzinfo=SHANGHAI)).fired == 1
    assert driver.case.state == "mediation_room"


def test_r_dl_pm_one_month_flags_overdue_and_notifies_the_supervisor(
    driver: Driver, timers: TimerService, clock: FixedClock
) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    due = _due(driver.engine, driver.case_id, "clock", "mediation_limit")
    _tick_at(timers, clock, due - timedelta(minutes=1))
    assert not driver.case.overdue, driver.case.data
    _tick_at(timers, clock, due + timedelta(minutes=1))
    case = driver.case
    assert case.overdue
    assert case.state == "mediation_room"  # flagged, not moved
    assert ("overdue", "supervisor") in _outbox(driver.engine, driver.case_id)


def test_r_jc_window_reminds_parties_and_mediator_then_closes(
    driver: Driver, timers: TimerService, clock: FixedClock
) -> None:
    _in_effect(driver)
    closes = _due(driver.engine, driver.case_id, "state_deadline", "agreement_in_effect")
    reminder = _due(driver.engine, driver.case_id, "reminder", "agreement_in_effect")
    assert closes - reminder == timedelta(days=5)
    _tick_at(timers, clock, reminder + timedelta(minutes=1))
    sent = _outbox(driver.engine, driver.case_id)
    assert ("confirmation_window_closing", "parties") in sent
    assert ("confirmation_window_closing", "mediator") in sent
    assert driver.case.state == "agreement_in_effect"  # still open for the application
    _tick_at(timers, clock, closes + timedelta(minutes=1))
    assert driver.case.state == "followup"  # the window closed; supervision goes on


def test_r_jc_accept_and_review_deadlines_remind_the_court(
    driver: Driver, timers: TimerService, clock: FixedClock
) -> None:
    _in_effect(driver)
    world = driver.world
    driver.fire(
        "mediator",
        "apply_confirmation",
        court_id=world.units["court"],
        applicants=driver.party_ids(),
    )
    filed = clock.now()
    accept_due = _due(driver.engine, driver.case_id, "state_deadline", "jc_applied")
    _tick_at(timers, clock, accept_due + timedelta(minutes=1))
    court = f"court:{world.units['court']}"
    assert _outbox(driver.engine, driver.case_id).count(("court_reminder", court)) == 1
    driver.fire("clerk", "accept_application")
    review_due = _due(driver.engine, driver.case_id, "state_deadline", "jc_reviewing")
    driver.fire("judge", "extend_review", reason="案情复杂", approved_by="院长")
    extended = _due(driver.engine, driver.case_id, "state_deadline", "jc_reviewing")
    # accepted Fri 6 Mar: 15 days end Sat 21 Mar, so the period runs to Mon 23 Mar; the
    # extension lengthens the period itself to 25 days (Tue 31 Mar), not the moved end
    assert review_due.astimezone(SHANGHAI).date().isoformat() == "2026-03-23"
    assert extended.astimezone(SHANGHAI).date().isoformat() == "2026-03-31"
    _tick_at(timers, clock, review_due + timedelta(minutes=1))
    assert _outbox(driver.engine, driver.case_id).count(("court_reminder", court)) == 1
    hard = _due(driver.engine, driver.case_id, "clock", "jc_hard_limit")
    assert hard.astimezone(SHANGHAI).date() >= (filed + timedelta(days=30)).date()
    _tick_at(timers, clock, max(hard, extended) + timedelta(minutes=1))
    assert _outbox(driver.engine, driver.case_id).count(("court_reminder", court)) == 3


def test_r_followup_visits_per_term_and_standard_days_then_overdue(
    driver: Driver, timers: TimerService, clock: FixedClock
) -> None:
    _in_effect(driver)
    visits = driver.case.data["visits_due"]
    assert set(visits) == {"term_0", "day_7", "day_30"}
    assert {v["visitor"] for v in visits.values()} == {driver.world.users["household"]}
    term_due = _due(driver.engine, driver.case_id, "followup", "term_0")
    assert term_due.astimezone(SHANGHAI).date().isoformat() == "2026-04-02"  # term due 1 Apr
    day7 = _due(driver.engine, driver.case_id, "followup", "day_7")
    _tick_at(timers, clock, day7 + timedelta(minutes=1))
    assert driver.case.data["visits_due"]["day_7"]["status"] == "due"
    household = f"user:{driver.world.users['household']}"
    assert ("visit_due", household) in _outbox(driver.engine, driver.case_id)
    # recorded in time: the overdue watch is cancelled
    driver.fire("household", "record_visit", visit="day_7", performance="partly")
    assert driver.case.data["visits_due"]["day_7"]["status"] == "done"
    assert ("visit_overdue", "day_7", "cancelled") in _timers(driver.engine, driver.case_id)
    # the term visit comes due and nobody goes: flagged after the grace period
    _tick_at(timers, clock, term_due + timedelta(minutes=1))
    overdue_at = _due(driver.engine, driver.case_id, "visit_overdue", "term_0")
    _tick_at(timers, clock, overdue_at + timedelta(minutes=1))
    case = driver.case
    assert case.data["visits_due"]["term_0"]["status"] == "overdue"
    assert case.overdue
    assert ("visit_overdue", "supervisor") in _outbox(driver.engine, driver.case_id)
    driver.fire("household", "record_visit", term_index=0, performance="performed")
    assert driver.case.data["visits_due"]["day_30"]["status"] == "overdue"
    assert driver.case.overdue  # the 30-day visit is late as well
    driver.fire("household", "record_visit", performance="performed")  # the oldest open one
    assert driver.case.data["visits_due"]["day_30"]["status"] == "done"
    assert not driver.case.overdue


def test_closing_a_case_cancels_its_pending_timers(
    driver: Driver, timers: TimerService, clock: FixedClock
) -> None:
    driver.consent_all()
    driver.fire("household", "route_to_grid")
    driver.fire(
        "household",
        "party_refuses",
        reason="不愿调解",
        party_id=driver.party_ids()[1],
        source="oral",
    )
    assert driver.case.state == "withdrawn"
    assert all(status != "pending" for _, _, status in _timers(driver.engine, driver.case_id))
    assert _tick_at(timers, clock, clock.now() + timedelta(days=400)).claimed == 0


def test_restart_after_a_crash_between_claim_and_completion_fires_each_once(
    driver: Driver, engine: MediationEngine, clock: FixedClock
) -> None:
    driver.consent_all()
    driver.fire("household", "route_to_grid")
    due = _due(engine, driver.case_id, "state_deadline", "central_household")
    clock.set(due + timedelta(minutes=1))
    crashed = TimerService(engine, lease=timedelta(minutes=5))
    claimed = crashed.claim(clock.now(), 10)  # the worker dies here, before running them
    assert [t.name for t in claimed] == ["central_household"]
    restarted = TimerService(engine, lease=timedelta(minutes=5))
    assert restarted.fire_due().claimed == 0  # the lease still holds
    clock.set(clock.now() + timedelta(minutes=6))
    report = restarted.fire_due()
    assert (report.claimed, report.fired) == (1, 1)
    assert driver.case.state == "mediation_room"
    # the dead worker wakes up and finishes its old claim: it is no longer its to run
    assert crashed.run(claimed[0], clock.now()) == "skipped"
    events = engine.history(driver.case_id, driver.world.actors["supervisor"])
    assert [e.trigger for e in events].count("escalate") == 1


def test_a_timer_whose_guard_refuses_is_failed_visibly_and_can_be_retried(
    driver: Driver, engine: MediationEngine, timers: TimerService, clock: FixedClock
) -> None:
    driver.consent_all()
    driver.fire("household", "route_to_grid")
    with engine.db.transaction(write=True) as tx:
        tx.execute(
            "UPDATE timers SET on_expiry = 'close' WHERE case_id = :c AND kind = 'state_deadline'",
            {"c": driver.case_id},
        )
    due = _due(engine, driver.case_id, "state_deadline", "central_household")
    report = _tick_at(timers, clock, due + timedelta(minutes=1))
    assert report.skipped == 1  # `close` is no way out of this state: nothing happens
    assert ("state_deadline", "central_household", "cancelled") in _timers(engine, driver.case_id)


def test_provisional_due_dates_move_when_the_year_arrives(
    engine: MediationEngine, world: World, clock: FixedClock, timers: TimerService
) -> None:
    clock.set(datetime(2026, 12, 28, 2, 0, tzinfo=UTC))  # +7 days reaches into 2027
    driver = open_case(engine, world, clock)
    driver.consent_all()
    driver.fire("household", "route_to_grid")
    with engine.db.transaction(write=False) as tx:
        row = tx.one("SELECT provisional, due_at FROM timers WHERE kind = 'state_deadline'")
    assert row is not None
    assert bool(row[0])
    assert _due(
        engine, driver.case_id, "state_deadline", "central_household"
    ).date().isoformat() == ("2027-01-04")
    from engine.calendar import YearData

    known = WorkingCalendar.from_chinesecalendar().with_year(
        YearData(
            2027,
            frozenset(date(2027, 1, d) for d in (1, 2, 3, 4)),
            frozenset(),
            "test",
        )
    )
    assert timers.recompute_provisional(known) >= 1
    due = _due(engine, driver.case_id, "state_deadline", "central_household")
    assert due.astimezone(SHANGHAI).date().isoformat() == "2027-01-05"
    with engine.db.transaction(write=False) as tx:
        row = tx.one("SELECT provisional FROM timers WHERE kind = 'state_deadline'")
    assert row is not None
    assert not bool(row[0])


def test_two_workers_fire_a_thousand_due_timers_exactly_once(
    any_sa_engine: sa.Engine, clock: FixedClock, calendar: WorkingCalendar
) -> None:
    world = build_world(any_sa_engine)
    engine = make_engine(any_sa_engine, clock, calendar)
    case_ids = [
        engine.open_case(world.intake(), world.actors["mediator"]).case_id for _ in range(10)
    ]
    with engine.db.transaction(write=True) as tx:
        for n in range(1000):
            tx.insert_timer(
                case_id=case_ids[n % 10],
                kind="reminder",
                name=f"bulk_{n}",
                due_at=clock.now() - timedelta(seconds=n),
                on_expiry="remind_court_acceptance",
                provisional=False,
                working_days=False,
                days=1,
                now=clock.now(),
            )
    workers = [TimerService(engine, batch=50), TimerService(engine, batch=50)]
    reports: list[Any] = [None, None]
    barrier = threading.Barrier(2)

    def work(index: int) -> None:
        barrier.wait()
        reports[index] = workers[index].fire_due()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(r.fired for r in reports) == 1000
    assert all(r.failed == 0 and r.retried == 0 for r in reports)
    with engine.db.engine.connect() as connection:
        kinds = Counter(
            row[0]
            for row in connection.execute(
                sa.text(
                    "SELECT trigger FROM audit_events WHERE trigger = 'remind_court_acceptance'"
                )
            )
        )
        notices = connection.execute(
            sa.text("SELECT count(*) FROM outbox WHERE kind = 'court_reminder'")
        ).scalar_one()
    assert kinds["remind_court_acceptance"] == 1000
    assert notices == 1000
    assert engine.verify_audit() == []
