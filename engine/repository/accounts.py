"""Users' accounts as the host keeps them: passwords, active flags, memberships, revoked
tokens and sessions, and the failed logins the login limiter counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine.models.org import Membership, User
from engine.repository.connection import TxCore


@dataclass(frozen=True, slots=True)
class LoginFailures:
    """The failed logins still inside the limiter's window: how many, and the oldest."""

    count: int
    oldest: datetime | None


class AccountQueries(TxCore):
    """Tx's queries on users' accounts and logins; Tx combines them."""

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        self.execute(
            "UPDATE users SET password_hash = :h WHERE id = :id",
            {"h": password_hash, "id": user_id},
        )

    def set_user_active(self, user_id: int, active: bool) -> None:
        self.execute(
            "UPDATE users SET active = :active WHERE id = :id", {"active": active, "id": user_id}
        )

    def replace_memberships(self, user_id: int, memberships: Iterable[tuple[int, str]]) -> None:
        """The user's (org unit, role) memberships become exactly these."""
        self.execute("DELETE FROM memberships WHERE user_id = :id", {"id": user_id})
        for unit_id, role in memberships:
            self.execute(
                "INSERT INTO memberships (user_id, org_unit_id, role) VALUES (:u, :o, :r)",
                {"u": user_id, "o": unit_id, "r": role},
            )

    def bump_token_epoch(self, user_id: int) -> None:
        self.execute(
            "UPDATE users SET token_epoch = token_epoch + 1 WHERE id = :id", {"id": user_id}
        )

    def add_revoked_session(self, session_id: str, user_id: int, expires_at: datetime) -> None:
        self.execute(
            "INSERT INTO revoked_sessions (session_id, user_id, expires_at) "
            "VALUES (:sid, :user_id, :expires_at) ON CONFLICT (session_id) DO NOTHING",
            {"sid": session_id, "user_id": user_id, "expires_at": self.codec.dt_out(expires_at)},
        )

    def forget_revoked_sessions(self, now: datetime) -> int:
        return self.execute(
            "DELETE FROM revoked_sessions WHERE expires_at <= :now",
            {"now": self.codec.dt_out(now)},
        ).rowcount

    # --- failed logins -------------------------------------------------------------------

    def lock_logins_of(self, key: int) -> None:
        """PostgreSQL: one transaction at a time counts this key's logins (a signed 64-bit
        advisory lock, held until the transaction ends)."""
        self.execute("SELECT pg_advisory_xact_lock(:key)", {"key": key})

    def forget_login_failures(self, since: datetime) -> None:
        """Delete the failures at or before `since` (they have left every window)."""
        self.execute(
            "DELETE FROM login_failures WHERE at <= :since", {"since": self.codec.dt_out(since)}
        )

    def login_failures(self, username: str, address: str | None = None) -> LoginFailures:
        """The failures for the username, from one address or (None) from any."""
        where = "username = :username"
        params = {"username": username}
        if address is not None:
            where += " AND address = :address"
            params["address"] = address
        row = self.row(
            f"SELECT COUNT(*) AS failures, MIN(at) AS oldest FROM login_failures WHERE {where}",
            params,
        )
        if row is None:
            return LoginFailures(0, None)
        return LoginFailures(count=int(row["failures"]), oldest=self.codec.dt_in(row["oldest"]))

    def add_login_failure(self, username: str, address: str, at: datetime) -> None:
        self.execute(
            "INSERT INTO login_failures (username, address, at) VALUES (:username, :address, :at)",
            {"username": username, "address": address, "at": self.codec.dt_out(at)},
        )

    def clear_login_failures(self, username: str, address: str) -> None:
        self.execute(
            "DELETE FROM login_failures WHERE username = :username AND address = :address",
            {"username": username, "address": address},
        )


_USERS: sa.Table = User.__table__  # type: ignore[attr-defined]
_MEMBERSHIPS: sa.Table = Membership.__table__  # type: ignore[attr-defined]


def add_user(
    engine: sa.Engine,
    *,
    username: str,
    display_name: str,
    password_hash: str,
    memberships: Iterable[tuple[int, str]],
) -> int | None:
    """A new active user with these (org unit, role) memberships, in a transaction of its
    own (SQLAlchemy Core); None when the username was taken, by a concurrent create too."""
    try:
        with engine.begin() as connection:
            user_id = int(
                connection.execute(
                    _USERS.insert()
                    .values(
                        username=username,
                        display_name=display_name,
                        password_hash=password_hash,
                        active=True,
                    )
                    .returning(_USERS.c.id)
                ).scalar_one()
            )
            for unit_id, role in memberships:
                connection.execute(
                    _MEMBERSHIPS.insert().values(user_id=user_id, org_unit_id=unit_id, role=role)
                )
    except sa.exc.IntegrityError:
        return None
    return user_id
