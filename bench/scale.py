"""Province scale (issue 12): grow a database to N cases and time what slows down with size.

Growing: a world of 10 streets × 10 communities (each a committee, four grids, a 中心户 per
grid and a mediator per committee); six template cases driven through the real flows by the
engine (open, resolved in the grid, confirmed by the court and visited, failed, refused,
drafted); then N copies of them spread over the units and over 2024-01-01..2026-11-30, each
with new parties, its case number, its assignments, visits, facts and its own hash chain
(every event re-hashed for its case: `fengqiao audit verify` passes), written set-based
(COPY on PostgreSQL, executemany on SQLite), never one engine call per case. Timers,
sessions, signatures and documents are not copied.

Measured warm, in process (the service or query an API route calls, no HTTP): the district
report from 2026-01-01 and from 2024-01-01, a search by case number (administrator), by party
name (a 中心户, scoped), a 中心户's first page and a mediator's first page; p50 / p95.

    python -m bench.scale --cases 100000 --url postgresql+psycopg://…/fengqiao_scale
    python -m bench.scale --cases 100000 --sqlite var/scale.db
    make bench BENCH=scale   # FENGQIAO_SCALE_SIZES (default 10000), FENGQIAO_SCALE_DATABASE_URL
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from api.authz import Principal, build_principal
from api.services import statistics as stats_service
from api.wiring import make_sa_engine
from bench.common import fresh_database
from bench.scale_grow import CALENDAR, LAST, Scale, grow
from engine.ports import FixedClock
from mediation import aggregates
from mediation.models import METADATA
from mediation.queries import CaseFilters, list_cases
from tests.conftest import make_engine

REPEAT = 30


# --- measuring -----------------------------------------------------------------------------


def _timed(call: Callable[[int], object], repeat: int) -> tuple[float, float]:
    for i in range(3):
        call(i)
    took = []
    for i in range(repeat):
        began = time.perf_counter()
        call(i)
        took.append((time.perf_counter() - began) * 1000)
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, round(0.95 * (len(took) - 1)))]


def measure(scale: Scale, repeat: int = REPEAT) -> dict[str, tuple[float, float]]:
    engine = scale.engine

    def principal(user_id: int) -> Principal:
        with engine.db.transaction(write=False) as tx:
            return build_principal(tx, user_id)

    supervisor, admin = principal(scale.supervisor), principal(scale.admin)
    household, mediator = principal(scale.household), principal(scale.mediator)
    end = date(2026, 12, 31)

    def page(who: Principal, text: Callable[[int], str | None]) -> Callable[[int], object]:
        def call(i: int) -> object:
            with engine.db.transaction(write=False) as tx:
                return list_cases(
                    tx, who.actor, CaseFilters(text=text(i)), before_id=None, limit=20
                )

        return call

    def report(first: date) -> Callable[[int], object]:
        return lambda _i: stats_service.report(engine, supervisor, None, first, end)

    own = _own_numbers(scale)
    found = page(household, lambda i: scale.names[i % len(scale.names)])(0)
    if not found:  # a small database may hold no case of that grid
        print("  note: the 中心户's party-name search found nothing to time but misses")
    return {
        "district report from 2026-01-01 (supervisor)": _timed(report(date(2026, 1, 1)), repeat),
        "district report from 2024-01-01 (supervisor)": _timed(
            report(date(2024, 1, 1)), max(5, repeat // 3)
        ),
        "search by case number (admin)": _timed(
            page(admin, lambda i: scale.numbers[i % len(scale.numbers)]), repeat
        ),
        "search by case number (中心户), typed with half-width brackets": _timed(
            page(household, lambda i: _half_width(own[i % len(own)])), repeat
        ),
        "search by case number (mediator)": _timed(
            page(mediator, lambda i: own[i % len(own)]), repeat
        ),
        "search by party name (中心户)": _timed(
            page(household, lambda i: scale.names[i % len(scale.names)]), repeat
        ),
        "a 中心户's first page": _timed(page(household, lambda _i: None), repeat),
        "a mediator's first page": _timed(page(mediator, lambda _i: None), repeat),
        "a 中心户's first page while reports run": _beside(
            report(date(2024, 1, 1)), page(household, lambda _i: None), repeat
        ),
    }


def _own_numbers(scale: Scale) -> list[str]:
    """Numbers of cases the 中心户 is assigned (their committee's mediator sees them too)."""
    with scale.engine.db.transaction(write=False) as tx:
        rows = tx.all(
            "SELECT c.number FROM assignments a JOIN cases c ON c.id = a.case_id "
            "WHERE a.user_id = :u AND a.ended_at IS NULL ORDER BY a.case_id LIMIT 100",
            {"u": scale.household},
        )
    return [str(n) for (n,) in rows] or scale.numbers


def _half_width(number: str) -> str:
    return number.replace("（", "(").replace("）", ")")


def _beside(
    background: Callable[[int], object], call: Callable[[int], object], repeat: int
) -> tuple[float, float]:
    """`call` timed while another thread runs `background` (the district report from 2024)
    back to back, as a supervisor's dashboard would beside everyone else's pages."""
    stop = threading.Event()
    ran = [0]

    def loop() -> None:
        while not stop.is_set():
            background(0)
            ran[0] += 1

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        return _timed(call, repeat)
    finally:
        stop.set()
        thread.join()
        print(f"  {ran[0]} reports ran beside the timed pages")


def existing(sa_engine: sa.Engine) -> Scale:
    """A database `grow` made earlier, to measure again (`--measure-only`)."""
    engine = make_engine(sa_engine, FixedClock(LAST), CALENDAR)

    def user(name: str) -> int:
        with sa_engine.connect() as conn:
            found = conn.execute(sa.text("SELECT id FROM users WHERE username = :u"), {"u": name})
            return int(found.scalar_one())

    household = user("hh1-1-0")
    with sa_engine.connect() as conn:
        cases = int(conn.exec_driver_sql("SELECT COUNT(*) FROM cases").scalar_one())
        numbers = [
            str(n)
            for (n,) in conn.execute(
                sa.text("SELECT number FROM cases WHERE id % 997 = 0 ORDER BY id LIMIT 100")
            )
        ]
        names = [
            str(n)
            for (n,) in conn.execute(
                sa.text(
                    "SELECT p.name FROM assignments a JOIN case_parties cp ON cp.case_id = "
                    "a.case_id JOIN parties p ON p.id = cp.party_id WHERE a.user_id = :u "
                    "AND a.ended_at IS NULL AND cp.role = 'applicant' LIMIT 100"
                ),
                {"u": household},
            )
        ]
    return Scale(
        engine=engine,
        cases=cases,
        seconds=0.0,
        supervisor=user("supervisor"),
        admin=user("scale_admin"),
        household=household,
        mediator=user("med1-1"),
        numbers=numbers,
        names=names,
    )


def _recount(scale: Scale) -> None:
    """The counts of a database grown before they existed, timed (migration 0016's work)."""
    METADATA.create_all(scale.engine.db.engine)  # only the tables missing
    began = time.perf_counter()
    with scale.engine.db.transaction(write=True) as tx:
        rows = aggregates.rebuild(tx)
    print(f"  counts recounted: {rows:,} rows in {time.perf_counter() - began:.0f} s")
    with scale.engine.db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "ANALYZE unit_period_counts"
        )


