"""What tests read straight from the tables: a case's timers and its queued notifications."""

from __future__ import annotations

import sqlalchemy as sa

from mediation.engine import MediationEngine


def timers(engine: MediationEngine, case_id: int) -> list[tuple[str, str, str]]:
    """(kind, name, status) of every timer of the case, oldest first."""
    with engine.db.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT kind, name, status FROM timers WHERE case_id = :c ORDER BY id"),
            {"c": case_id},
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def outbox(engine: MediationEngine, case_id: int) -> list[tuple[str, str]]:
    """(kind, recipient) of every notification queued for the case, oldest first."""
    with engine.db.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT kind, recipient FROM outbox WHERE case_id = :c ORDER BY id"),
            {"c": case_id},
        ).all()
    return [(r[0], r[1]) for r in rows]
