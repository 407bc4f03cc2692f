"""SQLModel tables: the whole persistent state of Fengqiao, one module per group of tables.

Importing this package registers every table; METADATA is what migrations, create_all and
the drift check compare against. Tables are imported from their own modules.
"""

from sqlmodel import SQLModel

from engine.models import cases, delivery, documents, org
from mediation import search
from mediation.models import counts, facts

METADATA = SQLModel.metadata
search.install(METADATA)  # the trigram / FTS5 search index, created with the tables

__all__ = ["METADATA", "cases", "counts", "delivery", "documents", "facts", "org"]
