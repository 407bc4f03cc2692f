"""SQLModel tables of the engine: cases and their records, the organisation, timers and the
outbox, documents; one module per group of tables.

Importing this package registers these tables; a host registers its own on the same
METADATA (mediation/models/), which is what migrations, create_all and the drift check
compare against.
"""

from sqlmodel import SQLModel

from engine.models import cases, delivery, documents, org

METADATA = SQLModel.metadata

__all__ = ["METADATA", "cases", "delivery", "documents", "org"]
