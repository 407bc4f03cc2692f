"""Export → import into a fresh database gives the same cases: numbers, dates, units,
parties with their full numbers (an administrator's export, each read logged), outcomes."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from api.ledger import Period, export_ledger, import_ledger
from engine.calendar import SHANGHAI, WorkingCalendar
from engine.models.org import Membership, User
from engine.ports import FixedClock
from engine.records import Actor
from mediation.engine import MediationEngine
from mediation.vocabulary import Role
from tests.api.ledger.books import HEADERS, row, workbook
from tests.conftest import make_database, make_engine
from tests.world import build_world


def _admin(engine: MediationEngine, district: int) -> Actor:
    from sqlmodel import Session

    with Session(engine.db.engine) as session:
        user = User(username="ledger_admin", display_name="台账管理员")
        session.add(user)
        session.flush()
        session.add(Membership(user_id=user.id or 0, org_unit_id=district, role=Role.admin))
        session.commit()
        user_id = user.id or 0
    return Actor(user_id=user_id, name="台账管理员", roles=frozenset({Role.admin}), all_units=True)


def _day(value: Any) -> Any:
    """A ledger keeps days: the registration's Beijing date, not its hour."""
    return value.astimezone(SHANGHAI).date()


def _cases(engine: MediationEngine) -> list[tuple[Any, ...]]:
    """Each case as a ledger shows it (days, not hours), with its parties' full numbers, in
    number order."""
    with engine.db.transaction(write=False) as tx:
        cases = tx.all(
            "SELECT c.id, c.number, c.created_at, u.name, c.category_code, c.origin, c.state, "
            "c.resolved_level, c.agreement_effective_at, c.closed_at, c.summary, c.risk_level, "
            "f.result, f.latest_performance, f.working_days FROM cases c "
            "JOIN org_units u ON u.id = c.org_unit_id JOIN case_facts f ON f.case_id = c.id "
            "ORDER BY c.number"
        )
        found = []
        for case in cases:
            parties = tuple(
                (role, name, *(engine.pii.decrypt(c) if c else None for c in ciphers), *guardian)
                for role, name, *ciphers, guardian_name, relation in tx.all(
                    "SELECT cp.role, p.name, p.id_number_cipher, p.guardian_id_cipher, "
                    "p.guardian_name, p.guardian_relation FROM case_parties cp "
                    "JOIN parties p ON p.id = cp.party_id WHERE cp.case_id = :c ORDER BY cp.id",
                    {"c": case[0]},
                )
                for guardian in [(guardian_name, relation)]
            )
            dates = tuple(tx.codec.dt_in(v) for v in case[8:10])
            found.append(
                (*case[1:2], _day(tx.codec.dt_in(case[2])), *case[3:8], dates, *case[10:], parties)
            )
        return found


def test_export_then_import_into_a_fresh_database_gives_the_same_cases(
    sa_engine: sa.Engine, tmp_path: Path, clock: FixedClock, calendar: WorkingCalendar
) -> None:
    world = build_world(sa_engine)
    engine = make_engine(sa_engine, clock, calendar)
    rows = [
        row(),
        row(
            调解结果="调解不成",
            协议日期="",
            履行情况="",
            结案日期="2025-04-01",
            申请人="赵大海、钱小红",
            申请人身份证号码="、34052419800101001X",
            申请人联系电话="13900001111、",
        ),
        row(
            调解结果="",
            协议日期="",
            结案日期="",
            履行情况="",
            纠纷类别="合同",
            调解组织="枫源村人民调解委员会老杨调解工作室",
        ),
    ]
    rows.append(  # R-MINOR: a ten-year-old applicant and her mother as 法定代理人
        row(
            申请人="王小丽",
            申请人身份证号码="110105201501010017",
            申请人法定代理人="王丽",
            申请人法定代理人身份证号码="110105198502030023",
            申请人法定代理人关系="母亲",
        )
    )
    headers = (*HEADERS, "申请人法定代理人", "申请人法定代理人身份证号码", "申请人法定代理人关系")
    first = import_ledger(
        engine, world.actors["mediator"], workbook(rows, headers), file_name="a.xlsx"
    )
    assert first.imported == 4
    engine.open_case(world.intake(), world.actors["mediator"])  # registered here, in 2026
    admin = _admin(engine, world.units["district"])
    content = export_ledger(
        engine,
        admin,
        world.units["district"],
        Period(date(2025, 1, 1), date(2026, 12, 31)),
        full_numbers=True,
    )
    with engine.db.transaction(write=False) as tx:
        logged = tx.one(
            "SELECT COUNT(*) FROM pii_access_log WHERE user_id = :u", {"u": admin.user_id}
        )
        assert logged is not None
        assert int(logged[0]) == 11  # R-PII: each party's unmasked read logged

    (tmp_path / "fresh").mkdir()
    fresh_engine = make_database("sqlite", tmp_path / "fresh")
    fresh_world = build_world(fresh_engine)
    fresh = make_engine(fresh_engine, clock, calendar)
    again = import_ledger(fresh, fresh_world.actors["mediator"], content, file_name="export.xlsx")
    assert again.imported == 5
    assert _cases(fresh) == _cases(engine)
    assert fresh.verify_audit() == []
