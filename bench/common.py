"""What the benchmarks share: a fresh database of the engine's schema."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from api.wiring import make_sa_engine
from mediation.models import METADATA


def fresh_database(url: str | None, folder: Path, name: str) -> sa.Engine:
    """A SQLite file under `folder`, or the PostgreSQL database at `url` emptied first."""
    if url is None:
        engine = make_sa_engine(f"sqlite:///{folder / name}")
    else:
        engine = make_sa_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    METADATA.create_all(engine)
    return engine
