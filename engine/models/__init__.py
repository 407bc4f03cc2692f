"""SQLModel tables of the engine: its case columns and the tables of cases, the
organisation, timers and the outbox, documents; one module per group of tables.

Importing this package registers these tables; the `cases` table is the host's (its
attributes beside the engine's CaseColumns), which it registers on the same METADATA with its
own tables (mediation/models/): what migrations, create_all and the drift check compare
against. `engine_tables` copies the engine's tables beside a case table declared elsewhere.
"""

import sqlalchemy as sa
from sqlmodel import SQLModel

from engine.models import cases, delivery, documents, org
from engine.models.cases import CaseColumns

METADATA = SQLModel.metadata

__all__ = ["METADATA", "CaseColumns", "cases", "delivery", "documents", "engine_tables", "org"]


def engine_tables(metadata: sa.MetaData) -> sa.MetaData:
    """`metadata` with a copy of each of the engine's own tables added: beside a host's
    `cases` table declared on it (a registry of its own, as tests/engine_generic does), the
    engine's schema without any other host's. Foreign keys a host added to the engine's
    tables and whose target `metadata` lacks are left out of the copies."""
    own = [
        mapper.local_table
        for mapper in SQLModel._sa_registry.mappers
        if mapper.class_.__module__.startswith("engine.")
    ]
    copies = [table.to_metadata(metadata) for table in own if isinstance(table, sa.Table)]
    for copy in copies:
        for constraint in list(copy.foreign_key_constraints):
            target = constraint.elements[0].target_fullname.rsplit(".", 1)[0]
            if target in metadata.tables:
                continue
            copy.constraints.discard(constraint)
            for key in constraint.elements:
                key.parent.foreign_keys.discard(key)
                copy.foreign_keys.discard(key)
    return metadata
