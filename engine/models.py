"""SQLModel tables: the whole persistent state of Fengqiao.

Timestamps are stored in UTC and always read back timezone-aware; JSON is stored as text so
the same bytes work on SQLite and PostgreSQL and the engine's raw-driver hot path (see
engine/repository.py) reads and writes exactly what the ORM does.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from engine import search

SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is UTC in the database and aware in Python, on every dialect."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Fengqiao stores aware datetimes only")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002 (SQLAlchemy fixes the signature)
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JsonText(sa.types.TypeDecorator[Any]):
    """JSON kept as text: portable, and byte-identical between the ORM and the raw path."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:  # noqa: ARG002 (SQLAlchemy fixes the signature)
        return None if value is None else dumps(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:  # noqa: ARG002 (SQLAlchemy fixes the signature)
        return None if value is None else json.loads(value)


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, Chinese kept readable."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _ts(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=sa.Column(UtcDateTime(), nullable=nullable, index=index))


def _json(*, default: Any) -> Any:
    return Field(default_factory=default, sa_column=sa.Column(JsonText(), nullable=False))


class OrgKind(StrEnum):
    district = "district"
    street = "street"
    community = "community"
    grid = "grid"
    committee = "committee"  # 人民调解委员会: owns the seal
    room = "room"  # 个人品牌调解工作室: under a committee, no seal of its own (R-SEAL)
    court = "court"
    law_firm = "law_firm"
    police_station = "police_station"
    procuratorate = "procuratorate"


class OrgUnit(SQLModel, table=True):
    __tablename__ = "org_units"

    id: int | None = Field(default=None, primary_key=True)
    kind: OrgKind = Field(sa_column=sa.Column(sa.String(20), nullable=False))
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


class Household(SQLModel, table=True):
    """A household of a grid and the 中心户 who covers it: intake routes by address."""

    __tablename__ = "households"

    id: int | None = Field(default=None, primary_key=True)
    grid_id: int = Field(foreign_key="org_units.id", index=True)
    address: str = Field(max_length=200, unique=True)
    head_name: str = Field(default="", max_length=64)
    central_household_user_id: int | None = Field(default=None, foreign_key="users.id")


class Category(SQLModel, table=True):
    """纠纷类型 (R-CATEGORIES), with the flags the law attaches to some of them."""

    __tablename__ = "categories"

    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=40)
    excluded_from_confirmation: bool = False  # R-JC-EXCLUDE
    excluded_from_esign: bool = False  # R-ESIGN-EXCLUDE
    sort_order: int = 0
    active: bool = True


