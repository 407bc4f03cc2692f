"""The mediation tables beside the engine's: categories, parties and their place in a case,
sessions, visits, progress links (cases), the unit kinds, households and the PII read log
(org), signatures, signing acts, supporting papers and document blobs (papers), the per-case
statistics facts and the counts per unit and period, and the party-name
search index created with the tables.

METADATA is the engine's (one SQLModel metadata); importing it from here is what makes sure
these tables and the search index are in it, for create_all, migrations and the drift check.
"""

from engine.models import METADATA
from mediation import search
from mediation.models import cases, counts, facts, org, papers

search.install(METADATA)  # the trigram / FTS5 search index, created with the tables

__all__ = ["METADATA", "cases", "counts", "facts", "org", "papers"]
