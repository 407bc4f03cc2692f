"""Storage: Database and Tx. The fire path talks to the bare DB-API driver with SQL compiled
once per dialect.

Why not the ORM here: a SQLModel session per fire measured ~1,200 transitions/s and SQLAlchemy
Core executed through its Connection ~11,000/s on this machine, against ~40,000/s for the bare
driver. So statements are SQLAlchemy Core compiled once per dialect (statements.py), or hand
SQL where a benchmark measures it, and both run on the driver itself. The schema still lives
in engine/models/, and values are encoded exactly as the ORM encodes them (UTC timestamps,
JSON as text), so rows written here read back through SQLModel unchanged.

The connection machinery is engine/repository/connection.py (on SQLite each thread keeps its
driver connection between transactions: ThreadConnections); Tx combines one query class per
aggregate (cases, timers, assignments, directory, documents, outbox, accounts and
idempotency keys), each in its own module on the same raw transaction, each returning named
records read from rows by name. The case row's statements follow the host's CaseLayout. A
host adds its own query classes by subclassing Tx and handing the subclass to Database
(mediation/repository/: MediationTx, MediationDatabase).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Generic, TypeVar, cast

import sqlalchemy as sa

from engine.repository.accounts import AccountQueries
from engine.repository.assignments import AssignmentQueries
from engine.repository.cases import CaseQueries
from engine.repository.connection import (
    _NAMED,
    Codec,
    KeptConnection,
    _FifoLock,
    _Link,
    kept_connections,
)
from engine.repository.directory import DirectoryQueries
from engine.repository.documents import DocumentQueries
from engine.repository.idempotency import IdempotencyQueries
from engine.repository.outbox import OutboxQueries
from engine.repository.timers import TimerQueries

TxT = TypeVar("TxT", bound="Tx", covariant=True)  # what `with` gives: a Tx or a subclass


class Database:
    """The engine's handle on storage: an SQLAlchemy engine plus raw transactions."""

    def __init__(self, engine: sa.Engine, *, tx_class: type[Tx] | None = None) -> None:
        """`tx_class`: the Tx (sub)class every transaction is, the host's queries added."""
        self.engine = engine
        self.tx_class = tx_class or Tx
        self.dialect = engine.dialect.name
        self.codec = Codec(self.dialect)
        self._sql: dict[str, str] = {}
        self.column_names: dict[str, tuple[str, ...]] = {}  # per statement text, for TxCore.rows
        # SQLite has one writer at a time; queueing this process's writers on a lock is fair
        # and fast, where its busy handler makes them sleep and retry (a long p99 under load)
        self._sqlite_writer = _FifoLock() if self.dialect == "sqlite" else None
        # SQLite: each thread keeps its connection between transactions (no pool round)
        self._kept = kept_connections(engine)

    def sql(self, text: str) -> str:
        """`:name` placeholders rendered in the driver's own paramstyle, cached."""
        cached = self._sql.get(text)
        if cached is None:
            cached = text if self.dialect == "sqlite" else _NAMED.sub(r"%(\1)s", text)
            self._sql[text] = cached
        return cached

    def transaction(self, *, write: bool, snapshot: bool = True) -> Transaction[Tx]:
        """One database transaction: on SQLite on the thread's own driver connection
        (engine/repository/connection.py, ThreadConnections), else on a pooled one.

        `snapshot=False` is for a read of a single statement: it runs without a transaction
        around it, which on PostgreSQL saves the COMMIT round trip.

        Writers on SQLite take the write lock at BEGIN (IMMEDIATE), so a read-then-write
        never fails half-way with SQLITE_BUSY; on PostgreSQL the case row is locked by
        `load_case(for_update=True)`.
        """
        return Transaction(self, write=write, snapshot=snapshot)


class Transaction(Generic[TxT]):
    """`with db.transaction(...) as tx`: commits when the block ends, rolls back when it
    raises. A class rather than a generator context manager: it is entered on every fire."""

    __slots__ = ("_autocommit", "_cursor", "_db", "_kept", "_link", "_lock", "_snapshot", "_write")

    def __init__(self, db: Database, *, write: bool, snapshot: bool) -> None:
        self._db = db
        self._write = write
        self._snapshot = snapshot
        self._lock: _FifoLock | None = None
        self._kept: KeptConnection | None = None
        self._link: _Link | None = None
        self._cursor: Any = None
        self._autocommit = False

    def __enter__(self) -> TxT:
        db = self._db
        lock = db._sqlite_writer if self._write else None
        if lock is not None:
            lock.acquire()
        self._lock = lock
        try:
            return cast(TxT, self._open(db))
        except BaseException:
            if lock is not None:
                lock.release()
            raise

    def _open(self, db: Database) -> Tx:
        # one read statement needs no transaction around it; on PostgreSQL that saves the
        # COMMIT round trip (psycopg's autocommit), on SQLite the BEGIN
        single = not self._snapshot and not self._write
        sqlite = db.dialect == "sqlite"
        begin = None
        if sqlite and not single:
            begin = "BEGIN IMMEDIATE" if self._write else "BEGIN"
        keeper = db._kept
        kept = keeper.take(db.engine) if keeper is not None else None
        if kept is not None:  # SQLite, this thread's own connection
            self._kept = kept
            try:
                self._cursor = kept.driver.cursor()
                if begin is not None:
                    self._cursor.execute(begin)
            except BaseException:
                self._end_kept(commit=False)
                raise
            return db.tx_class(db, self._cursor)
        self._autocommit = single and not sqlite
        link = self._link = _Link(db.engine, begin=begin)
        link.open(autocommit=self._autocommit)
        return db.tx_class(db, link.cursor, replace=None if sqlite else link.replace)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._kept is not None:
                self._end_kept(commit=exc_type is None)
            else:
                self._end_link(commit=exc_type is None)
        finally:
            if self._lock is not None:
                self._lock.release()

    def _end_kept(self, *, commit: bool) -> None:
        kept, keeper = self._kept, self._db._kept
        assert kept is not None
        assert keeper is not None
        rolled_back = True
        try:
            if commit:
                try:
                    kept.driver.commit()
                except BaseException:
                    rolled_back = _rolled_back(kept.driver)
                    raise
            else:
                rolled_back = _rolled_back(kept.driver)
        finally:
            if self._cursor is not None:
                self._cursor.close()
            keeper.give_back(kept, broken=not rolled_back)  # a failed rollback: never reused

    def _end_link(self, *, commit: bool) -> None:
        link = self._link
        assert link is not None
        try:
            if commit:
                try:
                    if not self._autocommit:
                        link.raw.commit()
                except BaseException:
                    link.raw.rollback()
                    raise
            else:
                link.raw.rollback()  # on a connection the server dropped this fails, and the
                # pool discards it: no ping before every checkout (a round trip each)
        finally:
            link.close(autocommit=self._autocommit)


def _rolled_back(driver: Any) -> bool:
    """Roll back; False when that failed (the connection is then never reused)."""
    try:
        driver.rollback()
    except Exception:
        return False
    return True


class Tx(
    CaseQueries,
    TimerQueries,
    AssignmentQueries,
    DirectoryQueries,
    DocumentQueries,
    OutboxQueries,
    AccountQueries,
    IdempotencyQueries,
):
    """One open transaction; every method runs inside it and nothing here commits.

    Its statements (and their one retry on a dead connection) are TxCore's; its queries come
    from one class per aggregate.
    """
