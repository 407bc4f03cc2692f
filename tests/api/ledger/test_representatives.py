"""R-MINOR in the 台账: a party under age (by the birth date in their ID, on the day the case
was registered) is imported only with their 法定代理人 — name, checked ID of an adult,
relation — stored as registration stores one and exported in the same columns."""

from __future__ import annotations

from typing import Any

import pytest

from api.ledger import LedgerRejected, Period, export_ledger, import_ledger
from api.ledger.columns import BY_KEY
from mediation import validation
from mediation.engine import MediationEngine
from tests.api.ledger.books import HEADERS, read_back, row, workbook
from tests.api.ledger.test_import import ledger_engine  # noqa: F401 (the fixture)
from tests.rules import rule
from tests.world import World

MINOR_ID = "110105201501010017"  # born 2015-01-01: ten on 2025-03-01
WITH_REPRESENTATIVES = (
    *HEADERS,
    "申请人法定代理人",
    "申请人法定代理人身份证号码",
    "申请人法定代理人关系",
    "被申请人法定代理人",
    "被申请人法定代理人身份证号码",
    "被申请人法定代理人关系",
)


def _id(body: str) -> str:
    return body + validation.check_digit(body)


MOTHER_ID = _id("11010519850203002")
SEVENTEEN_ID = _id("11010520080302001")  # seventeen on 2025-03-01


def _minor(**changes: Any) -> dict[str, Any]:
    """A row whose applicant is ten, with their mother as 法定代理人."""
    values = {
        "申请人身份证号码": MINOR_ID,
        "申请人法定代理人": "王丽",
        "申请人法定代理人身份证号码": MOTHER_ID,
        "申请人法定代理人关系": "母亲",
    }
    return row(**(values | changes))


def _problems(engine: MediationEngine, world: World, rows: list[dict[str, Any]]) -> set[Any]:
    with pytest.raises(LedgerRejected) as caught:
        import_ledger(
            engine,
            world.actors["mediator"],
            workbook(rows, WITH_REPRESENTATIVES),
            file_name="t.xlsx",
        )
    return {(e.row, e.column, e.code) for e in caught.value.problems}


@rule("R-MINOR")
def test_a_minor_is_imported_with_their_representative(
    ledger_engine: tuple[MediationEngine, World],  # noqa: F811 (the fixture)
) -> None:
    engine, world = ledger_engine
    content = workbook([_minor()], WITH_REPRESENTATIVES)
    report = import_ledger(engine, world.actors["mediator"], content, file_name="t.xlsx")
    with engine.db.transaction(write=False) as tx:
        stored = tx.all(
            "SELECT p.guardian_name, p.guardian_relation, p.guardian_id_masked, "
            "p.guardian_id_cipher FROM case_parties cp JOIN parties p ON p.id = cp.party_id "
            "WHERE cp.case_id = :c ORDER BY cp.id",
            {"c": report.case_ids[0]},
        )
    (name, relation, masked, cipher), respondent = stored
    assert (name, relation, masked) == ("王丽", "母亲", validation.mask_id_number(MOTHER_ID))
    assert engine.pii.decrypt(cipher) == MOTHER_ID  # R-PII: encrypted as the party's own
    assert tuple(respondent) == (None, None, None, None)


@rule("R-MINOR", "R-ID")
def test_a_representative_is_checked_cell_by_cell(
    ledger_engine: tuple[MediationEngine, World],  # noqa: F811 (the fixture)
) -> None:
    engine, world = ledger_engine
    rows = [
        _minor(),  # row 3: good
        row(申请人身份证号码=MINOR_ID),  # 4: a minor without one
        _minor(申请人法定代理人身份证号码="", 申请人法定代理人关系=""),  # 5: name only
        _minor(申请人法定代理人身份证号码=MOTHER_ID[:-1] + "0"),  # 6: wrong check digit
        _minor(申请人法定代理人身份证号码=SEVENTEEN_ID),  # 7: the representative is a minor
        _minor(申请人法定代理人身份证号码="1101**********0021"),  # 8: masked by an export
        row(
            申请人="王一、王二",
            申请人身份证号码="",
            申请人联系电话="",
            申请人法定代理人="王丽、王强、王刚",
        ),  # 9
    ]
    header = {key: BY_KEY[key].header for key in BY_KEY}
    assert _problems(engine, world, rows) == {
        (4, header["applicant_representatives"], "ledger_minor_needs_representative"),
        (5, header["applicant_representatives"], "ledger_representative_incomplete"),
        (6, header["applicant_representative_ids"], "ledger_id_number_invalid"),
        (7, header["applicant_representative_ids"], "ledger_representative_is_minor"),
        (8, header["applicant_representative_ids"], "ledger_id_number_masked"),
        (9, header["applicant_representatives"], "ledger_party_count_mismatch"),
    }


@rule("R-MINOR")
def test_an_adult_may_have_a_representative_and_a_second_party_none(
    ledger_engine: tuple[MediationEngine, World],  # noqa: F811 (the fixture)
) -> None:
    """Several parties on a side: one cell per column, "、" between, empty for a party
    without a representative (an adult who cannot act alone may have one)."""
    engine, world = ledger_engine
    both = row(
        申请人="王小明、王秀英",
        申请人身份证号码=f"{MINOR_ID}、11010519491231002X",
        申请人联系电话="",
        申请人法定代理人="王丽、",
        申请人法定代理人身份证号码=f"{MOTHER_ID}、",
        申请人法定代理人关系="母亲、",
        被申请人法定代理人="李强",
        被申请人法定代理人身份证号码=_id("44052419700101003"),
        被申请人法定代理人关系="监护人",
    )
    report = import_ledger(
        engine,
        world.actors["mediator"],
        workbook([both], WITH_REPRESENTATIVES),
        file_name="t.xlsx",
    )
    assert report.imported == 1
    swapped = dict(  # the representative on the adult, none on the child
        both,
        申请人法定代理人="、王丽",
        申请人法定代理人身份证号码=f"、{MOTHER_ID}",
        申请人法定代理人关系="、母亲",
    )
    assert _problems(engine, world, [swapped]) == {
        (3, "申请人法定代理人", "ledger_minor_needs_representative")
    }


@rule("R-MINOR", "R-PII")
def test_representatives_are_exported_in_their_columns_and_import_again(
    ledger_engine: tuple[MediationEngine, World],  # noqa: F811 (the fixture)
) -> None:
    engine, world = ledger_engine
    mediator = world.actors["mediator"]
    content = workbook([_minor(), row()], WITH_REPRESENTATIVES)
    import_ledger(engine, mediator, content, file_name="t.xlsx")
    from datetime import date

    period = Period(date(2025, 1, 1), date(2025, 12, 31))
    exported = read_back(export_ledger(engine, mediator, world.units["committee"], period))
    assert [r["申请人法定代理人"] for r in exported] == ["王丽", None]
    assert exported[0]["申请人法定代理人身份证号码"] == validation.mask_id_number(MOTHER_ID)
    assert exported[0]["申请人法定代理人关系"] == "母亲"
    assert exported[0]["被申请人法定代理人"] is None
