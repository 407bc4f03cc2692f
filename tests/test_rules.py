"""Every rule of docs/DOMAIN.md is proved by at least one test that names it.

Read statically (ast), so the check holds whichever tests a run selects: a rule is named by a
`rule("R-…")` marker on a test, its class or its module (`pytestmark`), or by the test's name
(`test_r_jc_window_...`). A marker naming a rule DOMAIN.md lacks is an error too: a typo would
otherwise leave a rule silently untested.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from tests.rules import DOMAIN_FILE, domain_rules

TESTS = Path(__file__).resolve().parent
SHARED_DOMAIN = TESTS.parent.parent / "shared" / "DOMAIN.md"


def _marker_ids(node: ast.expr, where: str, problems: list[str]) -> list[str]:
    """The ids of a `rule(...)` / `pytest.mark.rule(...)` call, else none."""
    if not isinstance(node, ast.Call):
        return []
    func = node.func
    name = (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )
    if name != "rule":
        return []
    ids = []
    for arg in node.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            ids.append(arg.value)
        else:
            problems.append(f"{where}: rule(...) takes literal ids only")
    return ids


def _module_marks(tree: ast.Module, where: str, problems: list[str]) -> list[str]:
    ids: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets
        ):
            values = (
                stmt.value.elts if isinstance(stmt.value, ast.List | ast.Tuple) else [stmt.value]
            )
            for value in values:
                ids += _marker_ids(value, where, problems)
    return ids


def _name_ids(name: str, known: set[str]) -> list[str]:
    """Rules a test name carries: at each `r` token, the longest rule whose words follow."""
    words = name.lower().split("_")
    by_words = {tuple(r.lower().split("-")[1:]): r for r in known}
    found = []
    for i, word in enumerate(words):
        if word != "r":
            continue
        for size in range(len(words) - i - 1, 0, -1):
            match = by_words.get(tuple(words[i + 1 : i + 1 + size]))
            if match:
                found.append(match)
                break
    return found


def _tests(tree: ast.Module) -> list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[ast.expr]]]:
    """Test functions with the decorators that apply to them (their own and their class's)."""
    found = []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name.startswith(
            "test"
        ):
            found.append((stmt, list(stmt.decorator_list)))
        elif isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
            for member in stmt.body:
                if isinstance(
                    member, ast.FunctionDef | ast.AsyncFunctionDef
                ) and member.name.startswith("test"):
                    found.append((member, stmt.decorator_list + member.decorator_list))
    return found


def scan_source(
    where: str, source: str, known: set[str], named: dict[str, list[str]], problems: list[str]
) -> None:
    """Add the rules one test file names to `named`, and its bad markers to `problems`."""
    tree = ast.parse(source, filename=where)
    module_ids = _module_marks(tree, where, problems)
    for function, decorators in _tests(tree):
        test = f"{where}::{function.name}"
        marked = [i for d in decorators for i in _marker_ids(d, test, problems)]
        for rule_id in module_ids + marked:
            if rule_id not in known:
                problems.append(f"{test}: rule({rule_id!r}) is not a rule of DOMAIN.md")
        for rule_id in {*module_ids, *marked, *_name_ids(function.name, known)}:
            if rule_id in known:
                named[rule_id].append(test)


def scan(known: set[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Rule id → the tests naming it, and the markers that name no rule of DOMAIN.md."""
    named: dict[str, list[str]] = defaultdict(list)
    problems: list[str] = []
    for path in sorted(TESTS.rglob("test_*.py")):
        where = str(path.relative_to(TESTS.parent))
        scan_source(where, path.read_text(encoding="utf-8"), known, named, problems)
    return named, problems


def test_every_rule_of_domain_md_is_named_by_a_test() -> None:
    known = domain_rules()
    named, problems = scan(known)
    missing = sorted(known - named.keys())
    assert not missing, f"rules of DOMAIN.md no test names: {', '.join(missing)}"
    assert not problems, "\n".join(problems)


def test_a_name_carries_the_longest_rule_it_spells() -> None:
    known = {"R-ESIGN", "R-ESIGN-EXCLUDE", "R-ID", "R-JC-WINDOW"}
    assert _name_ids("test_r_esign_exclude_asks_for_a_scan", known) == ["R-ESIGN-EXCLUDE"]
    assert _name_ids("test_r_esign_is_the_signers_act", known) == ["R-ESIGN"]
    assert _name_ids("test_rejects_r_id_then_r_jc_window", known) == ["R-ID", "R-JC-WINDOW"]
    assert _name_ids("test_r_jc_accept_three_days", known) == []


def test_a_marker_naming_no_rule_is_reported_and_a_module_mark_counts() -> None:
    source = (
        "import pytest\n"
        "from tests.rules import rule\n"
        "pytestmark = [pytest.mark.slow, rule('R-ID')]\n"
        "@rule('R-JC-WINDOW', 'R-JC-WINDWO')\n"
        "def test_x(): ...\n"
        "class TestY:\n"
        "    @pytest.mark.rule(RULES)\n"
        "    def test_y(self): ...\n"
    )
    named: dict[str, list[str]] = defaultdict(list)
    problems: list[str] = []
    scan_source("t.py", source, {"R-ID", "R-JC-WINDOW"}, named, problems)
    assert dict(named) == {
        "R-ID": ["t.py::test_x", "t.py::test_y"],
        "R-JC-WINDOW": ["t.py::test_x"],
    }
    assert problems == [
        "t.py::test_x: rule('R-JC-WINDWO') is not a rule of DOMAIN.md",
        "t.py::test_y: rule(...) takes literal ids only",
    ]


def test_the_committed_domain_md_is_the_shared_one() -> None:
    """docs/DOMAIN.md is a copy of the team's DOMAIN.md, so CI on a bare clone knows the rules;
    where the shared file is at hand it must not have moved on without the copy."""
    if not SHARED_DOMAIN.exists():
        pytest.skip("the shared DOMAIN.md is not beside this checkout")
    assert DOMAIN_FILE.read_text(encoding="utf-8") == SHARED_DOMAIN.read_text(encoding="utf-8")
