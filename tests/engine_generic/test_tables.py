"""The engine's schema is the engine's alone: imported without mediation, its METADATA holds
no mediation table and creates on an empty database with no foreign key left dangling, and
no statement of the engine names a mediation table."""

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

# run in a fresh interpreter: in this one tests/conftest.py has imported mediation already
PROBE = """
import json, sys
import sqlalchemy as sa
import engine, engine.runtime, engine.timers, engine.repository
from engine.models import METADATA
connection = sa.create_engine("sqlite://")
METADATA.create_all(connection)
print(json.dumps({
    "tables": sorted(METADATA.tables),
    "created": sorted(sa.inspect(connection).get_table_names()),
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
    assert set(found["tables"]) == ENGINE_TABLES
    # a case's signatures, signing acts and supporting papers are mediation's, not the engine's
    assert not {"signatures", "signing_acts", "case_attachments"} & set(found["tables"])
    assert set(found["created"]) == ENGINE_TABLES


def test_mediation_declares_its_foreign_keys_to_its_own_tables() -> None:
    from mediation.models import METADATA

    targets = {
        (table, key.parent.name, key.target_fullname)
        for table in ("cases", "signatures", "signing_acts", "case_attachments")
        for key in METADATA.tables[table].foreign_keys
    }
    assert ("cases", "category_code", "categories.code") in targets
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
