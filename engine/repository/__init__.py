"""Storage: Database and Tx. The fire path talks to the bare DB-API driver with SQL compiled
once per dialect.

Why not the ORM here: a SQLModel session per fire measured ~1,200 transitions/s and SQLAlchemy
Core ~11,000/s on this machine, against ~40,000/s for the driver behind SQLAlchemy's pool. The
schema still lives in engine/models/, and values are encoded exactly as the ORM encodes them
(UTC timestamps, JSON as text), so rows written here read back through SQLModel unchanged.

The connection machinery is engine/repository/connection.py; Tx combines one query class per
aggregate (cases, timers, assignments, directory, documents, outbox, accounts and
idempotency keys), each in its own module on the same raw statements, each returning named
records read from rows by name. A host adds its own query classes by subclassing Tx and
handing the subclass to Database (mediation/repository/: MediationTx, MediationDatabase).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from engine.repository.accounts import AccountQueries
from engine.repository.assignments import AssignmentQueries
from engine.repository.cases import CaseQueries
from engine.repository.connection import _NAMED, Codec, _FifoLock, _Link, kept_connections
from engine.repository.directory import DirectoryQueries
from engine.repository.documents import DocumentQueries
from engine.repository.idempotency import IdempotencyQueries
from engine.repository.outbox import OutboxQueries
from engine.repository.timers import TimerQueries


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

    @contextmanager
    def transaction(self, *, write: bool, snapshot: bool = True) -> Iterator[Tx]:
        """One database transaction: on SQLite on the thread's own driver connection
        (engine/repository/connection.py, ThreadConnections), else on a pooled one.

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
            keeper = self._kept
            kept = keeper.take(self.engine) if keeper is not None else None
            if kept is not None:  # SQLite, this thread's own connection
                assert keeper is not None
                driver = kept.driver
                cursor = driver.cursor()
                broken = False
                try:
                    if not single:
                        cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                    yield self.tx_class(self, cursor)
                    driver.commit()
                except BaseException:
                    try:
                        driver.rollback()
                    except Exception:
                        broken = True  # never reused: the next transaction opens another
                    raise
                finally:
                    cursor.close()
                    keeper.give_back(kept, broken=broken)
                return
            autocommit = single and self.dialect != "sqlite"
            begin = None
            if self.dialect == "sqlite" and not single:
                begin = "BEGIN IMMEDIATE" if write else "BEGIN"
            link = _Link(self.engine, begin=begin)
            link.open(autocommit=autocommit)
            replace = None if self.dialect == "sqlite" else link.replace
            try:
                yield self.tx_class(self, link.cursor, replace=replace)
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
