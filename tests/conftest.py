"""Fixtures: a fresh database per test (SQLite always, PostgreSQL when configured), a frozen
clock and the small world of tests/world.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.wiring import SERVICE_STEPS, load_registry, make_sa_engine
from engine.calendar import WorkingCalendar
from engine.pii import AesGcmProtector
from engine.ports import FixedClock
from engine.registry import Registry
from mediation.engine import MediationEngine
from mediation.models import METADATA
from mediation.repository import MediationDatabase
from tests.world import World, build_world


def _database_of_this_worker(url: str | None) -> str | None:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own (test_gw0,
    test_gw1, …), created on first use: the fixtures drop and recreate the public schema, which
    two workers cannot share."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base = sa.engine.make_url(url)
    name = f"{base.database}_{worker}"
    server = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with server.connect() as connection:
        known = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
        if not known:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    server.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


PG_URL = _database_of_this_worker(os.environ.get("FENGQIAO_TEST_DATABASE_URL"))
START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # a Monday, 09:30 in Beijing

_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _reset_postgres(url: str) -> sa.Engine:
    engine = make_sa_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    return engine


def empty_database(backend: str, tmp_path: Path) -> sa.Engine:
    """A database with no tables: a fresh SQLite file, or PostgreSQL's public schema reset."""
    if backend == "postgresql":
        if not PG_URL:
            pytest.skip("FENGQIAO_TEST_DATABASE_URL is not set")
        return _reset_postgres(PG_URL)
    return make_sa_engine(f"sqlite:///{tmp_path / 'test.db'}")


def make_database(backend: str, tmp_path: Path) -> sa.Engine:
    engine = empty_database(backend, tmp_path)
    METADATA.create_all(engine)
    return engine


@pytest.fixture
def sa_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_database("sqlite", tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture(params=_BACKENDS)
def any_sa_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_database(request.param, tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(scope="session")
def calendar() -> WorkingCalendar:
    return WorkingCalendar.from_chinesecalendar()


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry()


def make_engine(
    sa_engine: sa.Engine,
    clock: FixedClock,
    calendar: WorkingCalendar,
    *,
    open_services: frozenset[str] = frozenset(SERVICE_STEPS),
) -> MediationEngine:
    """An engine as a deployment without documents runs it (the flow's own rules, no PDFs):
    service steps are open at the generic door unless `open_services` says otherwise."""
    return MediationEngine(
        MediationDatabase(sa_engine),
        load_registry(),
        clock=clock,
        calendar=calendar,
        pii=AesGcmProtector(b"k" * 32),
        open_services=open_services,
    )


@pytest.fixture
def world(sa_engine: sa.Engine) -> World:
    return build_world(sa_engine)


@pytest.fixture
def engine(
    sa_engine: sa.Engine, clock: FixedClock, calendar: WorkingCalendar, world: World
) -> MediationEngine:
    del world  # seeded first
    return make_engine(sa_engine, clock, calendar)
