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

from fastapi.responses import JSONResponse

from api.errors import IdempotencyInProgress, IdempotencyKeyReused
from engine.models.columns import dumps
from engine.records import FireResult
from engine.repository import Tx
from engine.repository.idempotency import IdempotencyKeys
from mediation.engine import MediationEngine

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
    keys: IdempotencyKeys,
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
        if keys.claim(user_id, key, print_, now, keep):
            return Claim(user_id, key, now)
        held = keys.stored(user_id, key)
        if held is None:  # released by a failed first attempt meanwhile: claim again
            continue
        if held.fingerprint != print_:
            raise IdempotencyKeyReused(key)
        if held.status == "done":
            assert held.response_status is not None, "a done key keeps its reply"
            assert held.response_body is not None, "a done key keeps its reply"
            headers = {**held.response_headers, REPLAY_HEADER: "true"}
            return StoredReply(held.response_status, json.loads(held.response_body), headers)
        stale = atomic and held.created_at <= now - STALE_CLAIM
        if stale and keys.take_over(user_id, key, held.created_at, now):
            return Claim(user_id, key, now)  # its request died before doing its work
        raise IdempotencyInProgress(key)
    raise IdempotencyInProgress(key)


def run_once(
    engine: MediationEngine,
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
    keys = IdempotencyKeys(engine.db.engine)
    now = engine.clock.now()
    claimed = _claim(keys, user_id, key, request_fingerprint, now, keep, atomic=atomic)
    if isinstance(claimed, StoredReply):
        return claimed.response()
    try:
        outcome = work(claimed)
    except BaseException:
        keys.release(user_id, key, claimed.claimed_at)
        raise
    if not claimed.completed:
        keys.store_reply(
            user_id,
            key,
            claimed.claimed_at,
            status=outcome.status,
            body_json=json.dumps(outcome.body, ensure_ascii=False),
            headers=outcome.headers,
        )
    return outcome.response()
