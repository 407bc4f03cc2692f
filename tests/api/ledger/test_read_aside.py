"""A long sheet is read on in a second process: the rows, their problems and a file that
breaks half-way come out as when one process reads it all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import pytest

from api.ledger import LedgerRejected, import_ledger, read
from mediation.engine import MediationEngine as Engine
from tests.api.ledger.books import row, workbook
from tests.api.ledger.test_import import ledger_engine  # noqa: F401 (the fixture)
from tests.world import World


def _problems(engine: Engine, world: World, content: bytes) -> list[Any]:
    with pytest.raises(LedgerRejected) as caught:
        import_ledger(engine, world.actors["mediator"], content, file_name="t.xlsx")
    return [e.as_dict() for e in caught.value.problems]


def test_rows_read_aside_are_checked_and_imported_as_read_in_line(
    ledger_engine: tuple[Engine, World],  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, world = ledger_engine
    bad = workbook([row(), row(申请人身份证号码="110105194912310021"), row(登记日期="2025-02-30")])
    in_line = _problems(engine, world, bad)
    monkeypatch.setattr(read, "PARALLEL_ROWS", 1)
    monkeypatch.setattr(read, "_CHUNK_ROWS", 2)
    assert _problems(engine, world, bad) == in_line
    good = [row(申请人=f"张{n}") for n in range(5)]
    report = import_ledger(engine, world.actors["mediator"], workbook(good), file_name="t.xlsx")
    assert report.imported == 5


def test_a_sheet_that_breaks_while_read_aside_raises_here() -> None:
    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        yield 3, {"summary": "第一行"}
        raise ElementTree.ParseError("not well-formed (invalid token): line 9, column 2")

    aside = read._read_aside(rows())
    assert next(aside) == (3, {"summary": "第一行"})
    with pytest.raises(ElementTree.ParseError, match="not well-formed"):
        next(aside)
