"""SQLAlchemy Core statements on the raw transaction: compiled once per dialect, run on the
bare driver, rows read by name, and a parameter left unset refused by name."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import sqlalchemy as sa

from engine.models.org import User
from engine.repository import Database
from engine.repository.statements import _COMPILED, compile_statement

_USERS: sa.Table = User.__table__  # type: ignore[attr-defined]

_ADD = sa.insert(_USERS).values(
    username=sa.bindparam("username"), display_name=sa.bindparam("display_name")
)
_RENAME = (
    sa.update(_USERS)
    .values(display_name=sa.bindparam("display_name"))
    .where(_USERS.c.id == sa.bindparam("id"))
)
_ACTIVE_BY_NAME = sa.select(
    _USERS.c.id, _USERS.c.display_name, _USERS.c.token_epoch, _USERS.c.active
).where(_USERS.c.username == sa.bindparam("username"), _USERS.c.active == sa.true())


def test_core_statements_run_on_the_driver_and_rows_come_back_by_name(
    any_sa_engine: sa.Engine,
) -> None:
    db = Database(any_sa_engine)
    with db.transaction(write=True) as tx:
        user_id = tx.insert(_ADD, {"username": "li", "display_name": "李"})
        tx.execute(_RENAME, {"id": user_id, "display_name": "李四"})
    with db.transaction(write=False) as tx:
        row = tx.row(_ACTIVE_BY_NAME, {"username": "li"})
        rows = tx.rows(_ACTIVE_BY_NAME, {"username": "nobody"})
    assert row is not None
    # the columns' scalar defaults were filled in as the ORM would (active, token_epoch)
    assert row == {"id": user_id, "display_name": "李四", "token_epoch": 0, "active": row["active"]}
    assert bool(row["active"]) is True
    assert rows == []


def test_a_core_statement_is_compiled_once_per_dialect(
    any_sa_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(any_sa_engine)
    with db.transaction(write=True) as tx:
        tx.insert(_ADD, {"username": "wang", "display_name": "王"})
    compiles = 0
    original = sa.Select.compile

    def counting(self: sa.Select[Any], *args: Any, **kwargs: Any) -> Any:
        nonlocal compiles
        compiles += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sa.Select, "compile", counting)
    _COMPILED.get(db.dialect, {}).pop(_ACTIVE_BY_NAME, None)  # as if never run here
    for _ in range(3):
        with db.transaction(write=False) as tx:
            assert tx.row(_ACTIVE_BY_NAME, {"username": "wang"}) is not None
    cached = _COMPILED[db.dialect][_ACTIVE_BY_NAME]
    assert compiles == 1
    assert cached is _COMPILED[db.dialect][_ACTIVE_BY_NAME]
    assert ":username" not in db.sql(cached.sql) or db.dialect == "sqlite"  # the driver's style


def test_a_bindparam_left_unset_is_refused_by_name(any_sa_engine: sa.Engine) -> None:
    db = Database(any_sa_engine)
    with pytest.raises(ValueError, match="display_name"), db.transaction(write=True) as tx:
        tx.execute(_RENAME, {"id": 1})


def test_a_bindparam_with_a_callable_is_refused_not_called_once_for_good(
    any_sa_engine: sa.Engine,
) -> None:
    db = Database(any_sa_engine)
    calls = iter(range(10))
    by_call = sa.select(_USERS.c.id).where(
        _USERS.c.id == sa.bindparam("id", callable_=lambda: next(calls))
    )
    with pytest.raises(ValueError, match="callable"), db.transaction(write=False) as tx:
        tx.rows(by_call)


_QUERY_MODULES = (
    "engine.repository.accounts",
    "engine.repository.assignments",
    "engine.repository.directory",
    "engine.repository.documents",
    "engine.repository.idempotency",
    "engine.repository.outbox",
    "engine.repository.timers",
    "engine.numbering",
    "mediation.repository.attachments",
    "mediation.repository.categories",
    "mediation.repository.parties",
    "mediation.repository.proceedings",
    "mediation.repository.progress",
    "mediation.repository.signatures",
    "mediation.repository.signing",
)


@pytest.mark.parametrize("module", _QUERY_MODULES)
def test_every_module_level_statement_compiles_on_both_dialects(module: str) -> None:
    """A statement that does not compile (two bindparams of one name, an IN of literals)
    fails on its first call in production: here it fails at once, on either database."""
    statements = [
        value
        for value in vars(importlib.import_module(module)).values()
        if isinstance(value, sa.Select | sa.Insert | sa.Update | sa.Delete)
    ]
    assert statements
    for url in ("sqlite://", "postgresql+psycopg://"):
        db = Database(sa.create_engine(url))  # no connection is made
        for statement in statements:
            # as TxCore compiles it: an IN of literals, a default it cannot fill in or a
            # bindparam with a callable is a ValueError here
            assert "POSTCOMPILE" not in compile_statement(db, statement).sql


def test_an_in_list_statement_is_built_once_per_length_however_many_lengths() -> None:
    """The compiled statements are kept for good: a builder that evicted a length and built
    it again would add a compiled statement per rebuild (a long-lived server's memory)."""
    from engine.repository import assignments, directory, outbox

    builders = (
        assignments._active_assignees,
        directory._users_holding,
        directory._org_units_of,
        outbox._retry_named,
    )
    for build in builders:
        first = build(1)
        for count in range(2, 100):
            build(count)
        assert build(1) is first
