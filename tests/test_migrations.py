"""`fengqiao init` builds the schema through Alembic: the migrations must match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api import migrate
from engine.models import METADATA
from tests.conftest import empty_database


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_migrations_at_head_match_the_models(backend: str, tmp_path: Path) -> None:
    engine = empty_database(backend, tmp_path)
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection:
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
