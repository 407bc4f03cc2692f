"""`fengqiao init` builds the schema through Alembic: the migrations must match the models."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api import migrate
from engine.calendar import WorkingCalendar
from engine.ports import FixedClock
from mediation import aggregates, facts, search
from mediation.models import METADATA
from tests.conftest import START, empty_database, make_engine
from tests.flow import open_case
from tests.world import build_world


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_migrations_at_head_match_the_models(backend: str, tmp_path: Path) -> None:
    engine = empty_database(backend, tmp_path)
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection, warnings.catch_warnings():
            # SQLAlchemy cannot reflect expression indexes (users' lower(username)); the
            # tests below prove that one exists and works on both databases.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
            context = MigrationContext.configure(
                connection, opts={"include_name": migrate.include_name}
            )
            differences = compare_metadata(context, METADATA)
            tables = set(sa.inspect(connection).get_table_names())
        assert differences == []
        assert set(METADATA.tables) <= tables
        migrate.upgrade(engine)  # a second run is a no-op, as `fengqiao init` promises
    finally:
        engine.dispose()


def test_r_stats_migration_0012_back_fills_the_facts_of_existing_cases(tmp_path: Path) -> None:
    engine = empty_database("sqlite", tmp_path)
    try:
        migrate.upgrade(engine)
        world, clock = build_world(engine), FixedClock(START)
        fengqiao = make_engine(engine, clock, WorkingCalendar.from_chinesecalendar())
        resolved = open_case(fengqiao, world, clock)
        resolved.consent_all()
        resolved.fire("household", "route_to_grid")
        resolved.fire("household", "record_oral_agreement", content="互相道歉")
        open_case(fengqiao, world, clock)
        with fengqiao.db.transaction(write=False) as tx:
            before = facts.stored(tx)
            units = {case_id: facts.stored_units(tx, case_id) for case_id in before}
        assert {f.result for f in before.values()} == {"successful", "in_progress"}
        with engine.begin() as connection:  # back to before the facts existed
            command.downgrade(migrate.alembic_config(connection), "0009")
        migrate.upgrade(engine)
        with fengqiao.db.transaction(write=False) as tx:
            assert facts.stored(tx) == before
            assert {case_id: facts.stored_units(tx, case_id) for case_id in before} == units
    finally:
        engine.dispose()


def test_r_stats_migration_0016_back_fills_the_counts_of_existing_cases(tmp_path: Path) -> None:
    engine = empty_database("sqlite", tmp_path)
    try:
        migrate.upgrade(engine)
        world, clock = build_world(engine), FixedClock(START)
        fengqiao = make_engine(engine, clock, WorkingCalendar.from_chinesecalendar())
        resolved = open_case(fengqiao, world, clock)
        resolved.consent_all()
        resolved.fire("household", "route_to_grid")
        resolved.fire("household", "record_oral_agreement", content="互相道歉")
        open_case(fengqiao, world, clock)
        with fengqiao.db.transaction(write=False) as tx:
            counts = aggregates.stored(tx)
        assert counts
        with engine.begin() as connection:  # back to before the counts existed
            command.downgrade(migrate.alembic_config(connection), "0017")
        migrate.upgrade(engine)
        with fengqiao.db.transaction(write=False) as tx:
            assert aggregates.stored(tx) == counts == aggregates.expected(tx)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_migration_0020_renames_the_consent_column_keeping_what_it_recorded(
    backend: str, tmp_path: Path
) -> None:
    engine = empty_database(backend, tmp_path)
    try:
        migrate.upgrade(engine)
        world, clock = build_world(engine), FixedClock(START)
        fengqiao = make_engine(engine, clock, WorkingCalendar.from_chinesecalendar())
        case = open_case(fengqiao, world, clock)
        case.consent_all()
        case.assign("lawyer", "lawyer")
        with fengqiao.db.transaction(write=False) as tx:
            before = tx.assignments(case.case_id)
        assert [a.consented_at is not None for a in before if a.role == "lawyer"] == [True]
        with engine.begin() as connection:
            command.downgrade(migrate.alembic_config(connection), "0019")
        with engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("assignments")}
        assert "parties_consented_at" in columns
        assert "consented_at" not in columns
        migrate.upgrade(engine)
        with fengqiao.db.transaction(write=False) as tx:
            assert tx.assignments(case.case_id) == before
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_migration_0019_gives_the_trigram_indexes_the_options_a_new_schema_has(
    tmp_path: Path,
) -> None:
    """Fast update on (a bulk load's trigrams merged sorted) with a small pending list."""
    migrated = empty_database("postgresql", tmp_path)
    try:
        migrate.upgrade(migrated)
        with migrated.connect() as connection:
            options: dict[str, str] = dict(
                connection.exec_driver_sql(
                    "SELECT relname, array_to_string(reloptions, ',') FROM pg_class "
                    "WHERE relname IN ('ix_cases_number_trgm', 'ix_parties_name_trgm')"
                ).all()
            )
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
            connection.commit()
        METADATA.create_all(migrated)
        with migrated.connect() as connection:
            created: dict[str, str] = dict(
                connection.exec_driver_sql(
                    "SELECT relname, array_to_string(reloptions, ',') FROM pg_class "
                    "WHERE relname IN ('ix_cases_number_trgm', 'ix_parties_name_trgm')"
                ).all()
            )
    finally:
        migrated.dispose()
    expected = "fastupdate=on,gin_pending_list_limit=256"
    assert options == created == dict.fromkeys(search.POSTGRES_INDEXES, expected)
