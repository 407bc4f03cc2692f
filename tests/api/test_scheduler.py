"""The scheduler host: missed timers fire as soon as a process starts, and holiday data
dropped into the calendar folder is taken up by the next tick."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from api.scheduler import Ticker, TickSummary, start_background
from engine.calendar import SHANGHAI
from engine.ports import FixedClock
from engine.timers import TimerService
from mediation.engine import MediationEngine
from tests.flow import open_case
from tests.world import World


def _ticker(engine: MediationEngine, folder: Path) -> Ticker:
    return Ticker(engine, timers=TimerService(engine), dispatcher=None, calendar_dir=folder)


def test_missed_timers_fire_at_start_up(
    engine: MediationEngine, world: World, clock: FixedClock, tmp_path: Path
) -> None:
    driver = open_case(engine, world, clock)
    driver.consent_all()
    driver.fire("household", "route_to_grid")
    clock.set(clock.now() + timedelta(days=30))  # the process was down past the deadline
    ticker = _ticker(engine, tmp_path)
    ticked = threading.Event()
    summaries: list[TickSummary] = []

    def seen(summary: TickSummary) -> None:
        summaries.append(summary)
        ticked.set()

    ticker.on_tick = seen
    scheduler = start_background(ticker, seconds=3600)  # only the start-up tick matters here
    try:
        assert ticked.wait(timeout=20), "the start-up tick never ran"
    finally:
        scheduler.shutdown(wait=True)
    assert summaries[0].timers.fired == 1
    assert driver.case.state == "mediation_room"


def test_a_new_year_file_is_picked_up_and_provisional_deadlines_move(
    engine: MediationEngine, world: World, clock: FixedClock, tmp_path: Path
) -> None:
    clock.set(clock.now().replace(year=2026, month=12, day=28))
    driver = open_case(engine, world, clock)
    driver.consent_all()
    driver.fire("household", "route_to_grid")
    ticker = _ticker(engine, tmp_path)
    assert ticker.tick().calendar_reloaded is False
    (tmp_path / "2027.yaml").write_text(
        "year: 2027\nsource: 通知\nholidays:\n  - {name: 元旦, from: 2027-01-01, to: 2027-01-04}\n",
        encoding="utf-8",
    )
    summary = ticker.tick()
    assert summary.calendar_reloaded
    assert summary.moved_timers >= 1
    with engine.db.transaction(write=False) as tx:
        row = tx.one("SELECT due_at, provisional FROM timers WHERE kind = 'state_deadline'")
        assert row is not None
        due = tx.codec.dt_in_required(row[0]).astimezone(SHANGHAI)
    assert (due.date().isoformat(), bool(row[1])) == ("2027-01-05", False)


def test_a_broken_year_file_keeps_the_old_calendar(engine: MediationEngine, tmp_path: Path) -> None:
    ticker = _ticker(engine, tmp_path)
    before = engine.calendar
    (tmp_path / "2027.yaml").write_text("year: nope\n", encoding="utf-8")
    assert ticker.tick().calendar_reloaded is False
    assert engine.calendar is before