# --- make bench / CLI ----------------------------------------------------------------------


def _sizes() -> list[int]:
    return [int(s) for s in os.environ.get("FENGQIAO_SCALE_SIZES", "10000").split(",") if s]


def _scale_url(bench_url: str | None) -> str | None:
    url = os.environ.get("FENGQIAO_SCALE_DATABASE_URL")
    if url or bench_url is None:
        return url
    return bench_url.rsplit("/", 1)[0] + "/fengqiao_scale"


def run(postgres_url: str | None) -> list[dict[str, Any]]:
    """Each size on PostgreSQL (when reachable) and on SQLite; figures per size."""
    results = []
    url = _scale_url(postgres_url)
    with tempfile.TemporaryDirectory() as folder:
        for n in _sizes():
            for backend in (["postgresql"] if url else []) + ["sqlite"]:
                results.append(
                    grow_and_measure(n, url if backend == "postgresql" else None, Path(folder))
                )
    return results


def grow_and_measure(n: int, url: str | None, folder: Path) -> dict[str, Any]:
    sa_engine = fresh_database(url, folder, f"scale-{n}.db")
    backend = "PostgreSQL" if url else "SQLite"
    print(f"growing {backend} to {n:,} cases")
    scale = grow(sa_engine, n)
    size = _size(sa_engine)
    figures = measure(scale)
    sa_engine.dispose()
    return {
        "backend": backend,
        "cases": n,
        "grow_s": scale.seconds,
        "size": size,
        "figures": figures,
    }


def _size(sa_engine: sa.Engine) -> str:
    with sa_engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return str(
                conn.exec_driver_sql(
                    "SELECT pg_size_pretty(pg_database_size(current_database()))"
                ).scalar_one()
            )
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
        page = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
        return f"{pages * page / 1024 / 1024:.0f} MB"


def describe(results: list[dict[str, Any]]) -> str:
    if not results:
        return "(nothing measured)"
    columns = [f"{r['backend']} {r['cases']:,}" for r in results]
    lines = [
        "| operation, p50 / p95 ms | " + " | ".join(columns) + " |",
        "| --- |" + " ---: |" * len(columns),
    ]
    for operation in results[0]["figures"]:
        cells = []
        for r in results:
            p50, p95 = r["figures"][operation]
            cells.append(f"{p50:.1f} / {p95:.1f}")
        lines.append(f"| {operation} | " + " | ".join(cells) + " |")
    lines.append(
        "| grown in (s), database size | "
        + " | ".join(f"{r['grow_s']:.0f} s, {r['size']}" for r in results)
        + " |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument(
        "--measure-only", action="store_true", help="measure the database as it is, grow nothing"
    )
    parser.add_argument("--url", help="a PostgreSQL database, emptied first")
    parser.add_argument("--sqlite", type=Path, help="a SQLite file, replaced")
    parser.add_argument(
        "--recount",
        action="store_true",
        help="with --measure-only: (re)build the per-unit counts first, as migration 0016 does",
    )
    args = parser.parse_args(argv)
    if args.measure_only:
        url = args.url or f"sqlite:///{args.sqlite}"
        scale = existing(make_sa_engine(url))
        if args.recount:
            _recount(scale)
        measured: dict[str, Any] = {
            "backend": "PostgreSQL" if args.url else "SQLite",
            "cases": scale.cases,
            "grow_s": 0.0,
            "size": _size(scale.engine.db.engine),
            "figures": measure(scale),
        }
        print(describe([measured]))
        print(json.dumps(measured, ensure_ascii=False))
        return 0
    if args.sqlite is not None and args.sqlite.exists():
        args.sqlite.unlink()
    folder = args.sqlite.parent if args.sqlite else Path(tempfile.mkdtemp())
    sa_engine = fresh_database(args.url, folder, args.sqlite.name if args.sqlite else "scale.db")
    scale = grow(sa_engine, args.cases)
    result = {
        "backend": "PostgreSQL" if args.url else "SQLite",
        "cases": args.cases,
        "grow_s": scale.seconds,
        "size": _size(sa_engine),
        "figures": measure(scale),
    }
    print(describe([result]))
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
