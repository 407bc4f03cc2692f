"""The connection machinery: the bare DB-API driver behind SQLAlchemy's pool (on SQLite a
connection kept per thread instead, ThreadConnections), SQL compiled once per dialect, values
encoded as the ORM encodes them, a dead connection replaced, and SQLite's writers queued
fairly. TxCore is the statements every query module runs on."""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import sqlalchemy as sa
from sqlalchemy import event

from engine.models.columns import SQLITE_DATETIME_FORMAT
from engine.repository.statements import CoreStatement, bind, bind_many, core_names, returning_id

if TYPE_CHECKING:
    from engine.repository import Database

_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")

Row = dict[str, Any]  # one row's values under their column names
Statement: TypeAlias = str | CoreStatement  # hand SQL with `:name` parameters, or a Core statement


class _Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    @property
    def description(self) -> Sequence[Sequence[Any]] | None: ...

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

    if _keepable(engine):
        kept = _KEPT.setdefault(engine, ThreadConnections())
        event.listen(engine, "engine_disposed", lambda _engine: kept.close_all())


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


@lru_cache(maxsize=4096)  # a case's created_at and state_entered_at, read on every fire
def _stored_time(text: str) -> datetime:
    """SQLite's stored timestamp text as an aware UTC datetime (immutable: safe to share)."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Codec:
    """Encodes values as the ORM types in engine/models/ would, for one dialect."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        # the last datetime encoded and its encoding: a fire writes the same `now` to the
        # case (updated_at, state_entered_at) and to its event
        self._last_out: tuple[datetime | None, Any] = (None, None)

    def dt_out(self, value: datetime | None) -> Any:
        if value is None:
            return None
        last = self._last_out  # one read: another thread may replace it meanwhile
        if last[0] is value:  # the very object (datetimes are immutable), held here alive
            return last[1]
        utc = value.astimezone(UTC)
        out = utc.replace(tzinfo=None).strftime(SQLITE_DATETIME_FORMAT) if self.sqlite else utc
        self._last_out = (value, out)
        return out

    def dt_in(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return _stored_time(value)
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


def _keepable(engine: sa.Engine) -> bool:
    """A SQLite file behind a pool that hands each checkout a connection of its own: one
    whose connections may be kept per thread (a memory database lives in its connection,
    SingletonThreadPool's and StaticPool's connections are shared)."""
    database = engine.url.database or ""
    memory = database in ("", ":memory:") or "mode=memory" in str(engine.url)
    return not memory and isinstance(engine.pool, (sa.pool.QueuePool, sa.pool.NullPool))


class KeptConnection:
    """One thread's SQLite driver connection, kept between its transactions, out of the pool."""

    __slots__ = ("__weakref__", "busy", "driver", "lock", "retired")

    def __init__(self, driver: Any) -> None:
        self.driver = driver  # sqlite3's connection, its pragmas set (the pool's connect event)
        self.lock = threading.Lock()  # busy and retired change together (close_all's thread)
        self.busy = False  # a transaction runs on it
        self.retired = False  # the engine was disposed: closed, or closed when given back

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.driver.close()

    def __del__(self) -> None:
        # freed when its thread ends (a thread's locals die with it): sqlite3's connection
        # sits in a reference cycle of its own (its statement cache), so left to itself it
        # would stay open, its files with it, until the cyclic collector's next full pass
        self.close()


class ThreadConnections:
    """SQLite's connections kept one per thread instead of checked out of SQLAlchemy's pool
    and back for every transaction (~10 µs of a ~90 µs fire, bench/engine.py).

    A thread's connection is detached from the pool when first needed (the pool's connect
    event has set its pragmas) and closed when the thread ends or the engine is disposed
    (one busy then is closed when its transaction ends). A transaction opened while the
    thread's own is busy (one inside another) takes a pooled connection, as before.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: weakref.WeakSet[KeptConnection] = weakref.WeakSet()
        self._mutex = threading.Lock()
        self._disposals = 0  # close_all's calls: one during a take() retires what it opened

    def take(self, engine: sa.Engine) -> KeptConnection | None:
        """This thread's connection, marked busy; None when it is busy already."""
        kept: KeptConnection | None = getattr(self._local, "kept", None)
        if kept is not None:
            with kept.lock:
                if kept.busy:
                    return None
                if not kept.retired:
                    kept.busy = True
                    return kept
        disposals = self._disposals
        raw = engine.raw_connection()
        driver = raw.driver_connection
        raw.detach()  # ours from now on: the pool neither counts nor resets it
        kept = KeptConnection(driver)
        kept.busy = True
        with self._mutex:
            self._all.add(kept)
            # the engine was disposed meanwhile: close_all did not see this one, which may be
            # the old pool's; it serves this transaction and is closed when given back
            kept.retired = self._disposals != disposals
        self._local.kept = kept
        return kept

    def give_back(self, kept: KeptConnection, *, broken: bool = False) -> None:
        """The transaction on `kept` has ended; `broken`: its rollback failed, drop it."""
        with kept.lock:
            kept.busy = False
            if broken or kept.driver.in_transaction:  # never handed on half-done
                kept.retired = True
            close = kept.retired
        if close:
            kept.close()
            if getattr(self._local, "kept", None) is kept:
                del self._local.kept

    def close_all(self) -> None:
        """Close every thread's connection (the engine is disposed); a busy one is closed
        when its transaction ends, and each thread opens a new one when next it needs one."""
        with self._mutex:
            every = list(self._all)
            self._all.clear()
            self._disposals += 1
        for kept in every:
            with kept.lock:
                kept.retired = True
                idle = not kept.busy
            if idle:
                kept.close()

    def forget_inherited(self) -> None:
        """In a forked child: its parent's connections are neither used nor closed (SQLite
        forbids carrying a connection across fork; closing the copy is the parent's to do),
        and the child's threads open their own. New locks: the parent's may have been held."""
        _INHERITED.extend(self._all)  # kept alive, so never freed and closed here
        self._all = weakref.WeakSet()
        self._local = threading.local()
        self._mutex = threading.Lock()


_KEPT: weakref.WeakKeyDictionary[sa.Engine, ThreadConnections] = weakref.WeakKeyDictionary()
_INHERITED: list[KeptConnection] = []  # a forked child's copies of its parent's connections


def _after_fork_in_child() -> None:
    for keeper in list(_KEPT.values()):
        keeper.forget_inherited()


os.register_at_fork(after_in_child=_after_fork_in_child)


def kept_connections(engine: sa.Engine) -> ThreadConnections | None:
    """The engine's connections kept per thread; None where each transaction checks one out
    of the pool (PostgreSQL, a memory database, an engine configure_engine never saw)."""
    return _KEPT.get(engine)


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


class TxCore:
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

    def execute(self, text: Statement, params: Mapping[str, Any] | None = None) -> _Cursor:
        if isinstance(text, str):  # hand SQL: as before, one dict lookup
            sql = self.db.sql(text)
        else:
            sql, params = bind(self.db, text, params)
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

    def one(self, text: Statement, params: Mapping[str, Any] | None = None) -> Sequence[Any] | None:
        return self.execute(text, params).fetchone()

    def all(
        self, text: Statement, params: Mapping[str, Any] | None = None
    ) -> Sequence[Sequence[Any]]:
        return self.execute(text, params).fetchall()

    def row(self, text: Statement, params: Mapping[str, Any] | None = None) -> Row | None:
        """The first row, its values under their column names (or the names `AS` gives)."""
        cursor = self.execute(text, params)
        values = cursor.fetchone()
        return None if values is None else dict(zip(self._names(text, cursor), values, strict=True))

    def rows(self, text: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Every row, each its values under their column names: read by name, a column
        added to or moved in the statement cannot shift what a field receives."""
        cursor = self.execute(text, params)
        names = self._names(text, cursor)
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]

    def _names(self, text: Statement, cursor: _Cursor) -> tuple[str, ...]:
        """The statement's column names, read from the driver once per statement text."""
        if not isinstance(text, str):
            return core_names(self.db, text, cursor)
        names = self.db.column_names.get(text)
        if names is None:
            description = cursor.description
            assert description is not None, "not a statement that returns rows"
            names = tuple(str(column[0]) for column in description)
            if len(set(names)) != len(names):
                raise ValueError(f"two columns share a name (alias them): {names}")
            self.db.column_names[text] = names
        return names

    def execute_many(self, text: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        """One statement, many parameter sets: a bulk load (the 台账 import) in one round."""
        if rows:
            sql, rows = (
                (self.db.sql(text), rows)
                if isinstance(text, str)
                else bind_many(self.db, text, rows)
            )
            self._cursor.executemany(sql, rows)
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

    def insert(self, text: Statement, params: Mapping[str, Any]) -> int:
        row = self.row(returning_id(text), params)
        assert row is not None
        return int(row["id"])
