"""Idempotency keys: the reply a request stored, so that its retry gets it again."""

from __future__ import annotations

from datetime import datetime

from engine.repository.connection import TxCore


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
            "UPDATE idempotency_keys SET status = 'done', response_status = :status, "
            "response_body = :body, response_headers = :headers WHERE user_id = :user "
            "AND key = :key AND status = 'pending' AND created_at = :claimed",
            {
                "status": status,
                "body": body_json,
                "headers": headers_json,
                "user": user_id,
                "key": key,
                "claimed": self.codec.dt_out(claimed_at),
            },
        )
        return stored.rowcount == 1
