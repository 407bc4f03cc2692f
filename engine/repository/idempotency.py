"""Idempotency keys: the reply a request stored, so that its retry gets it again. Completing
a key runs in the work's own transaction (Tx); claiming, releasing and storing after the
work run in transactions of their own (IdempotencyKeys)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.models.delivery import IdempotencyRecord
from engine.repository.connection import TxCore
from engine.repository.statements import table_of

_KEYS = table_of(IdempotencyRecord)
_COMPLETE = (
    sa.update(_KEYS)
    .values(
        status="done",
        response_status=sa.bindparam("code"),
        response_body=sa.bindparam("body"),
        response_headers=sa.bindparam("headers"),
    )
    .where(
        _KEYS.c.user_id == sa.bindparam("user"),
        _KEYS.c.key == sa.bindparam("key"),
        _KEYS.c.status == "pending",
        _KEYS.c.created_at == sa.bindparam("claimed"),
    )
)


class IdempotencyQueries(TxCore):
    """Tx's queries on idempotency keys; Tx combines them."""

    def complete_idempotency_key(
        self,
        *,
        user_id: int,
        key: str,
        claimed_at: datetime,
        status: int,
        body_json: str,
        headers_json: str,
    ) -> bool:
        """Store the reply under the key this request claimed at `claimed_at`; False when
        the key is no longer that claim (a retry took it over)."""
        stored = self.execute(
            _COMPLETE,
            {
                "code": status,
                "body": body_json,
                "headers": headers_json,
                "user": user_id,
                "key": key,
                "claimed": self.codec.dt_out(claimed_at),
            },
        )
        return stored.rowcount == 1


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key as the request that claimed it left it: pending, or done with its reply."""

    fingerprint: str
    status: str
    response_status: int | None
    response_body: str | None
    response_headers: dict[str, str]
    created_at: datetime


class IdempotencyKeys:
    """The keys' statements that run in transactions of their own (SQLAlchemy Core on the
    pool): a claim commits before the work begins, a release after it failed."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def claim(
        self, user_id: int, key: str, fingerprint: str, now: datetime, keep: timedelta
    ) -> bool:
        """Claim (user, key) as pending, first deleting the user's keys older than `keep`;
        False when the key is held already (claimed or done)."""
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    _KEYS.delete().where(
                        _KEYS.c.user_id == user_id, _KEYS.c.created_at < now - keep
                    )
                )
                connection.execute(
                    _KEYS.insert().values(
                        user_id=user_id,
                        key=key,
                        fingerprint=fingerprint,
                        status="pending",
                        response_headers={},
                        created_at=now,
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def stored(self, user_id: int, key: str) -> StoredKey | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(
                    _KEYS.c.fingerprint,
                    _KEYS.c.status,
                    _KEYS.c.response_status,
                    _KEYS.c.response_body,
                    _KEYS.c.response_headers,
                    _KEYS.c.created_at,
                ).where(_key(user_id, key))
            ).first()
        if row is None:
            return None
        return StoredKey(
            fingerprint=row.fingerprint,
            status=row.status,
            response_status=row.response_status,
            response_body=row.response_body,
            response_headers=dict(row.response_headers or {}),
            created_at=row.created_at,
        )

    def take_over(self, user_id: int, key: str, claimed_at: datetime, now: datetime) -> bool:
        """Re-claim a pending key still held by the claim made at `claimed_at` (its request
        died); False when it changed meanwhile."""
        with self.engine.begin() as connection:
            taken = connection.execute(
                _KEYS.update().where(_ours(user_id, key, claimed_at)).values(created_at=now)
            ).rowcount
        return taken == 1

    def release(self, user_id: int, key: str, claimed_at: datetime) -> None:
        """The work failed: the key is free again (if still this claim's)."""
        with self.engine.begin() as connection:
            connection.execute(_KEYS.delete().where(_ours(user_id, key, claimed_at)))

    def store_reply(
        self,
        user_id: int,
        key: str,
        claimed_at: datetime,
        *,
        status: int,
        body_json: str,
        headers: dict[str, str],
    ) -> None:
        """The work committed: its reply kept under the key (if still this claim's)."""
        with self.engine.begin() as connection:
            connection.execute(
                _KEYS.update()
                .where(_ours(user_id, key, claimed_at))
                .values(
                    status="done",
                    response_status=status,
                    response_body=body_json,
                    response_headers=headers,
                )
            )


def _key(user_id: int, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(_KEYS.c.user_id == user_id, _KEYS.c.key == key)


def _ours(user_id: int, key: str, claimed_at: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        _key(user_id, key), _KEYS.c.status == "pending", _KEYS.c.created_at == claimed_at
    )
