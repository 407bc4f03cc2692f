"""Alembic environment: the target is engine.models' metadata; the connection is handed in."""

from __future__ import annotations

from alembic import context

from mediation import search
from mediation.models import METADATA

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `fengqiao init` (api/migrate.py)")
context.configure(
    connection=connection,
    target_metadata=METADATA,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=lambda name, _type, _parents: not search.is_search_object(name),
)
with context.begin_transaction():
    context.run_migrations()
