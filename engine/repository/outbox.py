"""The outbox: messages written in the fire's transaction, delivered after commit."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.models.columns import dumps
from engine.repository.connection import TxCore


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message claimed for delivery: what to send, to whom, and the attempts so far."""

    id: int
    case_id: int | None
    kind: str
    recipient: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A message as operators list it: where its delivery stands."""

    id: int
    case_id: int | None
    kind: str
    recipient: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


def _payload(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else dict(json.loads(value or "{}"))


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

    def claim_outbox(self, now: datetime, lease_until: datetime, limit: int) -> list[OutboxMessage]:
        """Up to `limit` pending messages due by now, leased until `lease_until` (a worker
        that dies leaves them due again then), each attempt counted; by id. On PostgreSQL
        the rows another worker is claiming are skipped, not waited for."""
        lock = "" if self.codec.sqlite else " FOR UPDATE SKIP LOCKED"
        rows = self.rows(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = :lease "
            "WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' "
            f"AND next_attempt_at <= :now ORDER BY id LIMIT :limit{lock}) "
            "RETURNING id, case_id, kind, recipient, payload, attempts, created_at",
            {
                "now": self.codec.dt_out(now),
                "lease": self.codec.dt_out(lease_until),
                "limit": limit,
            },
        )
        messages = [
            OutboxMessage(
                id=int(r["id"]),
                case_id=None if r["case_id"] is None else int(r["case_id"]),
                kind=str(r["kind"]),
                recipient=str(r["recipient"]),
                payload=_payload(r["payload"]),
                attempts=int(r["attempts"]),
                created_at=self.codec.dt_in_required(r["created_at"]),
            )
            for r in rows
        ]
        return sorted(messages, key=lambda m: m.id)

    def mark_delivered(self, message_id: int, now: datetime) -> None:
        self.execute(
            "UPDATE outbox SET status = 'delivered', delivered_at = :now, last_error = NULL "
            "WHERE id = :id",
            {"now": self.codec.dt_out(now), "id": message_id},
        )

    def mark_failed(
        self, message_id: int, *, dead: bool, next_attempt_at: datetime, error: str
    ) -> None:
        """A failed attempt: tried again at `next_attempt_at`, or never (dead)."""
        self.execute(
            "UPDATE outbox SET status = :status, next_attempt_at = :next, last_error = :error "
            "WHERE id = :id",
            {
                "status": "dead" if dead else "pending",
                "next": self.codec.dt_out(next_attempt_at),
                "error": error,
                "id": message_id,
            },
        )

    def retry_outbox(self, now: datetime, message_ids: Sequence[int] | None = None) -> int:
        """Dead messages (or the dead or pending ones named) get fresh attempts, due now."""
        params: dict[str, Any] = {"now": self.codec.dt_out(now)}
        where = "status = 'dead'"
        if message_ids:
            marks = ", ".join(f":m{i}" for i in range(len(message_ids)))
            params.update({f"m{i}": m for i, m in enumerate(message_ids)})
            where = f"status IN ('dead', 'pending') AND id IN ({marks})"
        return self.execute(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = :now "
            f"WHERE {where}",
            params,
        ).rowcount

    def outbox_entries(self, status: str | None = None, limit: int = 50) -> list[OutboxEntry]:
        """Messages (of one status, or all), newest first."""
        where, params = "", {"limit": limit}
        if status:
            where = "WHERE status = :status"
            params["status"] = status  # type: ignore[assignment]
        rows = self.rows(
            "SELECT id, case_id, kind, recipient, status, attempts, next_attempt_at, "
            f"last_error FROM outbox {where} ORDER BY id DESC LIMIT :limit",
            params,
        )
        return [
            OutboxEntry(
                id=int(r["id"]),
                case_id=r["case_id"],
                kind=r["kind"],
                recipient=r["recipient"],
                status=r["status"],
                attempts=int(r["attempts"]),
                next_attempt_at=self.codec.dt_in(r["next_attempt_at"]),
                last_error=r["last_error"],
            )
            for r in rows
        ]
