"""Users' accounts as the host keeps them: passwords, active flags, memberships, revoked
tokens and sessions, and the failed logins the login limiter counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as insert_or_skip

from engine.models.org import LoginFailure, Membership, RevokedSession, User
from engine.repository.connection import TxCore
from engine.repository.statements import table_of

_USERS = table_of(User)
_MEMBERSHIPS = table_of(Membership)
_REVOKED = table_of(RevokedSession)
_FAILURES = table_of(LoginFailure)
_USER = _USERS.c.id == sa.bindparam("id")
_SET_PASSWORD_HASH = sa.update(_USERS).values(password_hash=sa.bindparam("h")).where(_USER)
_SET_USER_ACTIVE = sa.update(_USERS).values(active=sa.bindparam("active")).where(_USER)
_DROP_MEMBERSHIPS = sa.delete(_MEMBERSHIPS).where(_MEMBERSHIPS.c.user_id == sa.bindparam("id"))
_ADD_MEMBERSHIP = sa.insert(_MEMBERSHIPS).values(
    user_id=sa.bindparam("u"), org_unit_id=sa.bindparam("o"), role=sa.bindparam("r")
)
_BUMP_TOKEN_EPOCH = sa.update(_USERS).values(token_epoch=_USERS.c.token_epoch + 1).where(_USER)
# ON CONFLICT … DO NOTHING: PostgreSQL's construct, which SQLite renders the same
_ADD_REVOKED_SESSION = (
    insert_or_skip(_REVOKED)
    .values(
        session_id=sa.bindparam("sid"),
        user_id=sa.bindparam("user_id"),
        expires_at=sa.bindparam("expires_at"),
    )
    .on_conflict_do_nothing(index_elements=[_REVOKED.c.session_id])
)
_FORGET_REVOKED_SESSIONS = sa.delete(_REVOKED).where(_REVOKED.c.expires_at <= sa.bindparam("now"))
_LOCK_LOGINS = sa.select(sa.func.pg_advisory_xact_lock(sa.bindparam("key")))
_FORGET_LOGIN_FAILURES = sa.delete(_FAILURES).where(_FAILURES.c.at <= sa.bindparam("since"))
_FAILURES_OF = sa.select(
    sa.func.count().label("failures"), sa.func.min(_FAILURES.c.at).label("oldest")
).where(_FAILURES.c.username == sa.bindparam("username"))
_FAILURES_FROM = _FAILURES_OF.where(_FAILURES.c.address == sa.bindparam("address"))
_ADD_LOGIN_FAILURE = sa.insert(_FAILURES).values(
    username=sa.bindparam("username"), address=sa.bindparam("address"), at=sa.bindparam("at")
)
_CLEAR_LOGIN_FAILURES = sa.delete(_FAILURES).where(
    _FAILURES.c.username == sa.bindparam("username"),
    _FAILURES.c.address == sa.bindparam("address"),
)


@dataclass(frozen=True, slots=True)
class LoginFailures:
    """The failed logins still inside the limiter's window: how many, and the oldest."""

    count: int
    oldest: datetime | None


class AccountQueries(TxCore):
    """Tx's queries on users' accounts and logins; Tx combines them."""

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        self.execute(
            _SET_PASSWORD_HASH,
            {"h": password_hash, "id": user_id},
        )

    def set_user_active(self, user_id: int, active: bool) -> None:
        self.execute(_SET_USER_ACTIVE, {"active": active, "id": user_id})

    def replace_memberships(self, user_id: int, memberships: Iterable[tuple[int, str]]) -> None:
        """The user's (org unit, role) memberships become exactly these."""
        self.execute(_DROP_MEMBERSHIPS, {"id": user_id})
        for unit_id, role in memberships:
            self.execute(_ADD_MEMBERSHIP, {"u": user_id, "o": unit_id, "r": role})

    def bump_token_epoch(self, user_id: int) -> None:
        self.execute(_BUMP_TOKEN_EPOCH, {"id": user_id})

    def add_revoked_session(self, session_id: str, user_id: int, expires_at: datetime) -> None:
        self.execute(
            _ADD_REVOKED_SESSION,
            {"sid": session_id, "user_id": user_id, "expires_at": self.codec.dt_out(expires_at)},
        )

    def forget_revoked_sessions(self, now: datetime) -> int:
        return self.execute(_FORGET_REVOKED_SESSIONS, {"now": self.codec.dt_out(now)}).rowcount

    # --- failed logins -------------------------------------------------------------------

    def lock_logins_of(self, key: int) -> None:
        """PostgreSQL: one transaction at a time counts this key's logins (a signed 64-bit
        advisory lock, held until the transaction ends)."""
        self.execute(_LOCK_LOGINS, {"key": key})

    def forget_login_failures(self, since: datetime) -> None:
        """Delete the failures at or before `since` (they have left every window)."""
        self.execute(_FORGET_LOGIN_FAILURES, {"since": self.codec.dt_out(since)})

    def login_failures(self, username: str, address: str | None = None) -> LoginFailures:
        """The failures for the username, from one address or (None) from any."""
        if address is None:
            row = self.row(_FAILURES_OF, {"username": username})
        else:
            row = self.row(_FAILURES_FROM, {"username": username, "address": address})
        if row is None:
            return LoginFailures(0, None)
        return LoginFailures(count=int(row["failures"]), oldest=self.codec.dt_in(row["oldest"]))

    def add_login_failure(self, username: str, address: str, at: datetime) -> None:
        self.execute(
            _ADD_LOGIN_FAILURE,
            {"username": username, "address": address, "at": self.codec.dt_out(at)},
        )

    def clear_login_failures(self, username: str, address: str) -> None:
        self.execute(
            _CLEAR_LOGIN_FAILURES,
            {"username": username, "address": address},
        )


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
