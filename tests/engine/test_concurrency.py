"""Many threads at once: one success per version, gap-free numbers; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from engine.errors import ConcurrentUpdate
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from tests.conftest import make_engine
from tests.world import build_world

THREADS = 8


def _race(work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:  # the outcome under test, collected per thread
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _engine(
    any_sa_engine: sa.Engine, clock: FixedClock, calendar: Any
) -> tuple[MediationEngine, Any]:
    world = build_world(any_sa_engine)
    return make_engine(any_sa_engine, clock, calendar), world


def test_parallel_fires_on_one_case_exactly_one_wins(
    any_sa_engine: sa.Engine, clock: FixedClock, calendar: Any
) -> None:
    engine, world = _engine(any_sa_engine, clock, calendar)
    case_id = engine.open_case(world.intake(), world.actors["mediator"]).case_id
    for round_version in (1, 2, 3):

        def report(i: int, version: int = round_version) -> object:
            payload = {"station": f"派出所{i}", "summary": "可能激化"}
            return engine.fire(case_id, "report_police", world.actors["mediator"], version, payload)

        outcomes = _race(report)
        kinds = Counter(type(o).__name__ for o in outcomes)
        assert kinds == {"FireResult": 1, "ConcurrentUpdate": THREADS - 1}, outcomes
        assert all(
            o.current_version == round_version + 1
            for o in outcomes
            if isinstance(o, ConcurrentUpdate)
        )
    case = engine.get_case(case_id, world.actors["mediator"])
    assert case.version == 4
    assert len(case.data["police_reports"]) == 3
    assert engine.verify_audit([case_id]) == []


def test_r_number_gap_free_under_concurrent_intake(
    any_sa_engine: sa.Engine, clock: FixedClock, calendar: Any
) -> None:
    engine, world = _engine(any_sa_engine, clock, calendar)
    outcomes = _race(lambda _: engine.open_case(world.intake(), world.actors["mediator"]))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    numbers = sorted(engine.get_case(o.case_id, world.actors["mediator"]).number for o in outcomes)
    assert numbers == [f"（2026）枫源调字第{n:04d}号" for n in range(1, THREADS + 1)]
