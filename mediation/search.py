"""Searching cases by case number and party name through an index, not a scan of every case:
a pg_trgm GIN index on PostgreSQL, an FTS5 table with the trigram tokenizer on SQLite (kept
by triggers). The schema objects are created with the tables (`install`) and by migration
0012 (`statements`); `matching` is the SQL the case lists put beside their scope clause, so
that a search is scoped before it is limited.

Hand SQL on purpose: each dialect's own index (pg_trgm, FTS5 trigram), measured by
bench.scale's searches at 1M cases.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from engine.repository import Tx

# objects outside engine.models' tables, which the migrations check must not count as drift
SQLITE_TABLE = "case_search"
POSTGRES_INDEXES = ("ix_cases_number_trgm", "ix_parties_name_trgm")

# New rows' trigrams gather in a pending list merged, sorted, when it holds 256 kB (kB
# units): a row inserted straight into the GIN tree (fastupdate off) cost 130 µs a case
# number, 13 s of a 100,000-row ledger import, against 1.2 s this way; a search reads at
# most 256 kB of unmerged rows (~0.1 ms; the default 4 MB list once made a search 30 ms
# instead of 3 at 100k cases). Migration 0019 sets the same on existing indexes.
GIN_OPTIONS = "fastupdate = on, gin_pending_list_limit = 256"
_POSTGRES = (
    "CREATE INDEX IF NOT EXISTS ix_cases_number_trgm ON cases USING gin (number gin_trgm_ops) "
    f"WITH ({GIN_OPTIONS})",
    "CREATE INDEX IF NOT EXISTS ix_parties_name_trgm ON parties USING gin (name gin_trgm_ops) "
    f"WITH ({GIN_OPTIONS})",
)
_SQLITE = (
    # one row per case number and per party of a case; case_id is stored, not indexed
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {SQLITE_TABLE} USING fts5(text, case_id UNINDEXED, "
    "tokenize = 'trigram')",
    f"CREATE TRIGGER IF NOT EXISTS {SQLITE_TABLE}_case AFTER INSERT ON cases BEGIN "
    f"INSERT INTO {SQLITE_TABLE} (text, case_id) VALUES (new.number, new.id); END",
    f"CREATE TRIGGER IF NOT EXISTS {SQLITE_TABLE}_case_gone AFTER DELETE ON cases BEGIN "
    f"DELETE FROM {SQLITE_TABLE} WHERE case_id = old.id; END",
    f"CREATE TRIGGER IF NOT EXISTS {SQLITE_TABLE}_party AFTER INSERT ON case_parties BEGIN "
    f"INSERT INTO {SQLITE_TABLE} (text, case_id) "
    "SELECT name, new.case_id FROM parties WHERE id = new.party_id; END",
    f"CREATE TRIGGER IF NOT EXISTS {SQLITE_TABLE}_party_gone AFTER DELETE ON case_parties BEGIN "
    f"DELETE FROM {SQLITE_TABLE} WHERE case_id = old.case_id "
    "AND text = (SELECT name FROM parties WHERE id = old.party_id); END",
    f"CREATE TRIGGER IF NOT EXISTS {SQLITE_TABLE}_rename AFTER UPDATE OF name ON parties BEGIN "
    f"DELETE FROM {SQLITE_TABLE} WHERE text = old.name "
    "AND case_id IN (SELECT case_id FROM case_parties WHERE party_id = new.id); "
    f"INSERT INTO {SQLITE_TABLE} (text, case_id) "
    "SELECT new.name, case_id FROM case_parties WHERE party_id = new.id; END",
)
_INSERT_TRIGGERS = {
    f"{SQLITE_TABLE}_case": _SQLITE[1],
    f"{SQLITE_TABLE}_party": _SQLITE[3],
}
SQLITE_BACKFILL = (
    f"INSERT INTO {SQLITE_TABLE} (text, case_id) SELECT number, id FROM cases",
    f"INSERT INTO {SQLITE_TABLE} (text, case_id) SELECT p.name, cp.case_id "
    "FROM case_parties cp JOIN parties p ON p.id = cp.party_id",
)


@contextmanager
def bulk_load(tx: Tx) -> Iterator[Callable[[int, int], None]]:
    """Index a bulk load of new cases set-based: on SQLite the insert triggers are set aside
    for the transaction (an FTS5 insert run by a trigger flushes the index each time: ten
    times the cost of one INSERT … SELECT) and `index(first, last)` adds the cases with ids
    in that range — all of them new — and their parties; the triggers are back before the
    commit (DDL is transactional in SQLite: a rollback restores them too). PostgreSQL's
    trigram indexes follow the rows by themselves (through their pending lists)."""
    if tx.db.dialect != "sqlite":
        yield lambda _first, _last: None
        return
    for name in _INSERT_TRIGGERS:
        tx.execute(f"DROP TRIGGER IF EXISTS {name}")

    def index(first: int, last: int) -> None:
        bounds = {"first": first, "last": last}
        tx.execute(
            f"INSERT INTO {SQLITE_TABLE} (text, case_id) SELECT number, id FROM cases "
            "WHERE id BETWEEN :first AND :last",
            bounds,
        )
        tx.execute(
            f"INSERT INTO {SQLITE_TABLE} (text, case_id) SELECT p.name, cp.case_id "
            "FROM case_parties cp JOIN parties p ON p.id = cp.party_id "
            "WHERE cp.case_id BETWEEN :first AND :last",
            bounds,
        )

    yield index
    for statement in _INSERT_TRIGGERS.values():
        tx.execute(statement)


def statements(dialect: str) -> tuple[str, ...]:
    """The DDL of the search index for a dialect, after the tables exist."""
    if dialect == "postgresql":
        return ("CREATE EXTENSION IF NOT EXISTS pg_trgm", *_POSTGRES)
    return _SQLITE


def install(metadata: sa.MetaData) -> None:
    """Create the search index whenever `metadata.create_all` creates the tables."""

    def create(_target: Any, connection: sa.Connection, **_kw: Any) -> None:
        for statement in statements(connection.dialect.name):
            connection.exec_driver_sql(statement)

    sa.event.listen(metadata, "after_create", create)


def is_search_object(name: str | None) -> bool:
    """A schema object of the search index (the FTS5 table and its shadow tables, the GIN
    indexes), which engine.models does not describe."""
    if name is None:
        return False
    return name.startswith(SQLITE_TABLE) or name in POSTGRES_INDEXES


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# a whole case number as people type it: the year in brackets (full-width as the default
# pattern prints them, half-width, or 〔〕), anything but brackets, the sequence, 号
_BRACKETS = (("（", "）"), ("(", ")"), ("〔", "〕"), ("[", "]"))
_WHOLE_NUMBER = re.compile(r"\(\d{4}\)[^()]*\d+号")
# full-width letters and digits (FF10–FF5A) typed in a Chinese IME's full-width mode, and
# every bracket kind, as ASCII; whitespace (also the full-width U+3000) dropped
_TYPED = str.maketrans(
    {
        **{chr(0xFF10 + i): chr(0x30 + i) for i in range(0x5A - 0x30 + 1)},
        **{o: "(" for o, _ in _BRACKETS},
        **{c: ")" for _, c in _BRACKETS},
    }
)


def whole_number(text: str) -> tuple[str, ...]:
    """The spellings a whole case number typed as `text` can be stored in, or () when `text`
    is not one. A number of this shape — the bracketed year first, 号 last — is inside no
    other number, so equality finds everything a substring search would (a name is no case
    number). Numbers of a pattern without these ends (`{year}-{seq}`: "2024-1" is inside
    "2024-12") are never whole here and stay with the substring search."""
    compact = "".join(text.split())
    typed = compact.translate(_TYPED)
    if not _WHOLE_NUMBER.fullmatch(typed):
        return ()
    year_end = typed.index(")")
    forms = list(dict.fromkeys((text.strip(), compact)))
    for opening, closing in _BRACKETS:
        form = opening + typed[1:year_end] + closing + typed[year_end + 1 :]
        if form not in forms:
            forms.append(form)
    return tuple(forms)


def matching(dialect: str, text: str, params: dict[str, Any]) -> str:
    """SQL true for the cases (alias c) whose number or a party's name contains `text`.

    A whole case number is looked up by equality on the unique b-tree over `cases.number`:
    at a million cases a whole number's trigrams (`202`, `024`, `调字第`…) are shared by a
    third of the cases or all of them, and the trigram index read posting lists of hundreds
    of thousands of rows to find one (p95 78 ms); the b-tree finds it in a few probes."""
    forms = whole_number(text)
    if forms:
        names = [f"number_{i}" for i in range(len(forms))]
        params.update(zip(names, forms, strict=True))
        return "c.number IN (" + ", ".join(f":{n}" for n in names) + ")"
    params["search"] = like_pattern(text)
    if dialect == "sqlite":
        # the trigram tokenizer answers LIKE from its index when the text has three
        # characters or more and no ESCAPE clause; shorter text, or text holding a wildcard
        # character, reads the table with ESCAPE (SQLite 3.40 finds nothing for a shorter
        # LIKE without it), still far less than cases joined to parties
        indexed = len(text) >= 3 and params["search"] == f"%{text}%"
        escape = "" if indexed else " ESCAPE '\\'"
        return f"c.id IN (SELECT case_id FROM {SQLITE_TABLE} WHERE text LIKE :search{escape})"
    return (
        "c.id IN (SELECT s.id FROM cases s WHERE s.number LIKE :search ESCAPE '\\' "
        "UNION SELECT cp.case_id FROM case_parties cp JOIN parties p ON p.id = cp.party_id "
        "WHERE p.name LIKE :search ESCAPE '\\')"
    )
