"""Idempotency-Key on creating POSTs: a retried request gets the first one's response.

Keys are scoped per user. The key is claimed (a `pending` row, unique per user and key)
before the work runs, so concurrent retries cannot both create; a failed request releases
its key, a successful one stores its response for `idempotency_hours`.

Where the work is one engine transaction (opening a case, firing an action) the response is
stored in that same transaction (`Claim.complete`): the work and its recorded response
commit together or not at all. A key left `pending` by a process that died is then known
not to have done its work, and a retry takes it over after `STALE_CLAIM`; should the first
request still be running after all, its completion finds the key taken and undoes itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.responses import JSONResponse

from api.errors import IdempotencyInProgress, IdempotencyKeyReused
from engine.models.columns import dumps
from engine.models.delivery import IdempotencyRecord
from engine.records import FireResult
from engine.repository import Tx
from engine.runtime import Engine

_TABLE: sa.Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
REPLAY_HEADER = "Idempotent-Replayed"
STALE_CLAIM = timedelta(minutes=2)


@dataclass
class Claim:
    """A key this request holds, identified by the instant it was claimed."""

    user_id: int
    key: str
    claimed_at: datetime
    completed: bool = False

    def complete(self, tx: Tx, outcome: StoredReply) -> None:
        """Store the response in the work's own transaction.

        Raises:
            IdempotencyInProgress: a retry took the key over meanwhile; the work must undo.
        """
        stored = tx.complete_idempotency_key(
            user_id=self.user_id,
            key=self.key,
            claimed_at=self.claimed_at,
            status=outcome.status,
            body_json=json.dumps(outcome.body, ensure_ascii=False),
            headers_json=dumps(outcome.headers),
        )
        if not stored:
            raise IdempotencyInProgress(self.key)
        self.completed = True


@dataclass(frozen=True)
class StoredReply:
    """The HTTP reply a keyed request got, kept so that its retry gets the same one."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, self.status, headers=self.headers)


class Responder:
    """The engine's `within` hook for `run_once_atomic`: builds the response inside the
    transaction that did the work, and keeps it with the claim there."""

    def __init__(self, claim: Claim | None, build: Callable[[Tx, FireResult], StoredReply]) -> None:
        self.claim = claim
        self.build = build
        self.outcome: StoredReply | None = None

    def __call__(self, tx: Tx, result: FireResult) -> None:
        self.outcome = self.build(tx, result)
        if self.claim is not None:
            self.claim.complete(tx, self.outcome)

    def response(self) -> StoredReply:
        assert self.outcome is not None, "the engine did not call the hook"
        return self.outcome


def fingerprint(method: str, path: str, body: str) -> str:
    return hashlib.sha256(f"{method} {path}\n{body}".encode()).hexdigest()


def _claim(
    db: sa.Engine,
    user_id: int,
    key: str,
    print_: str,
    now: datetime,
    keep: timedelta,
    *,
    atomic: bool,
) -> Claim | StoredReply:
    """Claim the key, or return the stored outcome of the request that claimed it first."""
    for _ in range(3):
        try:
            with db.begin() as connection:
                connection.execute(
                    _TABLE.delete().where(
                        _TABLE.c.user_id == user_id, _TABLE.c.created_at < now - keep
                    )
                )
                connection.execute(
                    _TABLE.insert().values(
                        user_id=user_id,
                        key=key,
                        fingerprint=print_,
                        status="pending",
                        response_headers={},
                        created_at=now,
                    )
                )
            return Claim(user_id, key, now)
        except sa.exc.IntegrityError:
            with db.connect() as connection:
                row = connection.execute(
                    sa.select(
                        _TABLE.c.fingerprint,
                        _TABLE.c.status,
                        _TABLE.c.response_status,
                        _TABLE.c.response_body,
                        _TABLE.c.response_headers,
                        _TABLE.c.created_at,
                    ).where(_where(user_id, key))
                ).first()
            if row is None:  # released by a failed first attempt meanwhile: claim again
                continue
            if row.fingerprint != print_:
                raise IdempotencyKeyReused(key) from None
            if row.status == "done":
                headers = {**row.response_headers, REPLAY_HEADER: "true"}
                return StoredReply(row.response_status, json.loads(row.response_body), headers)
            if atomic and row.created_at <= now - STALE_CLAIM:
                with db.begin() as connection:  # its request died before doing its work
                    taken = connection.execute(
                        _TABLE.update()
                        .where(
                            _where(user_id, key),
                            _TABLE.c.status == "pending",
                            _TABLE.c.created_at == row.created_at,
                        )
                        .values(created_at=now)
                    ).rowcount
                if taken == 1:
                    return Claim(user_id, key, now)
            raise IdempotencyInProgress(key) from None
    raise IdempotencyInProgress(key)


def _where(user_id: int, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(_TABLE.c.user_id == user_id, _TABLE.c.key == key)


def _ours(claim: Claim) -> sa.ColumnElement[bool]:
    return sa.and_(
        _where(claim.user_id, claim.key),
        _TABLE.c.status == "pending",
        _TABLE.c.created_at == claim.claimed_at,
    )


def run_once(
    engine: Engine,
    *,
    user_id: int,
    key: str | None,
    request_fingerprint: str,
    keep: timedelta,
    work: Callable[[Claim | None], StoredReply],
    atomic: bool = False,
) -> JSONResponse:
    """Run `work` once per (user, key); without a key, simply run it.

    `atomic`: the work stores its response with `Claim.complete` in its own transaction,
    which makes a claim left by a dead process safe to take over; otherwise the response is
    stored after the work commits, and such a claim waits for `keep` to expire.
    """
    if key is None:
        return work(None).response()
    db = engine.db.engine
    claimed = _claim(db, user_id, key, request_fingerprint, engine.clock.now(), keep, atomic=atomic)
    if isinstance(claimed, StoredReply):
        return claimed.response()
    try:
        outcome = work(claimed)
    except BaseException:
        with db.begin() as connection:
            connection.execute(_TABLE.delete().where(_ours(claimed)))
        raise
    if not claimed.completed:
        with db.begin() as connection:
            connection.execute(
                _TABLE.update()
                .where(_ours(claimed))
                .values(
                    status="done",
                    response_status=outcome.status,
                    response_body=json.dumps(outcome.body, ensure_ascii=False),
                    response_headers=outcome.headers,
                )
            )
    return outcome.response()
