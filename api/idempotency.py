"""Idempotency-Key on creating POSTs: a retried request gets the first one's response.

Keys are scoped per user. The key is claimed (a `pending` row, unique per user and key)
before the work runs, so concurrent retries cannot both create; a failed request releases
its key, a successful one stores its response for `idempotency_hours`.
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
from engine.models import IdempotencyRecord
from engine.runtime import Engine

_TABLE: sa.Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
REPLAY_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Outcome:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, self.status, headers=self.headers)


def fingerprint(method: str, path: str, body: str) -> str:
    return hashlib.sha256(f"{method} {path}\n{body}".encode()).hexdigest()


def _claim(
    db: sa.Engine, user_id: int, key: str, print_: str, now: datetime, keep: timedelta
) -> Outcome | None:
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
            return None
        except sa.exc.IntegrityError:
            with db.connect() as connection:
                row = connection.execute(
                    sa.select(
                        _TABLE.c.fingerprint,
                        _TABLE.c.status,
                        _TABLE.c.response_status,
                        _TABLE.c.response_body,
                        _TABLE.c.response_headers,
                    ).where(_TABLE.c.user_id == user_id, _TABLE.c.key == key)
                ).first()
            if row is None:  # released by a failed first attempt meanwhile: claim again
                continue
            if row.fingerprint != print_:
                raise IdempotencyKeyReused(key) from None
            if row.status != "done":
                raise IdempotencyInProgress(key) from None
            headers = {**row.response_headers, REPLAY_HEADER: "true"}
            return Outcome(row.response_status, json.loads(row.response_body), headers)
    raise IdempotencyInProgress(key)


def _where(user_id: int, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(_TABLE.c.user_id == user_id, _TABLE.c.key == key)


def run_once(
    engine: Engine,
    *,
    user_id: int,
    key: str | None,
    request_fingerprint: str,
    keep: timedelta,
    work: Callable[[], Outcome],
) -> JSONResponse:
    """Run `work` once per (user, key); without a key, simply run it."""
    if key is None:
        return work().response()
    db = engine.db.engine
    stored = _claim(db, user_id, key, request_fingerprint, engine.clock.now(), keep)
    if stored is not None:
        return stored.response()
    try:
        outcome = work()
    except BaseException:
        with db.begin() as connection:
            connection.execute(_TABLE.delete().where(_where(user_id, key)))
        raise
    with db.begin() as connection:
        connection.execute(
            _TABLE.update()
            .where(_where(user_id, key))
            .values(
                status="done",
                response_status=outcome.status,
                response_body=json.dumps(outcome.body, ensure_ascii=False),
                response_headers=outcome.headers,
            )
        )
    return outcome.response()
