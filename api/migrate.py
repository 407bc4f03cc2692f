"""Schema changes through Alembic: `fengqiao init` upgrades to head; tests check models match."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from mediation import search

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:  # noqa: ARG001 (Alembic's hook signature)
    """What autogenerate compares: not the search index, which mediation/search.py describes
    in SQL (an FTS5 table and its shadow tables, GIN trigram indexes)."""
    return not search.is_search_object(name)


def alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Apply every migration up to `revision` in one transaction."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def revision(engine: sa.Engine, message: str) -> None:
    """Autogenerate a migration from the difference between models and the database."""
    with engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True)
