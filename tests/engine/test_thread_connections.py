"""SQLite connections kept one per thread (engine/repository/connection.py, ThreadConnections):
each thread runs its transactions on a connection of its own, kept between them instead of
checked out of the pool each time; a transaction inside another still gets a connection of its
own; a disposed engine closes them, and the next transaction opens a new one."""

from __future__ import annotations

import gc
import os
import sqlite3
import threading
import weakref
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.wiring import make_sa_engine
from engine.repository import Database, Tx
from engine.repository.connection import KeptConnection, kept_connections


def _driver(tx: Tx) -> sqlite3.Connection:
    """The driver connection the transaction runs on."""
    cursor: Any = tx._cursor  # sqlite3's cursor knows its connection
    connection: sqlite3.Connection = cursor.connection
    return connection


def _is_open(connection: sqlite3.Connection) -> bool:
    try:
        connection.execute("SELECT 1")
    except sqlite3.ProgrammingError:  # "Cannot operate on a closed database."
        return False
    return True


@pytest.fixture
def database(tmp_path: Path) -> Database:
    engine = make_sa_engine(f"sqlite:///{tmp_path / 'kept.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    return Database(engine)


def test_a_thread_keeps_its_connection_and_two_threads_have_one_each(database: Database) -> None:
    assert kept_connections(database.engine) is not None
    with database.transaction(write=True) as tx:
        mine = _driver(tx)
        tx.execute("INSERT INTO notes (text) VALUES ('main')")
    with database.transaction(write=False) as tx:
        assert _driver(tx) is mine  # kept between transactions, not back to the pool

    theirs: dict[str, list[sqlite3.Connection]] = {"a": [], "b": []}
    started = threading.Barrier(2)

    def worker(name: str) -> None:
        with database.transaction(write=False) as tx:
            theirs[name].append(_driver(tx))
            started.wait(timeout=10)  # both threads inside a transaction at once
        with database.transaction(write=False) as tx:
            theirs[name].append(_driver(tx))

    threads = [threading.Thread(target=worker, args=(name,)) for name in theirs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (a_first, a_second), (b_first, b_second) = theirs["a"], theirs["b"]
    assert a_first is a_second  # each thread kept its own
    assert b_first is b_second
    assert a_first is not b_first
    assert mine is not a_first
    assert mine is not b_first


def test_a_transaction_inside_another_runs_on_a_connection_of_its_own(
    database: Database,
) -> None:
    with database.transaction(write=True) as outer:
        outer.execute("INSERT INTO notes (text) VALUES ('uncommitted')")
        with database.transaction(write=False) as inner:
            assert _driver(inner) is not _driver(outer)
            assert inner.one("SELECT COUNT(*) FROM notes") == (0,)  # not the outer's writes
        outer_driver = _driver(outer)
    with database.transaction(write=False) as tx:
        assert _driver(tx) is outer_driver  # the thread's own again
        assert tx.one("SELECT COUNT(*) FROM notes") == (1,)


def test_a_failed_transaction_is_rolled_back_and_its_connection_kept_clean(
    database: Database,
) -> None:
    used: list[sqlite3.Connection] = []

    def failing() -> None:
        with database.transaction(write=True) as tx:
            used.append(_driver(tx))
            tx.execute("INSERT INTO notes (text) VALUES ('lost')")
            raise RuntimeError("an action failed")

    with pytest.raises(RuntimeError):
        failing()
    failed = used[0]
    with database.transaction(write=False) as tx:
        assert _driver(tx) is failed
        assert tx.one("SELECT COUNT(*) FROM notes") == (0,)


def test_disposing_the_engine_closes_the_kept_connections(database: Database) -> None:
    with database.transaction(write=False) as tx:
        idle = _driver(tx)
    ready, release = threading.Event(), threading.Event()
    busy: list[sqlite3.Connection] = []

    def worker() -> None:
        with database.transaction(write=True) as tx:
            busy.append(_driver(tx))
            ready.set()
            release.wait(timeout=10)
            tx.execute("INSERT INTO notes (text) VALUES ('finished after the dispose')")

    thread = threading.Thread(target=worker)
    thread.start()
    assert ready.wait(timeout=10)
    database.engine.dispose()
    assert not _is_open(idle)  # an idle one at once
    assert _is_open(busy[0])  # a busy one finishes its transaction first
    release.set()
    thread.join()
    assert not _is_open(busy[0])
    with database.transaction(write=False) as tx:
        assert _driver(tx) is not idle  # a new one
        assert tx.one("SELECT text FROM notes") == ("finished after the dispose",)


def test_a_finished_thread_leaves_no_connection_behind(database: Database) -> None:
    keeper = kept_connections(database.engine)
    assert keeper is not None
    seen: list[weakref.ref[KeptConnection]] = []
    drivers: list[sqlite3.Connection] = []

    def worker() -> None:
        with database.transaction(write=False) as tx:
            tx.one("SELECT 1")
            drivers.append(_driver(tx))
        seen.extend(weakref.ref(k) for k in keeper._all)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert drivers
    assert not _is_open(drivers[0])  # closed as the thread ended, not at the collector's pass
    gc.collect()
    assert seen
    assert all(ref() is None for ref in seen)  # freed with the thread


def test_a_memory_database_is_not_kept_per_thread() -> None:
    engine = make_sa_engine("sqlite://")  # each connection its own database: never detach one
    assert kept_connections(engine) is None
    engine.dispose()
    assert kept_connections(sa.create_engine("sqlite:///unconfigured.db")) is None


def test_a_connection_opened_while_the_engine_is_disposed_is_not_kept(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    keeper = kept_connections(database.engine)
    assert keeper is not None
    engine = database.engine
    checkout = engine.raw_connection

    def disposed_meanwhile() -> Any:
        raw = checkout()
        keeper.close_all()  # another thread disposes the engine before this one is listed
        return raw

    monkeypatch.setattr(engine, "raw_connection", disposed_meanwhile)
    kept = keeper.take(engine)
    assert kept is not None
    keeper.give_back(kept)
    assert not _is_open(kept.driver)  # close_all could not close it: given back, it is
    monkeypatch.undo()
    with database.transaction(write=False) as tx:
        assert _driver(tx) is not kept.driver


def test_a_forked_child_neither_uses_nor_closes_its_parent_s_connection(
    database: Database,
) -> None:
    with database.transaction(write=True) as tx:
        parent = _driver(tx)
        tx.execute("INSERT INTO notes (text) VALUES ('before the fork')")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's clean-ups
        code = 1
        try:
            with database.transaction(write=True) as tx:
                fresh = _driver(tx) is not parent
                tx.execute("INSERT INTO notes (text) VALUES ('the child')")
            code = 0 if fresh else 2
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    child_said = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert child_said == bytes([0])  # it ran on a connection of its own
    with database.transaction(write=False) as tx:
        assert _driver(tx) is parent  # the parent's is still kept, and open
        texts = [row["text"] for row in tx.rows("SELECT text FROM notes ORDER BY id")]
    assert texts == ["before the fork", "the child"]
