"""Pooled PostgreSQL connections: one whose server side went away is replaced by the first
statement that finds it (the transaction had done nothing yet, so the statement runs again on
a new connection), instead of being pinged before every use (a round trip per transaction)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from engine.repository import Database


@pytest.mark.postgres
def test_a_dead_connection_is_replaced_without_a_failure(any_sa_engine: sa.Engine) -> None:
    if any_sa_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server to lose")
    db = Database(any_sa_engine)
    with db.transaction(write=False) as tx:
        row = tx.one("SELECT pg_backend_pid()")
        assert row is not None
        pid = int(row[0])
    admin = sa.create_engine(any_sa_engine.url, poolclass=sa.NullPool)  # not from the pool
    with admin.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    failures = 0
    for _ in range(12):  # more than the pool holds
        try:
            with db.transaction(write=False) as tx:
                assert tx.one("SELECT 1") is not None
        except Exception:
            failures += 1
    assert failures == 0
    with db.transaction(write=False) as tx:
        row = tx.one("SELECT pg_backend_pid()")
        assert row is not None
        assert int(row[0]) != pid


@pytest.mark.postgres
def test_a_single_statement_read_leaves_its_connection_transactional(
    any_sa_engine: sa.Engine,
) -> None:
    if any_sa_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: the read runs in autocommit there")
    db = Database(any_sa_engine)
    with db.transaction(write=False, snapshot=False) as tx:
        assert tx.one("SELECT 1") is not None
    with pytest.raises(RuntimeError), db.transaction(write=False, snapshot=False) as tx:
        raise RuntimeError("a failed read")
    for _ in range(3):  # whichever pooled connection comes next
        raw = any_sa_engine.raw_connection()
        try:
            driver: Any = raw.driver_connection  # psycopg's connection
            assert driver.autocommit is False
        finally:
            raw.close()
