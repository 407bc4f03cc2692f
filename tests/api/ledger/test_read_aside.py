"""A long sheet is read on in a second process: the rows, their problems and a file that
breaks half-way come out as when one process reads it all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import pytest

from api.ledger import LedgerRejected, import_ledger, read
from mediation.engine import MediationEngine
from tests.api.ledger.books import row, workbook
from tests.api.ledger.test_import import ledger_engine  # noqa: F401 (the fixture)
from tests.world import World


def _problems(
    engine: MediationEngine, world: World, content: bytes, aside: read.ReadAside = "inline"
) -> list[Any]:
    with pytest.raises(LedgerRejected) as caught:
        import_ledger(
            engine, world.actors["mediator"], content, file_name="t.xlsx", read_aside=aside
        )
    return [e.as_dict() for e in caught.value.problems]


@pytest.mark.parametrize("aside", ["fork", "forkserver"])
def test_rows_read_aside_are_checked_and_imported_as_read_in_line(
    ledger_engine: tuple[MediationEngine, World],  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
    aside: read.ReadAside,
) -> None:
    """ "fork" takes the half-read sheet along; a forkserver's child (the API route's: a
    server's threads are never forked) opens the workbook again and skips to the rows."""
    engine, world = ledger_engine
    bad = workbook([row(), row(申请人身份证号码="110105194912310021"), row(登记日期="2025-02-30")])
    in_line = _problems(engine, world, bad)
    monkeypatch.setattr(read, "PARALLEL_ROWS", 1)
    monkeypatch.setattr(read, "_CHUNK_ROWS", 2)
    started = []
    real = read._read_aside

    def watched(*args: Any) -> Any:
        started.append(args[1] if len(args) > 1 else "fork")
        return real(*args)

    monkeypatch.setattr(read, "_read_aside", watched)
    assert _problems(engine, world, bad, aside) == in_line
    good = [row(申请人=f"张{n}") for n in range(5)]
    report = import_ledger(
        engine, world.actors["mediator"], workbook(good), file_name="t.xlsx", read_aside=aside
    )
    assert report.imported == 5
    assert started == [aside, aside]


def test_a_sheet_that_breaks_while_read_aside_raises_here() -> None:
    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        yield 3, {"summary": "第一行"}
        raise ElementTree.ParseError("not well-formed (invalid token): line 9, column 2")

    aside = read._read_aside(rows())
    assert next(aside) == (3, {"summary": "第一行"})
    with pytest.raises(ElementTree.ParseError, match="not well-formed"):
        next(aside)