class Party(SQLModel, table=True):
    """A natural person or an organisation. ID and phone are encrypted (R-PII)."""

    __tablename__ = "parties"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="person", max_length=20)  # person | organisation
    name: str = Field(max_length=100, index=True)
    sex: str | None = Field(default=None, max_length=10)
    ethnicity: str | None = Field(default=None, max_length=20)
    birth_date: date | None = None
    occupation: str | None = Field(default=None, max_length=50)
    address: str = Field(default="", max_length=200)
    representative: str | None = Field(default=None, max_length=64)  # organisations
    guardian_name: str | None = Field(default=None, max_length=64)  # guardian / 法定代理人
    guardian_relation: str | None = Field(default=None, max_length=20)  # R-MINOR
    guardian_id_cipher: str | None = Field(default=None, max_length=200)
    guardian_id_masked: str | None = Field(default=None, max_length=30)
    id_number_cipher: str | None = Field(default=None, max_length=200)
    id_number_index: str | None = Field(default=None, max_length=64, index=True)
    id_number_masked: str | None = Field(default=None, max_length=30)
    phone_cipher: str | None = Field(default=None, max_length=200)
    phone_index: str | None = Field(default=None, max_length=64, index=True)
    phone_masked: str | None = Field(default=None, max_length=20)
    created_at: datetime = _ts()


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (sa.UniqueConstraint("committee_id", "year", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64, unique=True)
    committee_id: int = Field(foreign_key="org_units.id")
    year: int
    seq: int
    spec_id: str = Field(max_length=64)
    spec_version: int
    state: str = Field(max_length=64, index=True)
    level: str = Field(max_length=20, index=True)
    resolved_level: str | None = Field(default=None, max_length=20)
    category_code: str = Field(foreign_key="categories.code", max_length=40, index=True)
    summary: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    risk_level: str = Field(max_length=20)
    origin: str = Field(max_length=40)
    org_unit_id: int = Field(foreign_key="org_units.id", index=True)
    # indexed: the scope clause asks for each of them (engine/queries.py scope_clause)
    grid_id: int | None = Field(default=None, foreign_key="org_units.id", index=True)
    court_id: int | None = Field(default=None, foreign_key="org_units.id", index=True)
    referring_court_id: int | None = Field(default=None, foreign_key="org_units.id", index=True)
    registrar_id: int | None = Field(default=None, foreign_key="users.id")
    state_sessions: int = 0
    overdue: bool = False
    data: dict[str, Any] = _json(default=dict)
    version: int = 0
    audit_seq: int = 0
    audit_head: str = Field(max_length=64)
    created_at: datetime = _ts(index=True)  # a period's cases (台账, statistics)
    updated_at: datetime = _ts()
    state_entered_at: datetime = _ts()
    agreement_effective_at: datetime | None = _ts(nullable=True)
    closed_at: datetime | None = _ts(nullable=True)


class CaseParty(SQLModel, table=True):
    """A party's place in a case and their consent to mediation (R-START, R-NOTICE)."""

    __tablename__ = "case_parties"
    __table_args__ = (sa.UniqueConstraint("case_id", "party_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    party_id: int = Field(foreign_key="parties.id", index=True)  # search: party → its cases
    role: str = Field(max_length=20)  # applicant | respondent | third_party
    agent_name: str | None = Field(default=None, max_length=64)
    consent: str = Field(default="pending", max_length=20)  # pending | consented | refused
    consent_at: datetime | None = _ts(nullable=True)
    consent_source: str | None = Field(default=None, max_length=100)
    notice_acknowledged_at: datetime | None = _ts(nullable=True)


class Assignment(SQLModel, table=True):
    """Who works a case: mediator, 中心户, and invited 三官一律 members (R-MEDIATOR, R-INVITE)."""

    __tablename__ = "assignments"
    __table_args__ = (
        # the scope check on every page: a user's open assignments, never their history
        sa.Index(
            "ix_assignments_open_user",
            "user_id",
            "case_id",
            postgresql_where=sa.text("ended_at IS NULL"),
            sqlite_where=sa.text("ended_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    role: str = Field(max_length=32)
    assigned_at: datetime = _ts()
    ended_at: datetime | None = _ts(nullable=True)
    parties_consented_at: datetime | None = _ts(nullable=True)


class MediationSession(SQLModel, table=True):
    """One session (调解记录, R-TRANSCRIPT), counted against the tier's attempt limit."""

    __tablename__ = "mediation_sessions"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    state: str = Field(max_length=64)
    level: str = Field(max_length=20)
    held_at: datetime = _ts()
    place: str = Field(default="", max_length=200)
    public: bool = False
    attendees: list[str] = _json(default=list)
    record: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    recorder_id: int | None = Field(default=None, foreign_key="users.id")


class Document(SQLModel, table=True):
    """One version of a generated document; bytes live in the content-addressed store."""

    __tablename__ = "documents"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=40)
    version: int = 1
    sha256: str = Field(max_length=64, index=True)
    parent_id: int | None = Field(default=None, foreign_key="documents.id")
    created_at: datetime = _ts()


class Signature(SQLModel, table=True):
    """A signature on the agreement: who (party, mediator, seal), when, and on which version."""

    __tablename__ = "signatures"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    document_id: int | None = Field(default=None, foreign_key="documents.id")
    signer_kind: str = Field(max_length=20)  # party | mediator | seal
    party_id: int | None = Field(default=None, foreign_key="parties.id")
    user_id: int | None = Field(default=None, foreign_key="users.id")
    method: str = Field(default="electronic", max_length=20)  # electronic | paper
    signer_name: str | None = Field(default=None, max_length=64)  # who signed for the party
    signed_at: datetime = _ts()


class Visit(SQLModel, table=True):
    """A follow-up visit (回访, R-FOLLOWUP)."""

    __tablename__ = "visits"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    term_index: int | None = None
    visited_at: datetime = _ts()
    visitor_id: int | None = Field(default=None, foreign_key="users.id")
    performance: str = Field(max_length=20)  # performed | partly | not
    satisfaction: str | None = Field(default=None, max_length=20)
    new_risks: str | None = Field(default=None, max_length=200)
    notes: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained record of every change to a case (engine/audit.py)."""

    __tablename__ = "audit_events"
    # (case_id, seq) is unique and leads with case_id: no second index on case_id alone
    __table_args__ = (sa.UniqueConstraint("case_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    seq: int
    at: datetime = _ts()
    actor_id: int | None = None
    actor_name: str = Field(max_length=64)
    actor_roles: str = Field(max_length=200)
    trigger: str = Field(max_length=64)
    source_state: str | None = Field(default=None, max_length=64)
    dest_state: str = Field(max_length=64)
    version: int
    payload: dict[str, Any] = _json(default=dict)
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class TimerStatus(StrEnum):
    pending = "pending"
    claimed = "claimed"
    done = "done"
    cancelled = "cancelled"
    failed = "failed"


class Timer(SQLModel, table=True):
    """A due item: a state deadline, a clock, a reminder or a follow-up visit."""

    __tablename__ = "timers"
    __table_args__ = (sa.Index("ix_timers_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=20)  # state_deadline | clock | reminder | followup
    name: str = Field(max_length=64)  # state or clock name
    due_at: datetime = _ts()
    on_expiry: str = Field(max_length=64)
    status: str = Field(default=TimerStatus.pending, max_length=20)
    provisional: bool = False  # due date computed without that year's holiday data
    working_days: bool = False
    days: int = 0
    payload: dict[str, Any] = _json(default=dict)
    created_at: datetime = _ts()
    claimed_at: datetime | None = _ts(nullable=True)
    fired_at: datetime | None = _ts(nullable=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class CaseCounter(SQLModel, table=True):
    """The last case number issued per committee and year: gap-free under concurrency."""

    __tablename__ = "case_counters"

    office_id: int = Field(primary_key=True, foreign_key="org_units.id")
    year: int = Field(primary_key=True)
    last_seq: int = 0


class OutboxMessage(SQLModel, table=True):
    """A notification written in the same transaction as its event, delivered after commit."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    kind: str = Field(max_length=40)
    recipient: str = Field(default="", max_length=200)
    payload: dict[str, Any] = _json(default=dict)
    status: str = Field(default="pending", max_length=20)  # pending | delivered | dead
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    created_at: datetime = _ts()
    delivered_at: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class IdempotencyRecord(SQLModel, table=True):
    """A creating request's Idempotency-Key and the response it got, scoped per user.

    The row is written before the work starts (status `pending`) so a concurrent retry finds
    it; once the work commits it holds the response that every retry receives.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    key: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64)  # sha256 of method, path and body
    status: str = Field(default="pending", max_length=20)  # pending | done
    response_status: int | None = None
    response_body: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    response_headers: dict[str, Any] = _json(default=dict)
    created_at: datetime = _ts(index=True)


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


class PiiAccess(SQLModel, table=True):
    """Every unmasked read of an ID or phone number (R-PII: "every unmasked view logged")."""

    __tablename__ = "pii_access_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    party_id: int = Field(foreign_key="parties.id", index=True)
    fields: str = Field(max_length=100)  # comma-separated: id_number, phone
    purpose: str = Field(max_length=200)  # the route and the role that justified it


class ProgressLink(SQLModel, table=True):
    """A party's link to their case's progress page: no account, a check of the last four
    digits of their phone, revocable, and of no use once the case is closed."""

    __tablename__ = "progress_links"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    party_id: int = Field(foreign_key="parties.id")
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 of the link's secret
    token_cipher: str = Field(max_length=200)  # the secret, encrypted: its QR code is redrawn
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)
    failed_checks: int = 0  # wrong last-four digits in a row
    locked_until: datetime | None = _ts(nullable=True)


class CaseFact(SQLModel, table=True):
    """What R-STATS counts of one case, kept current by the fire that changes it
    (engine/facts.py), so a report aggregates these rows instead of reading history."""

    __tablename__ = "case_facts"

    case_id: int = Field(primary_key=True, foreign_key="cases.id")
    registered_at: datetime = _ts(index=True)
    committee_id: int
    org_unit_id: int
    grid_id: int | None = None
    result: str = Field(max_length=20)  # successful | failed | not_mediated | in_progress
    resolved_level: str | None = Field(default=None, max_length=20)
    category_code: str = Field(max_length=40)
    risk_level: str = Field(max_length=20)
    overdue: bool = False  # 超期督办, a late visit alone not counted
    working_days: int | None = None  # registration to agreement in effect (or to the end)
    agreement_effective_at: datetime | None = _ts(nullable=True)
    closed_at: datetime | None = _ts(nullable=True)
    latest_performance: str | None = Field(default=None, max_length=20)
    latest_satisfaction: str | None = Field(default=None, max_length=20)
    applied: bool = False  # 司法确认: applied, and each outcome once
    confirmed: bool = False
    rejected: bool = False
    not_accepted: bool = False
    withdrawn: bool = False


class CaseFactUnit(SQLModel, table=True):
    """The facts a report groups and sums, once for each unit whose subtree holds the case
    (its committee's, org unit's and grid's ancestors and themselves): a unit's report is one
    range scan of (unit, registered_at) with no join."""

    __tablename__ = "case_fact_units"
    __table_args__ = (
        # on PostgreSQL the figures ride in the index: a report is an index-only range scan
        sa.Index(
            "ix_case_fact_units_period",
            "unit_id",
            "registered_at",
            postgresql_include=[
                "result",
                "resolved_level",
                "category_code",
                "risk_level",
                "overdue",
                "working_days",
                "latest_performance",
                "latest_satisfaction",
                "applied",
                "confirmed",
                "rejected",
                "not_accepted",
                "withdrawn",
            ],
        ),
    )

    unit_id: int = Field(primary_key=True)
    case_id: int = Field(primary_key=True, foreign_key="cases.id", index=True)
    registered_at: datetime = _ts()
    result: str = Field(max_length=20)
    resolved_level: str | None = Field(default=None, max_length=20)
    category_code: str = Field(max_length=40)
    risk_level: str = Field(max_length=20)
    overdue: bool = False
    working_days: int | None = None
    latest_performance: str | None = Field(default=None, max_length=20)
    latest_satisfaction: str | None = Field(default=None, max_length=20)
    applied: bool = False
    confirmed: bool = False
    rejected: bool = False
    not_accepted: bool = False
    withdrawn: bool = False


class SigningAct(SQLModel, table=True):
    """R-ESIGN: one act of signing by its signer — a party (or their 法定代理人) on their own
    device through a personal link or on the room's kiosk, or the mediator in their session —
    bound to the exact document version shown, after a recorded identity check. Single use;
    the event certificate's key is never stored (only the certificate's serial)."""

    __tablename__ = "signing_acts"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    document_kind: str = Field(max_length=40)  # agreement | confirmation_application
    document_sha256: str = Field(max_length=64)  # the version shown and signed
    signer_kind: str = Field(max_length=20)  # party | mediator
    party_id: int | None = Field(default=None, foreign_key="parties.id")
    user_id: int | None = Field(default=None, foreign_key="users.id")  # a mediator signing
    signer_name: str = Field(max_length=64)  # who performs the act (a representative for a minor)
    channel: str = Field(max_length=20)  # link | kiosk | session
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 of the act's secret
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    identity_method: str | None = Field(default=None, max_length=20)
    identity_checked_at: datetime | None = _ts(nullable=True)
    identity_checked_by: int | None = Field(default=None, foreign_key="users.id")
    identity_failures: int = 0
    otp_hash: str | None = Field(default=None, max_length=200)  # salt$pbkdf2, never the code
    otp_expires_at: datetime | None = _ts(nullable=True)
    otp_attempts: int = 0
    used_at: datetime | None = _ts(nullable=True)
    certificate_serial: str | None = Field(default=None, max_length=64)


class DocumentBlob(SQLModel, table=True):
    """A sealed document (documents.sql_store): write-once, keyed by the plaintext's sha256;
    where the documents live when several API machines share one database."""

    __tablename__ = "document_blobs"

    digest: str = Field(primary_key=True, max_length=64)
    sealed: bytes = Field(sa_column=sa.Column(sa.LargeBinary(), nullable=False))
    size: int
    created_at: datetime = _ts()


from engine import report_tables  # noqa: E402, F401 (its table joins METADATA; kept apart)

METADATA = SQLModel.metadata
search.install(METADATA)  # the trigram / FTS5 search index, created with the tables
