"""Case sequence numbers: unique per office and year, gap-free, never reused. The counter row
is bumped in the same transaction as the case insert, so a failed opening rolls its number
back and concurrent openings queue on the counter row. How a number is written is the
host's (mediation/numbering.py; `start_case` writes `<spec id>-<year>-<seq>`)."""

from __future__ import annotations

from engine.repository import Tx

_NEXT_SEQ = (
    "INSERT INTO case_counters (office_id, year, last_seq) VALUES (:office_id, :year, 1) "
    "ON CONFLICT (office_id, year) DO UPDATE SET last_seq = case_counters.last_seq + 1 "
    "RETURNING last_seq"
)


def next_sequence(tx: Tx, office_id: int, year: int) -> int:
    """Take the next sequence number for (office, year) inside the caller's transaction."""
    row = tx.row(_NEXT_SEQ, {"office_id": office_id, "year": year})
    assert row is not None
    return int(row["last_seq"])
