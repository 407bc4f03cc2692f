"""Unmasked reads of ID and phone numbers (R-PII): who may, and the log every such read
writes before anything unmasked leaves the server. Routes and services call these alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from engine.repository import Tx
from mediation import queries
from mediation.engine import MediationEngine
from mediation.models.org import PiiAccess

__all__ = ["PiiRead", "log_reads", "party_reads"]

_LOG: sa.Table = PiiAccess.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class PiiRead:
    """One party's unmasked fields in one read."""

    party_id: int
    fields: tuple[str, ...]  # id_number, phone


def party_reads(tx: Tx, case_id: int) -> list[PiiRead]:
    """What a document carrying every party's full ID and phone numbers reveals."""
    reads = []
    for row in queries.parties(tx, case_id):
        fields = tuple(
            name
            for name, cipher in (("id_number", row.id_number_cipher), ("phone", row.phone_cipher))
            if cipher
        )
        if fields:
            reads.append(PiiRead(row.party_id, fields))
    return reads


def log_reads(
    engine: MediationEngine, user_id: int, case_id: int, reads: Sequence[PiiRead], purpose: str
) -> None:
    """Write the log rows in their own committed transaction (call before responding)."""
    if not reads:
        return
    now = engine.clock.now()
    with engine.db.engine.begin() as connection:
        connection.execute(
            _LOG.insert(),
            [
                {
                    "at": now,
                    "user_id": user_id,
                    "case_id": case_id,
                    "party_id": read.party_id,
                    "fields": ",".join(read.fields),
                    "purpose": purpose[:200],
                }
                for read in reads
            ],
        )
