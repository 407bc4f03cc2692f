"""台账 import: each row check names its row and column with a stable code, nothing is stored
when a row fails (unless only the good rows are asked for), scope is the importer's, and the
imported cases carry their audit event, statistics facts and search entries."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from api.ledger import IMPORT_TRIGGER, LedgerRejected, import_ledger
from engine.calendar import WorkingCalendar
from engine.ports import FixedClock
from mediation import aggregates, facts
from mediation.engine import MediationEngine
from mediation.queries import CaseFilters, list_cases
from mediation.statistics import case_statistics
from tests.api.ledger.books import row, workbook
from tests.conftest import make_engine
from tests.engine import statistics_recount
from tests.rules import rule
from tests.world import World, build_world


@pytest.fixture
def ledger_engine(
    any_sa_engine: sa.Engine, clock: FixedClock, calendar: WorkingCalendar
) -> tuple[MediationEngine, World]:
    world = build_world(any_sa_engine)
    return make_engine(any_sa_engine, clock, calendar), world


def _count(engine: MediationEngine, table: str) -> int:
    with engine.db.transaction(write=False) as tx:
        found = tx.one(f"SELECT COUNT(*) FROM {table}")
        assert found is not None
        return int(found[0])


def _problems(
    engine: MediationEngine, world: World, rows: list[dict[str, Any]], **kw: Any
) -> set[Any]:
    with pytest.raises(LedgerRejected) as caught:
        import_ledger(engine, world.actors["mediator"], workbook(rows), file_name="t.xlsx", **kw)
    return {(e.row, e.column, e.code) for e in caught.value.problems}


@rule("R-ID", "R-CATEGORIES", "R-SOURCE", "R-APPLY")
def test_each_check_names_its_row_column_and_code(
    ledger_engine: tuple[MediationEngine, World],
) -> None:
    engine, world = ledger_engine
    bad = [
        row(),  # row 3: good (row 1 is the title, row 2 the header)
        row(申请人身份证号码="110105194912310021"),  # 4: wrong check digit
        row(登记日期="2025-02-30"),  # 5: no such day
        row(纠纷类别="宠物"),  # 6
        row(案件来源="朋友介绍"),  # 7
        row(申请方式=""),  # 8: a party applied: written or oral must be said
        row(调解组织="不存在的调委会"),  # 9
        row(申请人联系电话="12345"),  # 10
        row(调解结果="调解成功", 协议日期=""),  # 11: success without an agreement date
        row(协议日期="2025-02-01"),  # 12: agreed before it was registered
        row(案件编号="第12号"),  # 13
        row(申请人="甲、乙"),  # 14: two applicants, one ID number
    ]
    found = _problems(engine, world, bad)
    assert found == {
        (4, "申请人身份证号码", "ledger_id_number_invalid"),
        (5, "登记日期", "ledger_date_invalid"),
        (6, "纠纷类别", "ledger_category_unknown"),
        (7, "案件来源", "ledger_origin_unknown"),
        (8, "申请方式", "ledger_value_required"),
        (9, "调解组织", "ledger_unit_unknown"),
        (10, "申请人联系电话", "ledger_phone_invalid"),
        (11, "协议日期", "ledger_value_required"),
        (12, "协议日期", "ledger_date_order"),
        (13, "案件编号", "ledger_number_invalid"),
        (14, "申请人身份证号码", "ledger_party_count_mismatch"),
        (14, "申请人联系电话", "ledger_party_count_mismatch"),
    }
    assert _count(engine, "cases") == 0  # all or nothing: the good row 3 is not stored


def test_messages_are_chinese_and_say_what_is_wrong(
    ledger_engine: tuple[MediationEngine, World],
) -> None:
    engine, world = ledger_engine
    with pytest.raises(LedgerRejected) as caught:
        import_ledger(
            engine,
            world.actors["mediator"],
            workbook([row(申请人身份证号码="110105194912310021")]),
            file_name="t.xlsx",
        )
    (problem,) = caught.value.problems
    assert problem.message == "王秀英：身份证号码校验位不正确"
    assert caught.value.code == "ledger_rows_invalid"
    assert caught.value.to_dict()["errors"][0]["row"] == 3


def test_dates_in_every_form_offices_type(ledger_engine: tuple[MediationEngine, World]) -> None:
    engine, world = ledger_engine
    rows = [
        row(登记日期=date(2025, 3, 1), 案件编号="（2025）枫源调字第0001号"),
        row(登记日期="2025/3/1", 案件编号="（2025）枫源调字第0002号"),
        row(登记日期="2025年3月1日", 案件编号="（2025）枫源调字第0003号"),
        row(登记日期=45717, 案件编号="（2025）枫源调字第0004号"),  # Excel's serial of 2025-03-01
    ]
    report = import_ledger(engine, world.actors["mediator"], workbook(rows), file_name="t.xlsx")
    assert report.imported == 4
    with engine.db.transaction(write=False) as tx:
        stored = facts.stored(tx, report.case_ids)
    assert {f.registered_at.date() for f in stored.values()} == {date(2025, 3, 1)}


def test_headers_match_by_name_in_any_order_and_unknown_ones_are_reported(
    ledger_engine: tuple[MediationEngine, World],
) -> None:
    engine, world = ledger_engine
    headers = ("登记人", *reversed(("登记日期", "调解组织", "纠纷类别", "案件来源", "申请方式")))
    headers += ("被申请人", "申请人", "纠纷简要情况")
    report = import_ledger(
        engine,
        world.actors["mediator"],
        workbook([row(登记人="张三")], headers=headers, title=None),
        file_name="t.xlsx",
    )
    assert report.imported == 1
    assert [(w.row, w.column, w.code) for w in report.warnings] == [
        (1, "登记人", "ledger_header_unknown")
    ]


def test_a_missing_required_column_is_named(ledger_engine: tuple[MediationEngine, World]) -> None:
    engine, world = ledger_engine
    headers = ("登记日期", "调解组织", "纠纷类别", "案件来源", "申请人", "被申请人")
    with pytest.raises(LedgerRejected) as caught:
        import_ledger(
            engine,
            world.actors["mediator"],
            workbook([row()], headers=headers),
            file_name="t.xlsx",
        )
    assert [(e.column, e.code) for e in caught.value.problems] == [
        ("纠纷简要情况", "ledger_header_missing")
    ]


def test_a_file_that_is_no_workbook_is_refused(
    ledger_engine: tuple[MediationEngine, World],
) -> None:
    engine, world = ledger_engine
    with pytest.raises(LedgerRejected) as caught:
        import_ledger(engine, world.actors["mediator"], b"not excel", file_name="t.xlsx")
    assert caught.value.problems[0].code == "ledger_file_unreadable"


def test_all_or_nothing_leaves_stored_cases_untouched(
    ledger_engine: tuple[MediationEngine, World],
) -> None:
    engine, world = ledger_engine
    import_ledger(engine, world.actors["mediator"], workbook([row()]), file_name="a.xlsx")
    before = {t: _count(engine, t) for t in ("cases", "parties", "audit_events", "case_facts")}
    _problems(engine, world, [row(), row(纠纷类别="宠物")])
    assert {t: _count(engine, t) for t in before} == before


def test_good_rows_only_imports_the_good_and_reports_the_bad(
    ledger_engine: tuple[MediationEngine, World],
) -> None:
    engine, world = ledger_engine
    report = import_ledger(
        engine,
        world.actors["mediator"],
        workbook([row(), row(纠纷类别="宠物"), row()]),
        file_name="t.xlsx",
        good_rows_only=True,
    )
    assert report.imported == 2
    assert [(e.row, e.code) for e in report.errors] == [(4, "ledger_category_unknown")]
    assert _count(engine, "cases") == 2


def test_dry_run_checks_and_stores_nothing(ledger_engine: tuple[MediationEngine, World]) -> None:
    engine, world = ledger_engine
    report = import_ledger(
        engine, world.actors["mediator"], workbook([row()]), file_name="t.xlsx", dry_run=True
    )
    assert (report.imported, _count(engine, "cases")) == (1, 0)


def test_a_unit_outside_the_importers_scope_is_refused(
    ledger_engine: tuple[MediationEngine, World],
) -> None:
    engine, world = ledger_engine
    with pytest.raises(LedgerRejected) as caught:
        import_ledger(
            engine,
            world.actors["outsider"],  # a mediator of 东溪村 importing 枫源村's ledger
            workbook([row()]),
            file_name="t.xlsx",
        )
    assert [(e.column, e.code) for e in caught.value.problems] == [
        ("调解组织", "ledger_unit_out_of_scope")
    ]


@rule("R-NUMBER")
def test_case_numbers_kept_checked_for_duplicates_and_continued(
    ledger_engine: tuple[MediationEngine, World],
) -> None:
    engine, world = ledger_engine
    mediator = world.actors["mediator"]
    kept = "（2025）枫源调字第0007号"
    report = import_ledger(
        engine, mediator, workbook([row(案件编号=kept), row()]), file_name="t.xlsx"
    )
    assert report.numbers == [kept, "（2025）枫源调字第0008号"]
    found = _problems(
        engine,
        world,
        [
            row(案件编号=kept),
            row(案件编号="（2025）枫源调字第9号"),
            row(案件编号="（2025）枫源调字第0009号"),
        ],
    )
    assert found == {
        (3, "案件编号", "ledger_number_exists"),
        (5, "案件编号", "ledger_number_duplicate"),  # the same sequence number as row 4
    }
    opened = engine.open_case(world.intake(), mediator)  # registered today, in 2026
    assert opened.case_id not in report.case_ids


@rule("R-MINOR")
def test_a_minor_party_is_sent_to_register_in_the_system(
    ledger_engine: tuple[MediationEngine, World],
) -> None:
    engine, world = ledger_engine
    found = _problems(engine, world, [row(申请人身份证号码="110105201501010017")])
    assert found == {(3, "申请人身份证号码", "ledger_minor_needs_representative")}


@rule("R-STATS")
def test_imported_cases_are_audited_counted_and_found(
    ledger_engine: tuple[MediationEngine, World],
) -> None:
    engine, world = ledger_engine
    rows = [
        row(),
        row(调解结果="调解不成", 协议日期="", 履行情况="", 结案日期="2025-04-01"),
        row(调解结果="当事人拒绝调解", 协议日期="", 履行情况="", 结案日期="2025-03-02"),
        row(
            调解结果="", 协议日期="", 结案日期="", 履行情况="", 申请人="赵大海", 申请人身份证号码=""
        ),
    ]
    report = import_ledger(engine, world.actors["mediator"], workbook(rows), file_name="台账.xlsx")
    assert engine.verify_audit() == []
    with engine.db.transaction(write=False) as tx:
        states = [tx.load_case(i).state for i in report.case_ids]  # type: ignore[union-attr]
        assert states == ["closed", "terminated", "withdrawn", "intake"]
        event = tx.events(report.case_ids[0])[0]
        assert (event.trigger, event.reason) == (IMPORT_TRIGGER, "从台账 台账.xlsx 第 3 行导入")
        stored = facts.stored(tx)
        for case_id in report.case_ids:
            assert stored[case_id] == facts.recount(tx, engine.registry, engine.calendar, case_id)
        for unit in (None, frozenset({world.units["committee"]})):
            expected = statistics_recount.case_statistics(
                tx,
                engine.registry,
                engine.calendar,
                start=date(2025, 1, 1),
                end=date(2025, 12, 31),
                unit_ids=unit,
            )
            counted = case_statistics(
                tx,
                engine.registry,
                engine.calendar,
                start=date(2025, 1, 1),
                end=date(2025, 12, 31),
                unit_ids=unit,
            )
            assert counted.figures() == expected.figures()
        assert counted.received == 4
        assert aggregates.stored(tx) == aggregates.expected(tx)  # the report's counts (R-STATS)
        found = list_cases(
            tx, world.actors["mediator"], CaseFilters(text="赵大海"), before_id=None, limit=20
        )
        assert [c.id for c in found] == [report.case_ids[3]]
        timers = tx.all("SELECT name FROM timers WHERE case_id = :c", {"c": report.case_ids[3]})
        assert [t[0] for t in timers] == ["mediation_limit"]  # the open case's R-DL-PM clock


def test_a_failure_while_writing_undoes_every_batch_and_keeps_the_search_index(
    ledger_engine: tuple[MediationEngine, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.ledger import write

    engine, world = ledger_engine
    mediator = world.actors["mediator"]
    before = {t: _count(engine, t) for t in ("cases", "parties", "audit_events", "case_facts")}
    real = write.Writer._case
    calls = []

    def failing(self: write.Writer, *args: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real(self, *args)

    monkeypatch.setattr(write, "BATCH", 1)  # the first case is written before the failure
    monkeypatch.setattr(write.Writer, "_case", failing)
    with pytest.raises(RuntimeError):
        import_ledger(engine, mediator, workbook([row(), row()]), file_name="t.xlsx")
    assert {t: _count(engine, t) for t in before} == before
    monkeypatch.undo()
    opened = engine.open_case(world.intake(), mediator)  # the insert triggers are in place
    with engine.db.transaction(write=False) as tx:
        found = list_cases(tx, mediator, CaseFilters(text="李建国"), before_id=None, limit=20)
    assert [c.id for c in found] == [opened.case_id]


@rule("R-STATS")
def test_a_second_import_adds_to_the_counts_already_stored(
    ledger_engine: tuple[MediationEngine, World],
) -> None:
    """The counts are upserted in bulk (COPY and one statement on PostgreSQL, a prepared
    single-row upsert on SQLite): rows already counted are added to, not replaced."""
    engine, world = ledger_engine
    mediator = world.actors["mediator"]
    engine.open_case(world.intake(), mediator)
    first = [row(), row(调解结果="调解不成", 协议日期="", 履行情况="", 结案日期="2025-04-01")]
    import_ledger(engine, mediator, workbook(first), file_name="a.xlsx")
    second = [row(), row(登记日期="2025-03-02", 纠纷类别="合同"), row(履行情况="部分履行")]
    import_ledger(engine, mediator, workbook(second), file_name="b.xlsx")
    with engine.db.transaction(write=False) as tx:
        stored = aggregates.stored(tx)
        assert stored == aggregates.expected(tx)
        day = next(
            v for k, v in stored.items() if k[1:] == ("day", 20250301, "result", "successful")
        )
        assert day[0] == 3  # two rows of the second file on a day the first had counted
