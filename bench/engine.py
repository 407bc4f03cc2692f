"""Persisted transitions per second through Engine.fire, beside two baselines doing the same
reads and writes: the bare driver (the limit) and a straightforward SQLModel-session fire.

Each fire: read the case, check the version, update it with `WHERE version = expected`, append
a hash-chained audit event, commit. The engine's run fires the standard flow's
`reassess_risk` self-loop with the risk level the case already has, so every fire runs an
action and a JSON update but moves none of the case's statistics facts (most fires: a session
recorded, a document signed); a third run alternates the level, so that every fire also
rewrites the case's facts and the counts they add to (engine/facts.py). The statements each
engine fire sends are counted beside the raw driver's three.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.wiring import load_registry
from bench.common import fresh_database
from engine.calendar import WorkingCalendar
from engine.models.cases import AuditEvent, Case
from engine.models.columns import dumps
from engine.pii import AesGcmProtector
from engine.ports import FixedClock
from engine.records import Actor
from engine.repository import Database
from engine.runtime import Engine
from tests.world import build_world

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
BLUE = {"risk_level": "blue"}  # the level the bench's case has: no fact moves


def _rate(run: Callable[[int], None], n: int, repeats: int = 3) -> float:
    """Best of `repeats` runs of n fires, in fires per second."""
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        run(n)
        rates.append(n / (time.perf_counter() - started))
    return max(rates)


class _Unchecked(Engine):
    """Engine.fire as it was before declared fields: the payload goes to the actions as is.
    Measured beside the real engine, in the same run, to price the declaration check."""

    def check_payload(self, ctx: Any, actor: Actor, payload: Any) -> dict[str, Any]:
        del ctx, actor
        return dict(payload)


Runner = Callable[[int], None]


def bench_engine(sa_engine: sa.Engine) -> tuple[Runner, Runner, Runner, Callable[[], float]]:
    """Fires through the engine, through the same engine without the declaration check, and
    through the engine with a risk level that changes on every fire, on one case (so all pay
    for the same rows); and what counts the statements of one engine fire."""
    world = build_world(sa_engine)
    engines = [
        kind(
            Database(sa_engine),
            load_registry(),
            clock=FixedClock(START),
            calendar=WorkingCalendar.from_chinesecalendar(),
            pii=AesGcmProtector(b"b" * 32),
        )
        for kind in (Engine, _Unchecked)
    ]
    actor: Actor = world.actors["mediator"]
    case_id = engines[0].open_case(world.intake(), actor).case_id
    state = {"version": 1}

    def runner(engine: Engine, levels: tuple[str, ...] = ("blue",)) -> Runner:
        def run(n: int) -> None:
            # the raw driver's runs, interleaved, move the version on (and leave it blue, as
            # every run here does: n is even)
            state["version"] = engine.get_case(case_id, actor).version
            for index in range(n):
                payload = {"risk_level": levels[index % len(levels)]}
                result = engine.fire(
                    case_id, "reassess_risk", actor, state["version"], payload, "复核"
                )
                state["version"] = result.version

        return run

    def statements_per_fire(n: int = 100) -> float:
        database = engines[0].db
        sql = database.sql
        sent: list[str] = []

        def counting(text: str) -> str:
            sent.append(text)
            return sql(text)

        state["version"] = engines[0].get_case(case_id, actor).version
        database.sql = counting  # type: ignore[method-assign]
        try:
            for _ in range(n):
                engines[0].fire(case_id, "reassess_risk", actor, state["version"], BLUE, "复核")
                state["version"] += 1
        finally:
            del database.sql
        return len(sent) / n

    moving = runner(engines[0], ("red", "blue"))
    return runner(engines[0]), runner(engines[1]), moving, statements_per_fire


def _event_hash(prev: str, body: list[Any]) -> str:
    return hashlib.sha256(f"{prev}|{dumps(body)}".encode()).hexdigest()


def bench_raw(sa_engine: sa.Engine, case_id: int) -> Callable[[int], None]:
    """The same statements on the bare DB-API connection, one transaction each."""
    sqlite = sa_engine.dialect.name == "sqlite"

    def mark(name: str) -> str:
        return f":{name}" if sqlite else f"%({name})s"

    select_sql = (
        f"SELECT version, audit_seq, audit_head, state, data FROM cases WHERE id = {mark('id')}"
    )
    if not sqlite:
        select_sql += " FOR UPDATE"
    update_sql = (
        f"UPDATE cases SET risk_level = {mark('risk')}, version = {mark('nv')}, "
        f"audit_seq = {mark('seq')}, audit_head = {mark('head')}, updated_at = {mark('now')} "
        f"WHERE id = {mark('id')} AND version = {mark('v')}"
    )
    insert_sql = (
        "INSERT INTO audit_events (case_id, seq, at, actor_id, actor_name, actor_roles, trigger, "
        "source_state, dest_state, version, payload, reason, prev_hash, hash) VALUES ("
        + ", ".join(
            mark(n)
            for n in (
                "c",
                "seq",
                "now",
                "aid",
                "an",
                "ar",
                "t",
                "s",
                "d",
                "nv",
                "p",
                "r",
                "prev",
                "h",
            )
        )
        + ")"
    )
    now: Any = START.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else START

    def run(n: int) -> None:
        for _ in range(n):
            raw = sa_engine.raw_connection()
            cursor: Any = raw.cursor()
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(select_sql, {"id": case_id})
            version, seq, head, state, data = cursor.fetchone()
            json.loads(data)
            body = [
                case_id,
                seq + 1,
                "t",
                1,
                "m",
                "mediator",
                "reassess_risk",
                state,
                state,
                version + 1,
                {"risk_level": "blue"},
                "复核",
            ]
            digest = _event_hash(head, body)
            cursor.execute(
                update_sql,
                {
                    "risk": "blue",
                    "nv": version + 1,
                    "seq": seq + 1,
                    "head": digest,
                    "now": now,
                    "id": case_id,
                    "v": version,
                },
            )
            cursor.execute(
                insert_sql,
                {
                    "c": case_id,
                    "seq": seq + 1,
                    "now": now,
                    "aid": 1,
                    "an": "m",
                    "ar": "mediator",
                    "t": "reassess_risk",
                    "s": state,
                    "d": state,
                    "nv": version + 1,
                    "p": dumps({"risk_level": "blue"}),
                    "r": "复核",
                    "prev": head,
                    "h": digest,
                },
            )
            raw.commit()
            cursor.close()
            raw.close()

    return run


def bench_sqlmodel(sa_engine: sa.Engine, case_id: int) -> Callable[[int], None]:
    """What one would write first: a Session per fire, ORM objects, flush, commit."""

    def run(n: int) -> None:
        for _ in range(n):
            with Session(sa_engine) as session:
                case = session.exec(select(Case).where(Case.id == case_id)).one()
                version = case.version
                body = [
                    case_id,
                    case.audit_seq + 1,
                    "t",
                    1,
                    "m",
                    "mediator",
                    "reassess_risk",
                    case.state,
                    case.state,
                    version + 1,
                    {"risk_level": "blue"},
                    "复核",
                ]
                digest = _event_hash(case.audit_head, body)
                event = AuditEvent(
                    case_id=case_id,
                    seq=case.audit_seq + 1,
                    at=START,
                    actor_id=1,
                    actor_name="m",
                    actor_roles="mediator",
                    trigger="reassess_risk",
                    source_state=case.state,
                    dest_state=case.state,
                    version=version + 1,
                    payload={"risk_level": "blue"},
                    reason="复核",
                    prev_hash=case.audit_head,
                    hash=digest,
                )
                updated = session.execute(
                    sa.update(Case)
                    .where(col(Case.id) == case_id, col(Case.version) == version)
                    .values(
                        risk_level="blue",
                        version=version + 1,
                        audit_seq=case.audit_seq + 1,
                        audit_head=digest,
                        updated_at=START,
                    )
                )
                assert updated.rowcount == 1  # type: ignore[attr-defined]
                session.add(event)
                session.commit()

    return run


def run(postgres_url: str | None = None, n: int = 3000) -> dict[str, dict[str, float]]:
    """Measure on SQLite (and PostgreSQL when a URL is given); returns rates and ratios."""
    results: dict[str, dict[str, float]] = {}
    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    if postgres_url:
        backends.append(("postgresql", postgres_url))
    for name, url in backends:
        with tempfile.TemporaryDirectory() as folder:
            sa_engine = fresh_database(url, Path(folder), "bench.db")
            fire, unchecked, moving, statements_per_fire = bench_engine(sa_engine)
            with sa_engine.connect() as connection:
                case_id = int(connection.execute(sa.text("SELECT min(id) FROM cases")).scalar_one())
            raw_run = bench_raw(sa_engine, case_id)
            runs = {"engine": fire, "unchecked": unchecked, "moving": moving, "raw": raw_run}
            for warm_up in runs.values():  # compiled spec, statement cache, pool
                warm_up(200)
            rates: dict[str, list[float]] = {kind: [] for kind in runs}
            for _ in range(3):  # interleaved, so all see the same machine (it is shared)
                for kind, run_n in runs.items():
                    rates[kind].append(_rate(run_n, n, repeats=1))
            engine_rate, unchecked_rate, raw_rate = (
                max(rates[kind]) for kind in ("engine", "unchecked", "raw")
            )
            statements = statements_per_fire()
            orm_run = bench_sqlmodel(sa_engine, case_id)
            orm_run(100)
            orm_rate = _rate(orm_run, max(n // 3, 300))
            sa_engine.dispose()
        results[name] = {
            "engine_fires_per_s": engine_rate,
            "unchecked_fires_per_s": unchecked_rate,
            "moving_fires_per_s": max(rates["moving"]),
            "statements_per_fire": statements,
            "check_cost": 1 - engine_rate / unchecked_rate,
            "raw_driver_per_s": raw_rate,
            "sqlmodel_session_per_s": orm_rate,
            "engine_vs_raw": engine_rate / raw_rate,
            "engine_vs_sqlmodel": engine_rate / orm_rate,
        }
    return results


def describe(results: dict[str, dict[str, float]]) -> str:
    lines = [
        "| database | Engine.fire /s | without the declaration check /s | check costs (≤ 10 %) "
        "| moving a fact every fire /s | statements a fire (raw: 3) "
        "| raw driver /s | SQLModel session /s "
        "| engine ÷ raw (≥ 0.5 on SQLite) | engine ÷ SQLModel (≥ 5) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['engine_fires_per_s']:,.0f} | {r['unchecked_fires_per_s']:,.0f} "
            f"| {r['check_cost']:.1%} | {r['moving_fires_per_s']:,.0f} "
            f"| {r['statements_per_fire']:g} | {r['raw_driver_per_s']:,.0f} "
            f"| {r['sqlmodel_session_per_s']:,.0f} "
            f"| {r['engine_vs_raw']:.2f} | {r['engine_vs_sqlmodel']:.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import os

    print(describe(run(os.environ.get("FENGQIAO_BENCH_DATABASE_URL"))))
