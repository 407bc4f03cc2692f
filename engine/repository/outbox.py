"""The outbox: messages written in the fire's transaction, delivered after commit."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from engine.models.columns import dumps
from engine.models.delivery import OutboxMessage as OutboxRow
from engine.repository.connection import TxCore
from engine.repository.statements import marks, table_of

_OUTBOX = table_of(OutboxRow)
_O = _OUTBOX.c
_NOW: sa.BindParameter[Any] = sa.bindparam("now")
_ADD_OUTBOX = sa.insert(_OUTBOX).values(
    case_id=sa.bindparam("case_id"),
    kind=sa.bindparam("kind"),
    recipient=sa.bindparam("recipient"),
    payload=sa.bindparam("payload"),
    status="pending",
    attempts=0,
    next_attempt_at=_NOW,
    created_at=_NOW,
)
# the rows another worker is claiming are skipped on PostgreSQL (SQLite renders no lock)
_CLAIMABLE = (
    sa.select(_O.id)
    .where(_O.status == "pending", _O.next_attempt_at <= _NOW)
    .order_by(_O.id)
    .limit(sa.bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_CLAIM_OUTBOX = (
    sa.update(_OUTBOX)
    .values(attempts=_O.attempts + 1, next_attempt_at=sa.bindparam("lease"))
    .where(_O.id.in_(_CLAIMABLE.scalar_subquery()))
    .returning(_O.id, _O.case_id, _O.kind, _O.recipient, _O.payload, _O.attempts, _O.created_at)
)
_ONE = _O.id == sa.bindparam("id")
_MARK_DELIVERED = (
    sa.update(_OUTBOX).values(status="delivered", delivered_at=_NOW, last_error=None).where(_ONE)
)
_MARK_FAILED = (
    sa.update(_OUTBOX)
    .values(
        status=sa.bindparam("status"),
        next_attempt_at=sa.bindparam("next"),
        last_error=sa.bindparam("error"),
    )
    .where(_ONE)
)
_RETRY = sa.update(_OUTBOX).values(status="pending", attempts=0, next_attempt_at=_NOW)
_RETRY_DEAD = _RETRY.where(_O.status == "dead")
_ENTRIES = (
    sa.select(
        _O.id,
        _O.case_id,
        _O.kind,
        _O.recipient,
        _O.status,
        _O.attempts,
        _O.next_attempt_at,
        _O.last_error,
    )
    .order_by(_O.id.desc())
    .limit(sa.bindparam("limit"))
)
_ENTRIES_IN = _ENTRIES.where(_O.status == sa.bindparam("status"))


@cache  # one statement per length, kept: statements.py keeps what it compiled
def _retry_named(count: int) -> sa.Update:
    return _RETRY.where(
        _O.status.in_([sa.literal("dead"), sa.literal("pending")]), _O.id.in_(marks("m", count))
    )


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
            _ADD_OUTBOX,
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
        rows = self.rows(
            _CLAIM_OUTBOX,
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
            _MARK_DELIVERED,
            {"now": self.codec.dt_out(now), "id": message_id},
        )

    def mark_failed(
        self, message_id: int, *, dead: bool, next_attempt_at: datetime, error: str
    ) -> None:
        """A failed attempt: tried again at `next_attempt_at`, or never (dead)."""
        self.execute(
            _MARK_FAILED,
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
        if not message_ids:
            return self.execute(_RETRY_DEAD, params).rowcount
        params.update({f"m{i}": m for i, m in enumerate(message_ids)})
        return self.execute(_retry_named(len(message_ids)), params).rowcount

    def outbox_entries(self, status: str | None = None, limit: int = 50) -> list[OutboxEntry]:
        """Messages (of one status, or all), newest first."""
        if status:
            rows = self.rows(_ENTRIES_IN, {"status": status, "limit": limit})
        else:
            rows = self.rows(_ENTRIES, {"limit": limit})
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
