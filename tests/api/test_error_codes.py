"""The error codes are a public contract: clients branch on `code`. This snapshot makes every
change to the table (a code added, renamed, or answered with another status) a visible,
deliberate edit of tests/snapshots/error_codes.txt, reviewed like any other API change.

Regenerate after a deliberate change with FENGQIAO_UPDATE_SNAPSHOTS=1.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path

import api
import documents
import engine
import mediation
import workflows
from api.errors import STATUS, Failure
from documents.errors import DocumentError
from engine.errors import EngineError

SNAPSHOT = Path(__file__).resolve().parent.parent / "snapshots" / "error_codes.txt"
SKIP = (
    "api.cli",
    "api.server",
    "api.__main__",
)  # entry points: importing them starts nothing useful


def _import_everything() -> None:
    for package in (engine, mediation, workflows, documents, api):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not module.name.startswith(SKIP):
                importlib.import_module(module.name)


def _subclasses(root: type[Failure]) -> list[type[Failure]]:
    found: list[type[Failure]] = []
    todo: list[type[Failure]] = [root]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def error_table() -> str:
    """One line per error class: code, HTTP status, Chinese title, class."""
    _import_everything()
    rows: set[str] = set()
    for cls in _subclasses(EngineError) + _subclasses(DocumentError):
        if cls.__module__.startswith("tests"):
            continue
        status = next(STATUS[c] for c in cls.__mro__ if c in STATUS)
        rows.add(f"{cls.code}\t{status}\t{cls.title_zh}\t{cls.__module__}.{cls.__qualname__}")
    return "\n".join(sorted(rows)) + "\n"


def test_the_error_code_table_is_the_published_one() -> None:
    table = error_table()
    if os.environ.get("FENGQIAO_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(table, encoding="utf-8")
    assert table == SNAPSHOT.read_text(encoding="utf-8"), (
        "the error codes changed: review the diff and regenerate with FENGQIAO_UPDATE_SNAPSHOTS=1"
    )


def test_one_code_means_one_status() -> None:
    statuses: dict[str, set[str]] = {}
    for line in error_table().splitlines():
        code, status, *_ = line.split("\t")
        statuses.setdefault(code, set()).add(status)
    assert {code: s for code, s in statuses.items() if len(s) > 1} == {}
