"""Case sequence numbers: unique per office and year, gap-free, never reused. The counter row
is bumped in the same transaction as the case insert, so a failed opening rolls its number
back and concurrent openings queue on the counter row. How a number is written is the
host's (mediation/numbering.py; `start_case` writes `<spec id>-<year>-<seq>`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as upsert

from engine.models.cases import CaseCounter
from engine.repository import Tx
from engine.repository.statements import table_of

_COUNTERS = table_of(CaseCounter)
# ON CONFLICT … DO UPDATE: PostgreSQL's construct, which SQLite renders the same
_NEXT_SEQ = (
    upsert(_COUNTERS)
    .values(office_id=sa.bindparam("office_id"), year=sa.bindparam("year"), last_seq=1)
    .on_conflict_do_update(
        index_elements=[_COUNTERS.c.office_id, _COUNTERS.c.year],
        set_={"last_seq": _COUNTERS.c.last_seq + 1},
    )
    .returning(_COUNTERS.c.last_seq)
)


def next_sequence(tx: Tx, office_id: int, year: int) -> int:
    """Take the next sequence number for (office, year) inside the caller's transaction."""
    row = tx.row(_NEXT_SEQ, {"office_id": office_id, "year": year})
    assert row is not None
    return int(row["last_seq"])
