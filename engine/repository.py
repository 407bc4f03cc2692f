"""Queries. The fire path talks to the bare DB-API driver with SQL compiled once per dialect.

Why not the ORM here: a SQLModel session per fire measured ~1,200 transitions/s and SQLAlchemy
Core ~11,000/s on this machine, against ~40,000/s for the driver behind SQLAlchemy's pool. The
schema still lives in engine/models.py, and values are encoded exactly as the ORM encodes them
(UTC timestamps, JSON as text), so rows written here read back through SQLModel unchanged.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import event

from engine.models import SQLITE_DATETIME_FORMAT, dumps
from engine.records import (
    AssignmentRecord,
    CasePartyRecord,
    CaseRecord,
    CategoryRecord,
    EventRecord,
    OrgUnitRow,
    SignatureRecord,
    VisitRecord,
)


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """One stored version of a case document (the bytes live in the host's content store).

    Kept beside the queries rather than in engine/records.py because only the document
    methods of Tx and TransitionContext hand it out.
    """

    id: int
    kind: str
    version: int
    sha256: str
    parent_id: int | None
    created_at: datetime


_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


class _Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Any = ...) -> Any: ...
    def executemany(self, sql: str, params: Any) -> Any: ...
    def fetchone(self) -> Sequence[Any] | None: ...
    def fetchall(self) -> Sequence[Sequence[Any]]: ...
    def close(self) -> None: ...


def configure_engine(engine: sa.Engine) -> None:
    """Make SQLite behave for concurrent writers: WAL, foreign keys, explicit BEGIN.

    pysqlite's own transaction handling is switched off so that SQLAlchemy sessions and
    the raw path both begin transactions themselves (the SQLAlchemy documented recipe).
    """
    if engine.dialect.name != "sqlite":
        _watch_disconnects(engine)
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")


SUSPECT_SECONDS = 60.0  # after a lost connection, checkouts ping for this long


class _DisconnectWatch:
    """After the server was seen dropping a connection (restart, terminated backends), the
    pooled connections that came back later may be dead too: for a while every checkout pings
    its connection first and a dead one is replaced. In normal running nothing is pinged."""

    def __init__(self) -> None:
        self.until = 0.0

    def suspect(self) -> None:
        self.until = time.monotonic() + SUSPECT_SECONDS

    @property
    def active(self) -> bool:
        return time.monotonic() < self.until


_WATCHES: weakref.WeakKeyDictionary[sa.Engine, _DisconnectWatch] = weakref.WeakKeyDictionary()


def suspect_disconnects(engine: sa.Engine) -> None:
    """Tell the engine's pool a connection was lost (checkouts ping for a while)."""
    watch = _WATCHES.get(engine)
    if watch is not None:
        watch.suspect()


def _watch_disconnects(engine: sa.Engine) -> None:
    watch = _WATCHES.setdefault(engine, _DisconnectWatch())

    @event.listens_for(engine, "handle_error")
    def _on_error(context: sa.engine.ExceptionContext) -> None:
        if context.is_disconnect:
            watch.suspect()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not watch.active:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:
            raise sa.exc.DisconnectionError() from exc  # the pool tries a new connection


class Codec:
    """Encodes values as the ORM types in engine/models.py would, for one dialect."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

    def dt_out(self, value: datetime | None) -> Any:
        if value is None:
            return None
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None).strftime(SQLITE_DATETIME_FORMAT) if self.sqlite else utc

    def dt_in(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def dt_in_required(self, value: Any) -> datetime:
        result = self.dt_in(value)
        assert result is not None
        return result


class _FifoLock:
    """A re-entrant lock granted in arrival order: the writers of a busy SQLite process wait
    their turn instead of whoever the scheduler wakes first (which made the p99 several times
    the median under 32 concurrent writers)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return
            if self._owner is None and not self._waiters:
                self._owner, self._depth = me, 1
                return
            turn = threading.Event()
            self._waiters.append(turn)
        turn.wait()
        with self._mutex:  # handed over by release(): nobody else could take it meanwhile
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._mutex:
            self._depth -= 1
            if self._depth:
                return
            if self._waiters:
                self._owner = -1  # reserved for the next in line until it wakes
                self._waiters.popleft().set()
            else:
                self._owner = None


class Database:
    """The engine's handle on storage: an SQLAlchemy engine plus raw transactions."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.codec = Codec(self.dialect)
        self._sql: dict[str, str] = {}
        # SQLite has one writer at a time; queueing this process's writers on a lock is fair
        # and fast, where its busy handler makes them sleep and retry (a long p99 under load)
        self._sqlite_writer = _FifoLock() if self.dialect == "sqlite" else None

    def sql(self, text: str) -> str:
        """`:name` placeholders rendered in the driver's own paramstyle, cached."""
        cached = self._sql.get(text)
        if cached is None:
            cached = text if self.dialect == "sqlite" else _NAMED.sub(r"%(\1)s", text)
            self._sql[text] = cached
        return cached

    @contextmanager
    def transaction(self, *, write: bool, snapshot: bool = True) -> Iterator[Tx]:
        """One database transaction on a pooled driver connection.

        `snapshot=False` is for a read of a single statement: it runs without a transaction
        around it, which on PostgreSQL saves the COMMIT round trip.

        Writers on SQLite take the write lock at BEGIN (IMMEDIATE), so a read-then-write
        never fails half-way with SQLITE_BUSY; on PostgreSQL the case row is locked by
        `load_case(for_update=True)`.
        """
        lock = self._sqlite_writer if write else None
        if lock is not None:
            lock.acquire()
        try:
            # one read statement needs no transaction around it; on PostgreSQL that saves the
            # COMMIT round trip (psycopg's autocommit), on SQLite the BEGIN
            single = not snapshot and not write
            autocommit = single and self.dialect != "sqlite"
            begin = None
            if self.dialect == "sqlite" and not single:
                begin = "BEGIN IMMEDIATE" if write else "BEGIN"
            link = _Link(self.engine, begin=begin)
            link.open(autocommit=autocommit)
            replace = None if self.dialect == "sqlite" else link.replace
            try:
                yield Tx(self, link.cursor, replace=replace)
                if not autocommit:
                    link.raw.commit()
            except BaseException:
                link.raw.rollback()  # on a connection the server dropped this fails, and the
                raise  # pool discards it: no ping before every checkout (a round trip each)
            finally:
                link.close(autocommit=autocommit)
        finally:
            if lock is not None:
                lock.release()


CASE_COLUMNS = (
    "id, number, committee_id, spec_id, spec_version, state, level, resolved_level, "
    "category_code, risk_level, origin, org_unit_id, grid_id, court_id, referring_court_id, "
    "state_sessions, overdue, data, version, audit_seq, audit_head, created_at, "
    "state_entered_at, agreement_effective_at, closed_at"
)
CASE_COLUMN_COUNT = CASE_COLUMNS.count(",") + 1
_LOAD_CASE = f"SELECT {CASE_COLUMNS} FROM cases WHERE id = :id"
_EVENT_COLUMN_NAMES = (
    "case_id",
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "actor_roles",
    "trigger",
    "source_state",
    "dest_state",
    "version",
    "payload",
    "reason",
    "prev_hash",
    "hash",
)
_EVENT_COLUMNS = ", ".join(_EVENT_COLUMN_NAMES)
_INSERT_EVENT = (
    f"INSERT INTO audit_events ({_EVENT_COLUMNS}) "
    f"VALUES ({', '.join(':' + c for c in _EVENT_COLUMN_NAMES)})"
)
_INSERT_TIMER = (
    "INSERT INTO timers (case_id, kind, name, due_at, on_expiry, status, provisional, "
    "working_days, days, payload, created_at, attempts) VALUES (:case_id, :kind, :name, "
    ":due_at, :on_expiry, 'pending', :provisional, :working_days, :days, :payload, :now, 0)"
)
_CANCEL_TIMERS = (
    "UPDATE timers SET status = 'cancelled' WHERE case_id = :case_id AND kind = :kind "
    "AND name = :name AND status = 'pending'"
)
_MUTABLE_CASE_FIELDS = frozenset(
    {
        "level",
        "resolved_level",
        "risk_level",
        "category_code",
        "summary",
        "org_unit_id",
        "grid_id",
        "court_id",
        "state_sessions",
        "overdue",
        "data",
        "agreement_effective_at",
        "closed_at",
    }
)
_DATETIME_FIELDS = frozenset({"agreement_effective_at", "closed_at"})


class _Link:
    """The pooled driver connection and cursor a transaction runs on; replaceable while the
    transaction has done nothing yet (its first statement found the connection dead)."""

    raw: sa.PoolProxiedConnection
    driver: Any  # psycopg's or sqlite3's connection, untyped here
    cursor: _Cursor

    def __init__(self, engine: sa.Engine, *, begin: str | None) -> None:
        self.engine = engine
        self.begin = begin
        self.autocommit = False

    def open(self, *, autocommit: bool) -> None:
        self.autocommit = autocommit
        self.raw = self.engine.raw_connection()
        self.driver = self.raw.driver_connection
        if autocommit:
            self.driver.autocommit = True
        self.cursor = self.raw.cursor()
        if self.begin is not None:
            self.cursor.execute(self.begin)

    def dead(self) -> bool:
        return bool(getattr(self.driver, "closed", False) or getattr(self.driver, "broken", False))

    def replace(self) -> _Cursor | None:
        """A new connection in place of a dead one (and every idle one pooled with it, dead
        too when the server restarted or its backends were terminated); None when this one
        is alive, so the error was not the connection's."""
        if not self.dead():
            return None
        with contextlib.suppress(Exception):
            self.cursor.close()
        suspect_disconnects(self.engine)
        self.raw.invalidate()
        self.engine.pool.dispose()  # the idle ones: checked on next use would cost a ping each
        self.open(autocommit=self.autocommit)
        return self.cursor

    def close(self, *, autocommit: bool) -> None:
        self.cursor.close()
        if autocommit and not self.driver.closed:
            self.driver.autocommit = False  # back to transactions before it is pooled
        self.raw.close()


class Tx:
    """One open transaction; every method runs inside it and nothing here commits.

    When the first statement finds the connection dead (the server restarted, or dropped
    it), the transaction has done nothing yet: it moves to a new connection and runs the
    statement again, once. A failure later in a transaction is the caller's to see.
    """

    def __init__(
        self,
        db: Database,
        cursor: _Cursor,
        *,
        replace: Callable[[], _Cursor | None] | None = None,
    ) -> None:
        self.db = db
        self.codec = db.codec
        self._cursor = cursor
        self._replace = replace

    def execute(self, text: str, params: Mapping[str, Any] | None = None) -> _Cursor:
        sql = self.db.sql(text)
        try:
            self._cursor.execute(sql, params or {})
        except Exception:
            replace, self._replace = self._replace, None
            cursor = replace() if replace is not None else None
            if cursor is None:
                raise
            self._cursor = cursor
            self._cursor.execute(sql, params or {})
        self._replace = None  # something was done: no second chance from here on
        return self._cursor

    def one(self, text: str, params: Mapping[str, Any] | None = None) -> Sequence[Any] | None:
        return self.execute(text, params).fetchone()

    def all(self, text: str, params: Mapping[str, Any] | None = None) -> Sequence[Sequence[Any]]:
        return self.execute(text, params).fetchall()

    def execute_many(self, text: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """One statement, many parameter sets: a bulk load (the 台账 import) in one round."""
        if rows:
            self._cursor.executemany(self.db.sql(text), rows)
            self._replace = None

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Rows of values in `columns`' order into `table`: COPY FROM STDIN on PostgreSQL (a
        stream, not a statement per row), one positional executemany on SQLite."""
        names = ", ".join(columns)
        if self.codec.sqlite:
            marks = ", ".join("?" for _ in columns)
            self._cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        else:
            copy_from = self._cursor.copy  # type: ignore[attr-defined]  # psycopg's cursor
            with copy_from(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        self._replace = None

    def insert(self, text: str, params: Mapping[str, Any]) -> int:
        row = self.one(text + " RETURNING id", params)
        assert row is not None
        return int(row[0])

    # --- cases ---------------------------------------------------------------------------

    def load_case(self, case_id: int, *, for_update: bool = False) -> CaseRecord | None:
        text = _LOAD_CASE + (" FOR UPDATE" if for_update and not self.codec.sqlite else "")
        row = self.one(text, {"id": case_id})
        return None if row is None else self.case_record(row)

    def case_record(self, row: Sequence[Any]) -> CaseRecord:
        """A CaseRecord from a row whose first columns are CASE_COLUMNS, in that order."""
        dt = self.codec.dt_in
        return CaseRecord(
            id=row[0],
            number=row[1],
            committee_id=row[2],
            spec_id=row[3],
            spec_version=row[4],
            state=row[5],
            level=row[6],
            resolved_level=row[7],
            category_code=row[8],
            risk_level=row[9],
            origin=row[10],
            org_unit_id=row[11],
            grid_id=row[12],
            court_id=row[13],
            referring_court_id=row[14],
            state_sessions=row[15],
            overdue=bool(row[16]),
            data=json.loads(row[17]),
            version=row[18],
            audit_seq=row[19],
            audit_head=row[20],
            created_at=self.codec.dt_in_required(row[21]),
            state_entered_at=self.codec.dt_in_required(row[22]),
            agreement_effective_at=dt(row[23]),
            closed_at=dt(row[24]),
        )

    def record_transition(
        self,
        case_id: int,
        expected_version: int,
        *,
        state: str,
        now: datetime,
        state_changed: bool,
        changes: Mapping[str, Any],
        event: EventRecord,
    ) -> bool:
        """The versioned case update and its audit event; False (nothing written) when the
        version moved on. On PostgreSQL both go in one statement: one round trip less per
        fire (bench/engine.py)."""
        update, params = self._case_update(
            case_id, expected_version, state, event.seq, event.hash, now, state_changed, changes
        )
        if self.codec.sqlite:  # no data-modifying WITH in SQLite: two statements
            if self.execute(update, params).rowcount != 1:
                return False
            self.insert_event(case_id, event)
            return True
        event_params = {f"e_{k}": v for k, v in self._event_params(case_id, event).items()}
        text = (
            f"WITH moved AS ({update} RETURNING id) INSERT INTO audit_events ({_EVENT_COLUMNS}) "
            f"SELECT {', '.join(':e_' + c for c in _EVENT_COLUMN_NAMES)} FROM moved"
        )
        return self.execute(text, {**params, **event_params}).rowcount == 1

    def _case_update(
        self,
        case_id: int,
        expected_version: int,
        state: str,
        audit_seq: int,
        audit_head: str,
        now: datetime,
        state_changed: bool,
        changes: Mapping[str, Any],
    ) -> tuple[str, dict[str, Any]]:
        unknown = set(changes) - _MUTABLE_CASE_FIELDS
        if unknown:
            raise KeyError(f"not a mutable case field: {sorted(unknown)}")
        sets = ["state = :state", "version = :new_version", "audit_seq = :audit_seq"]
        sets += ["audit_head = :audit_head", "updated_at = :now"]
        params: dict[str, Any] = {
            "id": case_id,
            "expected": expected_version,
            "new_version": expected_version + 1,
            "state": state,
            "audit_seq": audit_seq,
            "audit_head": audit_head,
            "now": self.codec.dt_out(now),
        }
        if state_changed:
            sets.append("state_entered_at = :now")
        for name in sorted(changes):
            value = changes[name]
            if name in _DATETIME_FIELDS:
                value = self.codec.dt_out(value)
            elif name == "data":
                value = dumps(value)
            sets.append(f"{name} = :{name}")
            params[name] = value
        text = f"UPDATE cases SET {', '.join(sets)} WHERE id = :id AND version = :expected"
        return text, params

    def insert_event(self, case_id: int, event: EventRecord) -> None:
        self.execute(_INSERT_EVENT, self._event_params(case_id, event))

    def _event_params(self, case_id: int, event: EventRecord) -> dict[str, Any]:
        return {
            "case_id": case_id,
            "seq": event.seq,
            "at": self.codec.dt_out(event.at),
            "actor_id": event.actor_id,
            "actor_name": event.actor_name,
            "actor_roles": ",".join(event.actor_roles),
            "trigger": event.trigger,
            "source_state": event.source_state,
            "dest_state": event.dest_state,
            "version": event.version,
            "payload": dumps(event.payload),
            "reason": event.reason,
            "prev_hash": event.prev_hash,
            "hash": event.hash,
        }

    def events(self, case_id: int) -> list[EventRecord]:
        rows = self.all(
            "SELECT seq, at, actor_id, actor_name, actor_roles, trigger, source_state, "
            "dest_state, version, payload, reason, prev_hash, hash FROM audit_events "
            "WHERE case_id = :case_id ORDER BY seq",
            {"case_id": case_id},
        )
        return [
            EventRecord(
                seq=r[0],
                at=self.codec.dt_in_required(r[1]),
                actor_id=r[2],
                actor_name=r[3],
                actor_roles=tuple(x for x in str(r[4]).split(",") if x),
                trigger=r[5],
                source_state=r[6],
                dest_state=r[7],
                version=r[8],
                payload=json.loads(r[9]),
                reason=r[10],
                prev_hash=r[11],
                hash=r[12],
            )
            for r in rows
        ]

    # --- timers --------------------------------------------------------------------------

    def insert_timer(
        self,
        *,
        case_id: int,
        kind: str,
        name: str,
        due_at: datetime,
        on_expiry: str,
        provisional: bool,
        working_days: bool,
        days: int,
        now: datetime,
        payload: Mapping[str, Any] | None = None,
    ) -> int:
        return self.insert(
            _INSERT_TIMER,
            {
                "case_id": case_id,
                "kind": kind,
                "name": name,
                "due_at": self.codec.dt_out(due_at),
                "on_expiry": on_expiry,
                "provisional": provisional,
                "working_days": working_days,
                "days": days,
                "payload": dumps(dict(payload or {})),
                "now": self.codec.dt_out(now),
            },
        )

    def cancel_timers(self, case_id: int, kind: str, name: str) -> int:
        return self.execute(
            _CANCEL_TIMERS, {"case_id": case_id, "kind": kind, "name": name}
        ).rowcount

    def pending_timers(self, case_id: int, kind: str, name: str) -> list[tuple[int, datetime]]:
        rows = self.all(
            "SELECT id, due_at FROM timers WHERE case_id = :case_id AND kind = :kind "
            "AND name = :name AND status = 'pending'",
            {"case_id": case_id, "kind": kind, "name": name},
        )
        return [(int(r[0]), self.codec.dt_in_required(r[1])) for r in rows]

    def pending_periods(
        self, case_id: int, kind: str, name: str
    ) -> list[tuple[int, datetime, int, bool]]:
        """(id, started at, length in days, working days?) of pending timers of (kind, name)."""
        rows = self.all(
            "SELECT id, created_at, days, working_days FROM timers WHERE case_id = :case_id "
            "AND kind = :kind AND name = :name AND status = 'pending'",
            {"case_id": case_id, "kind": kind, "name": name},
        )
        return [(int(r[0]), self.codec.dt_in_required(r[1]), int(r[2]), bool(r[3])) for r in rows]

    def move_timer(
        self, timer_id: int, due_at: datetime, provisional: bool, days: int | None = None
    ) -> None:
        self.execute(
            "UPDATE timers SET due_at = :due_at, provisional = :provisional, "
            "days = COALESCE(:days, days) WHERE id = :id",
            {
                "id": timer_id,
                "due_at": self.codec.dt_out(due_at),
                "provisional": provisional,
                "days": days,
            },
        )

    def cancel_all_timers(self, case_id: int) -> int:
        return self.execute(
            "UPDATE timers SET status = 'cancelled' WHERE case_id = :case_id "
            "AND status IN ('pending', 'failed')",
            {"case_id": case_id},
        ).rowcount

    # --- what guards read ----------------------------------------------------------------

    def case_parties(self, case_id: int) -> list[CasePartyRecord]:
        rows = self.all(
            "SELECT cp.id, cp.party_id, p.name, p.kind, cp.role, cp.consent, cp.consent_at, "
            "cp.notice_acknowledged_at, p.address, p.guardian_name, p.guardian_relation "
            "FROM case_parties cp "
            "JOIN parties p ON p.id = cp.party_id WHERE cp.case_id = :case_id ORDER BY cp.id",
            {"case_id": case_id},
        )
        dt = self.codec.dt_in
        return [
            CasePartyRecord(
                r[0], r[1], r[2], r[3], r[4], r[5], dt(r[6]), dt(r[7]), r[8], r[9], r[10]
            )
            for r in rows
        ]

    def assignments(self, case_id: int) -> list[AssignmentRecord]:
        rows = self.all(
            "SELECT id, user_id, role, assigned_at, ended_at, parties_consented_at "
            "FROM assignments WHERE case_id = :case_id ORDER BY id",
            {"case_id": case_id},
        )
        dt = self.codec.dt_in
        return [
            AssignmentRecord(r[0], r[1], r[2], self.codec.dt_in_required(r[3]), dt(r[4]), dt(r[5]))
            for r in rows
        ]

    def is_assigned(self, case_id: int, user_id: int) -> bool:
        row = self.one(
            "SELECT 1 FROM assignments WHERE case_id = :case_id AND user_id = :user_id "
            "AND ended_at IS NULL",
            {"case_id": case_id, "user_id": user_id},
        )
        return row is not None

    def category(self, code: str) -> CategoryRecord | None:
        row = self.one(
            "SELECT code, name, excluded_from_confirmation, excluded_from_esign "
            "FROM categories WHERE code = :code",
            {"code": code},
        )
        return None if row is None else CategoryRecord(row[0], row[1], bool(row[2]), bool(row[3]))

    def categories(self) -> list[CategoryRecord]:
        rows = self.all(
            "SELECT code, name, excluded_from_confirmation, excluded_from_esign "
            "FROM categories ORDER BY code"
        )
        return [CategoryRecord(r[0], r[1], bool(r[2]), bool(r[3])) for r in rows]

    def signatures(self, case_id: int) -> list[SignatureRecord]:
        rows = self.all(
            "SELECT signer_kind, party_id, user_id, method, signed_at, signer_name "
            "FROM signatures WHERE case_id = :case_id ORDER BY id",
            {"case_id": case_id},
        )
        return [
            SignatureRecord(r[0], r[1], r[2], r[3], self.codec.dt_in_required(r[4]), r[5])
            for r in rows
        ]

    def visits(self, case_id: int) -> list[VisitRecord]:
        rows = self.all(
            "SELECT term_index, visited_at, performance, satisfaction FROM visits "
            "WHERE case_id = :case_id ORDER BY id",
            {"case_id": case_id},
        )
        return [VisitRecord(r[0], self.codec.dt_in_required(r[1]), r[2], r[3]) for r in rows]

    def org_unit(self, unit_id: int) -> OrgUnitRow | None:
        row = self.one(
            "SELECT id, kind, name, short_name, parent_id, path FROM org_units WHERE id = :id",
            {"id": unit_id},
        )
        return None if row is None else OrgUnitRow(*row)

    def user_exists(self, user_id: int) -> bool:
        return self.one("SELECT 1 FROM users WHERE id = :id", {"id": user_id}) is not None

    def users_holding(self, roles: tuple[str, ...]) -> list[tuple[int, str, int, str]]:
        """(user id, display name, org unit id, role) of active users holding any of `roles`."""
        if not roles:
            return []
        marks = ", ".join(f":r{i}" for i in range(len(roles)))
        rows = self.all(
            "SELECT u.id, u.display_name, m.org_unit_id, m.role FROM users u "
            f"JOIN memberships m ON m.user_id = u.id WHERE u.active = :yes AND m.role IN ({marks}) "
            "ORDER BY u.id, m.org_unit_id",
            {"yes": True, **{f"r{i}": r for i, r in enumerate(roles)}},
        )
        return [(int(r[0]), str(r[1]), int(r[2]), str(r[3])) for r in rows]

    def org_units_of(self, kinds: tuple[str, ...]) -> list[tuple[int, str, str, int | None]]:
        """(id, name, path, parent id) of the org units of the given kinds, by id."""
        if not kinds:
            return []
        marks = ", ".join(f":k{i}" for i in range(len(kinds)))
        rows = self.all(
            f"SELECT id, name, path, parent_id FROM org_units WHERE kind IN ({marks}) ORDER BY id",
            {f"k{i}": k for i, k in enumerate(kinds)},
        )
        return [(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]

    # --- what actions write --------------------------------------------------------------

    def set_consent(self, case_party_id: int, consent: str, source: str, now: datetime) -> int:
        return self.execute(
            "UPDATE case_parties SET consent = :consent, consent_at = :now, "
            "consent_source = :source WHERE id = :id",
            {
                "id": case_party_id,
                "consent": consent,
                "source": source,
                "now": self.codec.dt_out(now),
            },
        ).rowcount

    def set_party_address(self, party_id: int, address: str) -> int:
        return self.execute(
            "UPDATE parties SET address = :address WHERE id = :id",
            {"id": party_id, "address": address},
        ).rowcount

    def acknowledge_notice(self, case_party_id: int, now: datetime) -> int:
        return self.execute(
            "UPDATE case_parties SET notice_acknowledged_at = :now WHERE id = :id",
            {"id": case_party_id, "now": self.codec.dt_out(now)},
        ).rowcount

    def add_assignment(
        self, case_id: int, user_id: int, role: str, now: datetime, parties_consented: bool
    ) -> int:
        return self.insert(
            "INSERT INTO assignments (case_id, user_id, role, assigned_at, parties_consented_at) "
            "VALUES (:case_id, :user_id, :role, :now, :consented)",
            {
                "case_id": case_id,
                "user_id": user_id,
                "role": role,
                "now": self.codec.dt_out(now),
                "consented": self.codec.dt_out(now) if parties_consented else None,
            },
        )

    def end_assignment(self, case_id: int, user_id: int, role: str, now: datetime) -> int:
        return self.execute(
            "UPDATE assignments SET ended_at = :now WHERE case_id = :case_id "
            "AND user_id = :user_id AND role = :role AND ended_at IS NULL",
            {"case_id": case_id, "user_id": user_id, "role": role, "now": self.codec.dt_out(now)},
        ).rowcount

    def add_session(
        self,
        *,
        case_id: int,
        state: str,
        level: str,
        held_at: datetime,
        place: str,
        public: bool,
        attendees: list[str],
        record: str,
        recorder_id: int | None,
    ) -> int:
        return self.insert(
            "INSERT INTO mediation_sessions (case_id, state, level, held_at, place, public, "
            "attendees, record, recorder_id) VALUES (:case_id, :state, :level, :held_at, :place, "
            ":public, :attendees, :record, :recorder_id)",
            {
                "case_id": case_id,
                "state": state,
                "level": level,
                "held_at": self.codec.dt_out(held_at),
                "place": place,
                "public": public,
                "attendees": dumps(attendees),
                "record": record,
                "recorder_id": recorder_id,
            },
        )

    def add_signature(
        self,
        *,
        case_id: int,
        signer_kind: str,
        party_id: int | None,
        user_id: int | None,
        method: str,
        signed_at: datetime,
        document_id: int | None = None,
        signer_name: str | None = None,
    ) -> int:
        return self.insert(
            "INSERT INTO signatures (case_id, document_id, signer_kind, party_id, user_id, "
            "method, signer_name, signed_at) VALUES (:case_id, :document_id, :signer_kind, "
            ":party_id, :user_id, :method, :signer_name, :signed_at)",
            {
                "signer_name": signer_name,
                "case_id": case_id,
                "document_id": document_id,
                "signer_kind": signer_kind,
                "party_id": party_id,
                "user_id": user_id,
                "method": method,
                "signed_at": self.codec.dt_out(signed_at),
            },
        )

    # --- documents -----------------------------------------------------------------------

    def documents(self, case_id: int, kind: str | None = None) -> list[DocumentRecord]:
        """The case's document versions (of one kind, or all), oldest first."""
        text = (
            "SELECT id, kind, version, sha256, parent_id, created_at FROM documents "
            "WHERE case_id = :case_id"
        )
        params: dict[str, Any] = {"case_id": case_id}
        if kind is not None:
            text += " AND kind = :kind"
            params["kind"] = kind
        rows = self.all(text + " ORDER BY id", params)
        return [
            DocumentRecord(int(r[0]), r[1], int(r[2]), r[3], r[4], self.codec.dt_in_required(r[5]))
            for r in rows
        ]

    def add_document(
        self,
        *,
        case_id: int,
        kind: str,
        version: int,
        sha256: str,
        parent_id: int | None,
        created_at: datetime,
    ) -> int:
        """Insert one version; rows are never updated, so a version is never overwritten."""
        return self.insert(
            "INSERT INTO documents (case_id, kind, version, sha256, parent_id, created_at) "
            "VALUES (:case_id, :kind, :version, :sha256, :parent_id, :created_at)",
            {
                "case_id": case_id,
                "kind": kind,
                "version": version,
                "sha256": sha256,
                "parent_id": parent_id,
                "created_at": self.codec.dt_out(created_at),
            },
        )

    def signature_documents(self, case_id: int) -> list[tuple[str, int | None, int | None]]:
        """(signer kind, party id, document id) of the case's signatures, oldest first."""
        rows = self.all(
            "SELECT signer_kind, party_id, document_id FROM signatures "
            "WHERE case_id = :case_id ORDER BY id",
            {"case_id": case_id},
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def add_visit(
        self,
        *,
        case_id: int,
        term_index: int | None,
        visited_at: datetime,
        visitor_id: int | None,
        performance: str,
        satisfaction: str | None,
        new_risks: str | None,
        notes: str,
    ) -> int:
        return self.insert(
            "INSERT INTO visits (case_id, term_index, visited_at, visitor_id, performance, "
            "satisfaction, new_risks, notes) VALUES (:case_id, :term_index, :visited_at, "
            ":visitor_id, :performance, :satisfaction, :new_risks, :notes)",
            {
                "case_id": case_id,
                "term_index": term_index,
                "visited_at": self.codec.dt_out(visited_at),
                "visitor_id": visitor_id,
                "performance": performance,
                "satisfaction": satisfaction,
                "new_risks": new_risks,
                "notes": notes,
            },
        )

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
            "INSERT INTO outbox (case_id, kind, recipient, payload, status, attempts, "
            "next_attempt_at, created_at) VALUES (:case_id, :kind, :recipient, :payload, "
            "'pending', 0, :now, :now)",
            {
                "case_id": case_id,
                "kind": kind,
                "recipient": recipient,
                "payload": dumps(dict(payload)),
                "now": self.codec.dt_out(now),
            },
        )
