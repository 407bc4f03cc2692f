"""A database with the engine's tables and this host's case row (tables.py: none of
mediation's tables or columns), a small organisation (one unit, a few users) seeded with
plain SQL, and an Engine running only the flows under flows/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import Actor, Engine, FixedClock, Registry, WorkingCalendar
from engine.pii import AesGcmProtector
from engine.repository import Database
from engine.repository.connection import configure_engine
from engine.timers import TimerService
from tests.engine_generic.hooks import HOOKS
from tests.engine_generic.tables import METADATA, GenericTx

FLOWS = Path(__file__).parent / "flows"
START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # a Monday morning in Beijing
USERS = {"alice": "employee", "bob": "manager", "carol": "director", "dan": "buyer"}
USERS |= {"erin": "seller", "mallory": "employee"}


@dataclass
class Office:
    """The seeded organisation: its unit and an actor per user, by name."""

    unit_id: int
    actors: dict[str, Actor]


def _url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'generic.db'}"
    url = os.environ.get("FENGQIAO_TEST_DATABASE_URL")
    if not url:
        pytest.skip("FENGQIAO_TEST_DATABASE_URL is not set")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = sa.engine.make_url(url)  # one database per xdist worker, as tests/conftest.py
    name = f"{base.database}_{worker}"
    server = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with server.connect() as connection:
        known = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).scalar()
        if not known:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    server.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sa_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(_url(request.param, tmp_path), poolclass=sa.pool.NullPool)
    configure_engine(engine)
    if request.param == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    METADATA.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def office(sa_engine: sa.Engine) -> Office:
    with sa_engine.begin() as connection:
        unit_id = connection.execute(
            sa.text(
                "INSERT INTO org_units (kind, name, short_name, path, address) "
                "VALUES ('department', '研发部', '研发', '/', '') RETURNING id"
            )
        ).scalar_one()
        connection.execute(
            sa.text("UPDATE org_units SET path = :p WHERE id = :id"),
            {"p": f"/{unit_id}/", "id": unit_id},
        )
        actors: dict[str, Actor] = {}
        for name, role in USERS.items():
            user_id = connection.execute(
                sa.text(
                    "INSERT INTO users (username, display_name, active, token_epoch) "
                    "VALUES (:u, :u, true, 0) RETURNING id"
                ),
                {"u": name},
            ).scalar_one()
            actors[name] = Actor(user_id, name, frozenset({role}), frozenset({unit_id}))
    return Office(unit_id, actors)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry.from_directory(FLOWS, HOOKS)


@pytest.fixture
def engine(sa_engine: sa.Engine, clock: FixedClock, registry: Registry, office: Office) -> Engine:
    del office  # seeded first
    return Engine(
        Database(sa_engine, tx_class=GenericTx),
        registry,
        clock=clock,
        calendar=WorkingCalendar.from_chinesecalendar(),
        pii=AesGcmProtector(b"g" * 32),
    )


@pytest.fixture
def timers(engine: Engine) -> TimerService:
    return TimerService(engine)
