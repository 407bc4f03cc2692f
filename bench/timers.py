"""The timer tick under load: 100,000 pending timers, how fast a tick fires due ones, and the
lag from due time to fired at a steady 1,000 due per minute with the default 1 s tick.

Every timer is a real expiry action (`remind_court_acceptance`): it locks its case, appends a
hash-chained audit event, writes an outbox message and completes its row, all in one commit.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from api.wiring import load_registry
from bench.common import fresh_database
from engine.calendar import WorkingCalendar
from engine.pii import AesGcmProtector
from engine.ports import SystemClock
from engine.timers import TimerService
from mediation.engine import MediationEngine
from mediation.repository import MediationDatabase
from tests.world import build_world

PENDING = 100_000
BURST = 3_000  # due at once, for the throughput figure
RATE_PER_MINUTE = 1_000
STEADY_SECONDS = 30
TICK_SECONDS = 1.0


def _insert(engine: MediationEngine, case_ids: list[int], dues: list[datetime]) -> None:
    now = datetime.now(UTC)
    with engine.db.transaction(write=True) as tx:
        for n, due in enumerate(dues):
            tx.insert_timer(
                case_id=case_ids[n % len(case_ids)],
                kind="reminder",
                name=f"bench_{n}",
                due_at=due,
                on_expiry="remind_court_acceptance",
                provisional=False,
                working_days=False,
                days=1,
                now=now,
            )


def _measure(url: str | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        sa_engine = fresh_database(url, Path(folder), "timers.db")
        world = build_world(sa_engine)
        engine = MediationEngine(
            MediationDatabase(sa_engine),
            load_registry(),
            clock=SystemClock(),
            calendar=WorkingCalendar.from_chinesecalendar(),
            pii=AesGcmProtector(b"b" * 32),
        )
        case_ids = [
            engine.open_case(world.intake(), world.actors["mediator"]).case_id for _ in range(200)
        ]
        far = datetime.now(UTC) + timedelta(days=365)
        _insert(engine, case_ids, [far + timedelta(seconds=n) for n in range(PENDING)])
        service = TimerService(engine, batch=500)

        # throughput: a burst of due timers among the 100,000 pending ones
        past = datetime.now(UTC) - timedelta(minutes=1)
        _insert(engine, case_ids, [past] * BURST)
        started = time.perf_counter()
        report = service.fire_due()
        burst_seconds = time.perf_counter() - started
        assert report.fired == BURST, report

        # steady state: 1,000 due per minute, a tick every second, lag measured to commit
        count = RATE_PER_MINUTE * STEADY_SECONDS // 60
        begin = datetime.now(UTC) + timedelta(seconds=2)
        interval = 60 / RATE_PER_MINUTE
        dues = [begin + timedelta(seconds=n * interval) for n in range(count)]
        _insert(engine, case_ids, dues)
        lags: list[float] = []
        deadline = time.monotonic() + STEADY_SECONDS + 5
        while len(lags) < count and time.monotonic() < deadline:
            tick_start = time.monotonic()
            for timer in service.claim(datetime.now(UTC), 500):
                if service.run(timer, datetime.now(UTC)) == "fired":
                    lags.append((datetime.now(UTC) - timer.due_at).total_seconds())
            time.sleep(max(0.0, TICK_SECONDS - (time.monotonic() - tick_start)))
        sa_engine.dispose()
    lags.sort()
    return {
        "burst_per_s": BURST / burst_seconds,
        "lag_p50_s": statistics.median(lags),
        "lag_p99_s": lags[int(len(lags) * 0.99) - 1],
        "steady_fired": float(len(lags)),
        "steady_expected": float(count),
    }


def run(postgres_url: str | None = None) -> dict[str, dict[str, float]]:
    results = {"sqlite": _measure(None)}
    if postgres_url:
        results["postgresql"] = _measure(postgres_url)
    return results


def describe(results: dict[str, Any]) -> str:
    lines = [
        f"{PENDING:,} pending timers; a burst of {BURST:,} due at once; then "
        f"{RATE_PER_MINUTE:,} due per minute for {STEADY_SECONDS} s "
        f"with a {TICK_SECONDS:g} s tick.",
        "",
        "| database | burst: timers fired /s | steady: fired / due | lag p50 | lag p99 (< 2 s) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['burst_per_s']:,.0f} | {r['steady_fired']:.0f} / "
            f"{r['steady_expected']:.0f} | {r['lag_p50_s']:.2f} s | {r['lag_p99_s']:.2f} s |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import os

    print(describe(run(os.environ.get("FENGQIAO_BENCH_DATABASE_URL"))))
