"""Province scale (issue 12), the growing half of bench/scale.py: a world of 10 streets × 10
communities (each a committee, four grids, a 中心户 per grid and a mediator per committee); six
template cases driven through the real flows by the engine (open, resolved in the grid,
confirmed by the court and visited, failed, refused, drafted); then N copies of them spread
over the units and over 2024-01-01..2026-11-30, each with new parties, its case number, its
assignments, visits, facts and its own hash chain (every event re-hashed for its case:
`fengqiao audit verify` passes), written set-based (COPY on PostgreSQL, executemany on
SQLite), never one engine call per case; the per-unit counts are then recounted from the
facts set-based, as migration 0016 does. Timers, sessions, signatures and documents are not
copied.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.audit import GENESIS_HASH, event_hash
from engine.calendar import SHANGHAI, WorkingCalendar
from engine.models.columns import SQLITE_DATETIME_FORMAT
from engine.ports import FixedClock
from mediation import aggregates, facts
from mediation.engine import MediationEngine
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
    "assignments": ("assigned_at", "ended_at", "consented_at"),
    "visits": ("visited_at",),
    "audit_events": ("at",),
    "case_facts": ("registered_at", "agreement_effective_at", "closed_at"),
    "case_fact_units": ("registered_at",),
}
TABLES = tuple(DATETIMES)  # in the order they are written (parties before case_parties)


@dataclass
class Scale:
    """The grown database and who is measured on it."""

    engine: MediationEngine
    cases: int
    seconds: float
    supervisor: int
    admin: int
    household: int
    mediator: int
    numbers: list[str]
    names: list[str]


# --- growing -------------------------------------------------------------------------------


def _templates(engine: MediationEngine, world: World, clock: FixedClock) -> dict[str, int]:
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
    with engine.db.transaction(write=True) as tx:  # as migration 0016 back-fills them
        aggregates.rebuild(tx)
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
