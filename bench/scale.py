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
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from api.authz import Principal, build_principal
from api.services import statistics as stats_service
from api.wiring import make_sa_engine
from bench.common import fresh_database
from engine import facts
from engine.audit import GENESIS_HASH, event_hash
from engine.calendar import SHANGHAI, WorkingCalendar
from engine.models import SQLITE_DATETIME_FORMAT
from engine.ports import FixedClock
from engine.queries import CaseFilters, list_cases
from engine.runtime import Engine
from tests.conftest import make_engine
from tests.flow import Driver, open_case
from tests.world import World, build_world

STREETS, COMMUNITIES, GRIDS = 10, 10, 4
FIRST = datetime(2024, 1, 1, tzinfo=SHANGHAI)
LAST = datetime(2026, 11, 30, 18, tzinfo=SHANGHAI)
TEMPLATE_WEIGHTS = {
    "grid": 55,
    "confirmed": 10,
    "failed": 8,
    "refused": 2,
    "drafted": 5,
    "open": 20,
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文辉力红玲峰春雪梅琳"
CHUNK = 20_000
CALENDAR = WorkingCalendar.from_chinesecalendar()
REPEAT = 30
DATETIMES = {
    "cases": (
        "created_at",
        "updated_at",
        "state_entered_at",
        "agreement_effective_at",
        "closed_at",
    ),
    "parties": ("created_at",),
    "case_parties": ("consent_at", "notice_acknowledged_at"),
    "assignments": ("assigned_at", "ended_at", "parties_consented_at"),
    "visits": ("visited_at",),
    "audit_events": ("at",),
    "case_facts": ("registered_at", "agreement_effective_at", "closed_at"),
    "case_fact_units": ("registered_at",),
}
TABLES = tuple(DATETIMES)  # in the order they are written (parties before case_parties)


@dataclass
class Scale:
    """The grown database and who is measured on it."""

    engine: Engine
    cases: int
    seconds: float
    supervisor: int
    admin: int
    household: int
    mediator: int
    numbers: list[str]
    names: list[str]


# --- growing -------------------------------------------------------------------------------


def _templates(engine: Engine, world: World, clock: FixedClock) -> dict[str, int]:
    """One case per way a case ends, driven by the engine through the real flows."""
    clock.set(FIRST.replace(day=2, hour=9))
    made: dict[str, int] = {}
    made["open"] = open_case(engine, world, clock).case_id
    grid = open_case(engine, world, clock)
    grid.consent_all()
    grid.fire("household", "route_to_grid")
    grid.fire("household", "record_oral_agreement", content="各自修缮院墙，互不追究")
    made["grid"] = grid.case_id
    refused = open_case(engine, world, clock)
    refused.fire(
        "mediator", "reject_inadmissible", reason="已由法院受理", referral_advice="向法院了解"
    )
    made["refused"] = refused.case_id
    drafted, failed, confirmed = (open_case(engine, world, clock) for _ in range(3))
    for driver in (drafted, failed, confirmed):
        driver.consent_all()
        driver.fire("mediator", "accept_at_room", room_id=world.units["room"])
    drafted.assign("mediator", "mediator")
    drafted.draft()
    made["drafted"] = drafted.case_id
    clock.set(FIRST.replace(day=5, hour=10))
    failed.fire("mediator", "terminate", reason="谈不拢", termination_reason="positions_apart")
    made["failed"] = failed.case_id
    _confirm(confirmed, world)
    made["confirmed"] = confirmed.case_id
    return made


def _confirm(driver: Driver, world: World) -> None:
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.sign_all()
    driver.fire(
        "mediator",
        "apply_confirmation",
        court_id=world.units["court"],
        applicants=driver.party_ids(),
    )
    driver.fire("clerk", "accept_application")
    driver.fire("judge", "confirm", ruling_number="（2024）浙0681民特12号")
    driver.fire("household", "record_visit", performance="performed", satisfaction="satisfied")


@dataclass
class _Unit:
    committee: int
    abbr: str
    grids: list[int]
    households: list[int]
    mediator: int
    ancestry: dict[int, set[int]]  # grid → every unit above the committee or the grid


def _units(conn: sa.Connection, world: World) -> tuple[list[_Unit], int]:
    """The streets, communities, committees, grids and their people; and an administrator."""
    district = world.units["district"]

    def unit(kind: str, name: str, parent: int, path: str, short: str = "") -> tuple[int, str]:
        new = conn.execute(
            sa.text(
                "INSERT INTO org_units (kind, name, short_name, parent_id, path, address) "
                "VALUES (:k, :n, :s, :p, '/', '') RETURNING id"
            ),
            {"k": kind, "n": name, "s": short, "p": parent},
        ).scalar_one()
        full = f"{path}{new}/"
        conn.execute(sa.text("UPDATE org_units SET path = :p WHERE id = :i"), {"p": full, "i": new})
        return int(new), full

    def user(username: str, display: str, unit_id: int, role: str) -> int:
        new = conn.execute(
            sa.text(
                "INSERT INTO users (username, display_name, active, token_epoch) "
                "VALUES (:u, :d, true, 0) RETURNING id"
            ),
            {"u": username, "d": display},
        ).scalar_one()
        conn.execute(
            sa.text("INSERT INTO memberships (user_id, org_unit_id, role) VALUES (:u, :o, :r)"),
            {"u": new, "o": unit_id, "r": role},
        )
        return int(new)

    district_path = conn.execute(
        sa.text("SELECT path FROM org_units WHERE id = :i"), {"i": district}
    ).scalar_one()
    found = []
    for s in range(STREETS):
        street, street_path = unit("street", f"第{s + 1}街道", district, district_path)
        for c in range(COMMUNITIES):
            label = f"{s + 1}-{c + 1}"
            community, path = unit("community", f"{label}社区", street, street_path)
            committee, committee_path = unit(
                "committee", f"{label}社区人民调解委员会", community, path, f"S{s:02d}{c:02d}"
            )
            grids, households, ancestry = [], [], {}
            for g in range(GRIDS):
                grid, grid_path = unit("grid", f"{label}社区第{g + 1}网格", community, path)
                grids.append(grid)
                households.append(
                    user(f"hh{label}-{g}", f"中心户{label}-{g}", grid, "central_household")
                )
                ancestry[grid] = facts.ancestry([committee_path, grid_path])
            mediator = user(f"med{label}", f"调解员{label}", committee, "mediator")
            found.append(
                _Unit(committee, f"S{s:02d}{c:02d}", grids, households, mediator, ancestry)
            )
    admin = user("scale_admin", "省级管理员", district, "admin")
    return found, admin


def _rows(conn: sa.Connection, table: str, case_ids: Sequence[int]) -> list[dict[str, Any]]:
    key = "id" if table == "cases" else "case_id"
    ids = ", ".join(str(i) for i in case_ids)
    if table == "parties":
        query = (
            "SELECT * FROM parties WHERE id IN "
            f"(SELECT party_id FROM case_parties WHERE case_id IN ({ids}))"
        )
    else:
        query = f"SELECT * FROM {table} WHERE {key} IN ({ids})"
    order = " ORDER BY id" if table not in ("case_facts", "case_fact_units") else ""
    result = conn.exec_driver_sql(query + order)
    rows = [dict(zip(result.keys(), r, strict=True)) for r in result]
    for row in rows:
        for name in DATETIMES[table]:
            value = row[name]
            if isinstance(value, str):
                value = datetime.fromisoformat(value)
            if isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            row[name] = value
    return rows


class _Writer:
    """Rows to tables, set-based: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.columns: dict[str, list[str]] = {}

    def write(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = self.columns.setdefault(table, list(rows[0]))
        for row in rows:
            for name in DATETIMES[table]:
                value = row[name]
                if isinstance(value, datetime):
                    utc = value.astimezone(UTC)
                    row[name] = (
                        utc.replace(tzinfo=None).strftime(SQLITE_DATETIME_FORMAT)
                        if self.sqlite
                        else utc
                    )
        raw = self.conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        names = ", ".join(columns)
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks})",
                [tuple(row[c] for c in columns) for row in rows],
            )
            return
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])


def _times(n: int, rng: random.Random) -> list[datetime]:
    span = (LAST - FIRST).total_seconds()
    return [FIRST + timedelta(seconds=s) for s in sorted(rng.random() * span for _ in range(n))]


def _clone(
    template: dict[str, list[dict[str, Any]]],
    case_id: int,
    ids: dict[str, int],
    at: datetime,
    unit: _Unit,
    grid_index: int,
    number: str,
    names: tuple[str, str],
    users: dict[int, int],
) -> dict[str, list[dict[str, Any]]]:
    """A copy of a template case for `case_id`, registered at `at` in `unit`."""
    base = template["cases"][0]
    shift = at - base["created_at"]
    grid = unit.grids[grid_index]
    out: dict[str, list[dict[str, Any]]] = {}

    def shifted(table: str, row: dict[str, Any], **changes: Any) -> dict[str, Any]:
        new = {**row, **changes}
        for name in DATETIMES[table]:
            if new[name] is not None:
                new[name] = new[name] + shift
        return new

    party_ids = {}
    out["parties"] = []
    for index, party in enumerate(template["parties"]):
        ids["parties"] += 1
        party_ids[party["id"]] = ids["parties"]
        out["parties"].append(shifted("parties", party, id=ids["parties"], name=names[index % 2]))
    out["case_parties"] = []
    for row in template["case_parties"]:
        ids["case_parties"] += 1
        out["case_parties"].append(
            shifted(
                "case_parties",
                row,
                id=ids["case_parties"],
                case_id=case_id,
                party_id=party_ids[row["party_id"]],
            )
        )
    out["assignments"] = []
    for row in template["assignments"]:
        ids["assignments"] += 1
        user = row["user_id"]
        user = unit.households[grid_index] if users.get(user) == 0 else users.get(user, user)
        out["assignments"].append(
            shifted("assignments", row, id=ids["assignments"], case_id=case_id, user_id=user)
        )
    out["visits"] = []
    for row in template["visits"]:
        ids["visits"] += 1
        out["visits"].append(shifted("visits", row, id=ids["visits"], case_id=case_id))
    out["audit_events"] = []
    head = GENESIS_HASH
    for row in template["audit_events"]:
        ids["audit_events"] += 1
        payload = json.loads(row["payload"])
        if row["trigger"] == "open":
            payload["number"] = number
        event = shifted("audit_events", row, id=ids["audit_events"], case_id=case_id)
        event["payload"] = json.dumps(
            payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )
        event["prev_hash"] = head
        event["hash"] = head = event_hash(
            prev_hash=head,
            case_id=case_id,
            seq=row["seq"],
            at=event["at"],
            actor_id=row["actor_id"],
            actor_name=row["actor_name"],
            actor_roles=row["actor_roles"],
            trigger=row["trigger"],
            source_state=row["source_state"],
            dest_state=row["dest_state"],
            version=row["version"],
            payload=payload,
            reason=row["reason"],
        )
        out["audit_events"].append(event)
    year = at.astimezone(SHANGHAI).year
    seq = int(number.rsplit("第", 1)[1][:-1])
    out["cases"] = [
        shifted(
            "cases",
            base,
            id=case_id,
            number=number,
            committee_id=unit.committee,
            org_unit_id=unit.committee,
            grid_id=grid,
            year=year,
            seq=seq,
            audit_head=head,
        )
    ]
    fact = shifted(
        "case_facts",
        template["case_facts"][0],
        case_id=case_id,
        committee_id=unit.committee,
        org_unit_id=unit.committee,
        grid_id=grid,
    )
    ended = {"successful": "agreement_effective_at", "failed": "closed_at"}.get(fact["result"])
    if ended is not None and fact[ended] is not None:  # the weekdays moved with the dates
        fact["working_days"] = CALENDAR.working_days_between(
            at.astimezone(SHANGHAI).date(), fact[ended].astimezone(SHANGHAI).date()
        )
    out["case_facts"] = [fact]
    out["case_fact_units"] = [
        {
            "unit_id": u,
            "case_id": case_id,
            "registered_at": at,
            **{name: fact[name] for name in facts.UNIT_FACTS},
        }
        for u in sorted(unit.ancestry[grid])
    ]
    return out


def grow(sa_engine: sa.Engine, n: int, *, seed: int = 12) -> Scale:
    """The database at `sa_engine`, emptied by the caller, grown to `n` cases (+ templates)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    clock = FixedClock(FIRST)
    world = build_world(sa_engine)
    engine = make_engine(sa_engine, clock, CALENDAR)
    made = _templates(engine, world, clock)
    with sa_engine.begin() as conn:
        units, admin = _units(conn, world)
        templates = {
            key: {t: _rows(conn, t, [case_id]) for t in TABLES} for key, case_id in made.items()
        }
        ids = {
            t: int(conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {t}").scalar_one())
            for t in ("cases", "parties", "case_parties", "assignments", "visits", "audit_events")
        }
    users = {world.users["household"]: 0}  # 0: the grid's own 中心户
    keys = list(TEMPLATE_WEIGHTS)
    weights = list(TEMPLATE_WEIGHTS.values())
    counters: dict[tuple[int, int], int] = {}
    numbers: list[str] = []
    names: list[str] = []
    times = _times(n, rng)
    for start in range(0, n, CHUNK):
        batch: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
        for at in times[start : start + CHUNK]:
            recent = (LAST - at).days < 45
            key = "open" if recent and rng.random() < 0.6 else rng.choices(keys, weights)[0]
            unit = units[rng.randrange(len(units))]
            grid_index = rng.randrange(GRIDS)
            year = at.astimezone(SHANGHAI).year
            seq = counters[(unit.committee, year)] = counters.get((unit.committee, year), 0) + 1
            number = f"（{year}）{unit.abbr}调字第{seq:05d}号"
            first, second = (
                rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN) for _ in range(2)
            )
            pair = (first, second)
            ids["cases"] += 1
            clone = _clone(
                templates[key], ids["cases"], ids, at, unit, grid_index, number, pair, users
            )
            if rng.random() < 0.001:
                numbers.append(number)
            if grid_index == 0 and unit is units[0]:
                names.append(pair[0])
            for table, rows in clone.items():
                batch[table].extend(rows)
        with sa_engine.begin() as conn:
            writer = _Writer(conn)
            for table in TABLES:
                writer.write(table, batch[table])
        print(f"  {min(start + CHUNK, n):>9,} cases  {time.perf_counter() - started:6.0f} s")
    with sa_engine.begin() as conn:
        for (office, year), last in counters.items():
            conn.execute(
                sa.text(
                    "INSERT INTO case_counters (office_id, year, last_seq) VALUES (:o, :y, :s)"
                ),
                {"o": office, "y": year, "s": last},
            )
        if conn.dialect.name == "postgresql":
            for table in ids:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
    with sa_engine.connect() as conn:  # as autovacuum would after a bulk load
        postgres = conn.dialect.name == "postgresql"
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM ANALYZE" if postgres else "ANALYZE"
        )
    return Scale(
        engine=engine,
        cases=n,
        seconds=time.perf_counter() - started,
        supervisor=world.users["supervisor"],
        admin=admin,
        household=units[0].households[0],
        mediator=units[0].mediator,
        numbers=numbers or ["调字第00001号"],
        names=names or ["王伟"],
    )


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
        "search by party name (中心户)": _timed(
            page(household, lambda i: scale.names[i % len(scale.names)]), repeat
        ),
        "a 中心户's first page": _timed(page(household, lambda _i: None), repeat),
        "a mediator's first page": _timed(page(mediator, lambda _i: None), repeat),
    }


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
    args = parser.parse_args(argv)
    if args.measure_only:
        url = args.url or f"sqlite:///{args.sqlite}"
        scale = existing(make_sa_engine(url))
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
