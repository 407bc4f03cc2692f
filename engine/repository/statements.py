"""SQLAlchemy Core statements on TxCore's bare driver: each compiled once per database dialect
in the `:name` style, then rendered for the driver by Database.sql like hand SQL (every
statement passes there: bench.engine counts a fire's statements on it), so a call costs two
dict lookups. Build statements once, at module level, with `sa.bindparam("name")` for what
each call passes.

The driver receives values as TxCore's callers encode them (Codec): SQLAlchemy's type
processing is not run, and so no bind casts are rendered. The values a statement carries
itself (literals, the columns' scalar defaults an INSERT fills in as the ORM would) are
bound on every call; a `bindparam` left unset is a ValueError naming it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.engine.interfaces import BindTyping, Dialect
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.schema import ScalarElementColumnDefault

if TYPE_CHECKING:
    from engine.repository import Database

# what TxCore runs besides a text string: a Core statement built once
CoreStatement: TypeAlias = (
    sa.Select[*tuple[Any, ...]]
    | sa.Insert
    | sa.Update
    | sa.Delete
    | ReturningInsert[*tuple[Any, ...]]
)


@dataclass(slots=True)
class Compiled:
    """One statement as the driver runs it on one dialect."""

    sql: str  # `:name` placeholders; Database.sql renders them for the driver
    carried: dict[str, Any] | None  # values the statement binds itself, None if none
    required: frozenset[str]  # the bindparams every call must pass
    names: tuple[str, ...] | None = field(default=None)  # the result's columns, once read


_COMPILED: dict[str, dict[CoreStatement, Compiled]] = {}  # per dialect name, per statement
_DIALECTS: dict[str, Dialect] = {}
_RETURNING_ID: dict[CoreStatement, CoreStatement] = {}


def _named_dialect(db: Database) -> Dialect:
    """The database's dialect rendering `:name` placeholders and no bind casts."""
    dialect = _DIALECTS.get(db.dialect)
    if dialect is None:
        kind = type(db.engine.dialect)
        assert issubclass(kind, DefaultDialect)
        dialect = kind(paramstyle="named")
        dialect.bind_typing = BindTyping.NONE
        _DIALECTS[db.dialect] = dialect
    return dialect


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def compile_statement(db: Database, statement: CoreStatement) -> Compiled:
    """The statement compiled for `db`'s dialect, cached (a dict lookup after the first)."""
    cache = _COMPILED.setdefault(db.dialect, {})
    entry = cache.get(statement)
    if entry is not None:
        return entry
    compiled = statement.compile(dialect=_named_dialect(db))
    text = str(compiled)
    if "POSTCOMPILE" in text:
        raise ValueError(
            "an IN of literal values is bound per call: write it as "
            "column.in_([sa.literal(v), ...]) or with a bindparam per value"
        )
    binds = {name: bind for bind, name in compiled.bind_names.items()}
    if called := sorted(name for name, bind in binds.items() if bind.callable is not None):
        # its value would be called once, here, and carried by every later call
        raise ValueError(f"bindparam(s) with a callable: {', '.join(called)}: pass the value")
    required = frozenset(name for name, bind in binds.items() if bind.required)
    carried: dict[str, Any] = {
        name: _plain(bind.effective_value)
        for name, bind in binds.items()
        if not bind.required and bind.value is not None
    }
    prefetch = [(c, c.default) for c in compiled.insert_prefetch]
    prefetch += [(c, c.onupdate) for c in compiled.update_prefetch]
    for column, default in prefetch:
        if not isinstance(default, ScalarElementColumnDefault):
            raise ValueError(f"{column}: pass its value (only scalar defaults are filled in)")
        carried[column.key] = _plain(default.arg)
    for name, bind in binds.items():
        if name not in carried and not bind.required:
            carried[name] = _plain(bind.effective_value)  # a literal None
    entry = Compiled(text, carried or None, required)
    cache[statement] = entry
    return entry


def bind(
    db: Database, statement: CoreStatement, params: Mapping[str, Any] | None
) -> tuple[str, Mapping[str, Any]]:
    """The driver's SQL and parameters for one run of a Core statement."""
    entry = _COMPILED.get(db.dialect, {}).get(statement) or compile_statement(db, statement)
    given = params or {}
    if not entry.required <= given.keys():
        missing = ", ".join(sorted(entry.required - given.keys()))
        raise ValueError(f"no value for bindparam(s): {missing}")
    if entry.carried is not None:  # the statement's own values: a caller's key cannot move them
        given = {**given, **entry.carried}
    return db.sql(entry.sql), given  # through Database.sql like hand SQL: one place sees all


def bind_many(
    db: Database, statement: CoreStatement, rows: Sequence[Mapping[str, Any]]
) -> tuple[str, Sequence[Mapping[str, Any]]]:
    """The driver's SQL and parameter sets for an executemany of a Core statement."""
    bound = [bind(db, statement, row) for row in rows]
    return bound[0][0], [params for _sql, params in bound]


def core_names(db: Database, statement: CoreStatement, cursor: Any) -> tuple[str, ...]:
    """The statement's result columns, read from the driver's description once."""
    entry = compile_statement(db, statement)
    if entry.names is None:
        description = cursor.description
        assert description is not None, "not a statement that returns rows"
        names = tuple(str(column[0]) for column in description)
        if len(set(names)) != len(names):
            raise ValueError(f"two columns share a name (label them): {names}")
        entry.names = names
    return entry.names


def returning_id(statement: str | CoreStatement) -> str | CoreStatement:
    """The INSERT returning its new row's id (added once per statement)."""
    if isinstance(statement, str):
        return statement + " RETURNING id"
    returning = _RETURNING_ID.get(statement)
    if returning is None:
        assert isinstance(statement, sa.Insert), "insert() takes an INSERT"
        table = statement.table
        assert isinstance(table, sa.Table)
        returning = statement.returning(table.c.id)
        _RETURNING_ID[statement] = returning
    return returning


def table_of(model: type[Any]) -> sa.Table:
    """A SQLModel table class's Core table, to build statements on."""
    table = getattr(model, "__table__", None)
    assert isinstance(table, sa.Table), f"{model} is not a table class"
    return table


def marks(prefix: str, count: int) -> list[sa.BindParameter[Any]]:
    """`count` bindparams named prefix0, prefix1, …: an IN list of a given length (a
    statement per length, built once by a @cache'd builder: one evicted and rebuilt would
    be compiled and kept again)."""
    return [sa.bindparam(f"{prefix}{i}") for i in range(count)]
