"""Tables of the organisation and its people: units, users, memberships, and what sign-in
leaves behind. The kinds of unit, households and the PII read log are the host's
(mediation/models/org.py)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.models.columns import _ts


class OrgUnit(SQLModel, table=True):
    __tablename__ = "org_units"

    id: int | None = Field(default=None, primary_key=True)
    # a kind the host declares (mediation: mediation/models/org.py OrgKind)
    kind: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    name: str = Field(max_length=100)
    short_name: str = Field(default="", max_length=20)  # used in case numbers
    parent_id: int | None = Field(default=None, foreign_key="org_units.id", index=True)
    path: str = Field(default="/", max_length=400, index=True)  # "/1/4/9/": subtree by prefix
    address: str = Field(default="", max_length=200)
    # branding printed on documents: a committee's seal text, a committee's or room's logo
    seal_text: str | None = Field(default=None, max_length=40)
    logo_png: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))


class User(SQLModel, table=True):
    __tablename__ = "users"
    # One account per name in any letter case (`Admin` beside `admin` would be a second
    # identity a person reads as the same): enforced by the database, so two simultaneous
    # creations cannot both succeed.
    __table_args__ = (
        sa.Index("ux_users_username_lower", sa.func.lower(sa.column("username")), unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=64)
    password_hash: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    active: bool = True
    # bumped when the user is disabled, their password or roles change: every token (and web
    # session) issued before carries the old epoch and is refused on its next request
    token_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Membership(SQLModel, table=True):
    """A role a user holds in an org unit; the unit and its subtree are the user's scope."""

    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("user_id", "org_unit_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    org_unit_id: int = Field(foreign_key="org_units.id", index=True)
    role: str = Field(max_length=32)


class LoginFailure(SQLModel, table=True):
    """A login attempt, kept for the rate limit's window unless it succeeds; in the database so
    that every worker process counts the same ones (in memory, N workers allowed N × the limit)."""

    __tablename__ = "login_failures"
    __table_args__ = (sa.Index("ix_login_failures_who", "username", "address", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)  # as typed, lower-cased; need not exist
    address: str = Field(max_length=64)
    at: datetime = _ts(index=True)


class RevokedSession(SQLModel, table=True):
    """A signed-in session ended by its user (logout): its token is refused from then on, on
    every worker, while the user's other sessions go on. Kept until the token would have
    expired anyway; the tick deletes it then."""

    __tablename__ = "revoked_sessions"

    session_id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="users.id")
    expires_at: datetime = _ts(index=True)
