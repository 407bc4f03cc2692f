"""The outbox: messages written in the fire's transaction, delivered after commit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.models.columns import dumps
from engine.repository.connection import TxCore


class OutboxQueries(TxCore):
    """Tx's queries on the outbox; Tx combines them."""

    def add_outbox(
        self,
        *,
        case_id: int | None,
        kind: str,
        recipient: str,
        payload: Mapping[str, Any],
        now: datetime,
    ) -> int:
        return self.insert(
            "INSERT INTO outbox (case_id, kind, recipient, payload, status, attempts, "
            "next_attempt_at, created_at) VALUES (:case_id, :kind, :recipient, :payload, "
            "'pending', 0, :now, :now)",
            {
                "case_id": case_id,
                "kind": kind,
                "recipient": recipient,
                "payload": dumps(dict(payload)),
                "now": self.codec.dt_out(now),
            },
        )
