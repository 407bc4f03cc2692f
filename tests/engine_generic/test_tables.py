"""The engine's schema is the engine's alone: imported without mediation, its METADATA holds
no mediation table and no case table (the case row is the host's), its tables create on an
empty database beside a host's case row with no foreign key left dangling, and no statement
of the engine names a mediation table or column."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import engine

ENGINE_TABLES = {
    "assignments",
    "audit_events",
    "case_counters",
    "cases",
    "documents",
    "idempotency_keys",
    "login_failures",
    "memberships",
    "org_units",
    "outbox",
    "revoked_sessions",
    "timers",
    "users",
}

# mediation's attributes of the case row: mediation/models/cases.py Case, never the engine's
MEDIATION_COLUMNS = {
    "committee_id",
    "category_code",
    "risk_level",
    "origin",
    "grid_id",
    "court_id",
    "referring_court_id",
    "resolved_level",
}

# run in a fresh interpreter: in this one tests/conftest.py has imported mediation already
PROBE = """
import json, sys
import sqlalchemy as sa
import engine, engine.runtime, engine.timers, engine.repository
from engine.models import METADATA
declared = sorted(METADATA.tables)
from tests.engine_generic.tables import METADATA as GENERIC
connection = sa.create_engine("sqlite://")
GENERIC.create_all(connection)
inspector = sa.inspect(connection)
print(json.dumps({
    "tables": declared,
    "created": sorted(inspector.get_table_names()),
    "case_columns": sorted(c["name"] for c in inspector.get_columns("cases")),
    "host_modules": sorted(m for m in sys.modules if m.split(".")[0] in
                           ("mediation", "workflows", "api", "documents")),
}))
"""


def test_the_engine_defines_only_its_own_tables_and_creates_them_alone() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    found = json.loads(result.stdout)
    assert found["host_modules"] == []
    assert set(found["tables"]) == ENGINE_TABLES - {"cases"}  # the case row is the host's
    # a case's signatures, signing acts and supporting papers are mediation's, not the engine's
    assert not {"signatures", "signing_acts", "case_attachments"} & set(found["tables"])
    assert set(found["created"]) == ENGINE_TABLES  # beside a case row of its own
    assert not set(found["case_columns"]) & MEDIATION_COLUMNS
    assert "summary" in found["case_columns"]  # that host's one attribute


def test_a_host_s_case_row_and_mediation_s_live_in_one_process() -> None:
    from mediation.models import METADATA
    from tests.engine_generic.tables import METADATA as GENERIC

    assert set(METADATA.tables["cases"].columns.keys()) >= MEDIATION_COLUMNS
    assert not MEDIATION_COLUMNS & set(GENERIC.tables["cases"].columns.keys())
    assert set(GENERIC.tables) == ENGINE_TABLES


def test_mediation_declares_its_foreign_keys_to_its_own_tables() -> None:
    from mediation.models import METADATA

    targets = {
        (table, key.parent.name, key.target_fullname)
        for table in ("cases", "signatures", "signing_acts", "case_attachments")
        for key in METADATA.tables[table].foreign_keys
    }
    assert ("cases", "category_code", "categories.code") in targets  # mediation's case row
    for table in ("signatures", "signing_acts", "case_attachments"):
        assert (table, "party_id", "parties.id") in targets


_SQL_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+([a-z_][a-z0-9_]*)", re.IGNORECASE)


def _tables_named_in(path: Path) -> set[str]:
    """The table names the string literals of one module put after FROM, JOIN, INTO, UPDATE."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            named.update(m.group(1).lower() for m in _SQL_TABLE.finditer(node.value))
    return named


def test_the_engine_s_statements_name_none_of_mediation_s_tables() -> None:
    from mediation.models import METADATA

    mediation_tables = set(METADATA.tables) - ENGINE_TABLES
    assert {"parties", "case_parties", "categories", "visits"} <= mediation_tables
    engine_root = Path(engine.__file__).parent
    found = {
        str(path.relative_to(engine_root.parent)): named & mediation_tables
        for path in sorted(engine_root.rglob("*.py"))
        if (named := _tables_named_in(path)) & mediation_tables
    }
    assert found == {}


def _names_in(path: Path) -> set[str]:
    """The names one module gives a column: words of its string literals (SQL, docstrings),
    attributes read or written (`case.x`), keyword arguments and declared fields."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            named.update(re.findall(r"[a-z_][a-z0-9_]*", node.value))
        elif isinstance(node, ast.Attribute):
            named.add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg is not None:
            named.add(node.arg)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            named.add(node.target.id)
    return named


def test_the_engine_names_none_of_mediation_s_case_columns() -> None:
    engine_root = Path(engine.__file__).parent
    found = {
        str(path.relative_to(engine_root.parent)): sorted(named & MEDIATION_COLUMNS)
        for path in sorted(engine_root.rglob("*.py"))
        if (named := _names_in(path)) & MEDIATION_COLUMNS
    }
    assert found == {}
