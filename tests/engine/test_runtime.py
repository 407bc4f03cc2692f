"""MediationEngine.open_case / fire / available_triggers / history: bad input changes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.errors import (
    CaseNotFound,
    ConcurrentUpdate,
    GuardRejected,
    InvalidInput,
    OutOfScope,
    PayloadInvalid,
    RoleNotPermitted,
    TransitionNotAllowed,
)
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from mediation.errors import InvalidIdNumber, InvalidPhoneNumber
from mediation.intake import PartyIntake, PartyRole
from tests.flow import open_case
from tests.world import APPLICANT_ID, World


def _count(engine: MediationEngine, table: str) -> int:
    with engine.db.engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _snapshot(engine: MediationEngine) -> tuple[int, ...]:
    tables = (
        "cases",
        "parties",
        "case_parties",
        "audit_events",
        "timers",
        "assignments",
        "case_counters",
    )
    with engine.db.engine.connect() as connection:
        counter = connection.execute(
            sa.text("SELECT coalesce(sum(last_seq), 0) FROM case_counters")
        ).scalar_one()
    return (*(_count(engine, t) for t in tables), int(counter))


def test_r_number_format_and_sequence(engine: MediationEngine, world: World) -> None:
    numbers = [engine.open_case(world.intake(), world.actors["mediator"]) for _ in range(3)]
    got = [engine.get_case(r.case_id, world.actors["mediator"]).number for r in numbers]
    assert got == [
        "（2026）枫源调字第0001号",
        "（2026）枫源调字第0002号",
        "（2026）枫源调字第0003号",
    ]


def test_r_number_room_cases_number_under_the_parent_committee(
    engine: MediationEngine, world: World
) -> None:
    result = engine.open_case(
        world.intake(committee_id=world.units["room"]), world.actors["mediator"]
    )
    case = engine.get_case(result.case_id, world.actors["mediator"])
    assert case.committee_id == world.units["committee"]
    assert case.number == "（2026）枫源调字第0001号"


def test_r_register_routes_to_grid_and_central_household(
    engine: MediationEngine, world: World
) -> None:
    result = engine.open_case(world.intake(), world.actors["household"])
    case = engine.get_case(result.case_id, world.actors["household"])
    assert (case.state, case.level, case.grid_id, case.org_unit_id) == (
        "intake",
        "intake",
        world.units["grid"],
        world.units["grid"],
    )
    with engine.db.transaction(write=False) as tx:
        assignments = tx.assignments(result.case_id)
    assert [(a.user_id, a.role) for a in assignments] == [
        (world.users["household"], "central_household")
    ]


def test_r_pii_id_and_phone_encrypted_at_rest_and_masked(
    engine: MediationEngine, world: World
) -> None:
    engine.open_case(world.intake(), world.actors["mediator"])
    with engine.db.engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT id_number_cipher, id_number_masked, phone_cipher, phone_masked, sex "
                "FROM parties ORDER BY id"
            )
        ).first()
        dump = " ".join(str(v) for v in connection.execute(sa.text("SELECT * FROM parties")).all())
    assert row is not None
    assert APPLICANT_ID not in dump
    assert "13812341234" not in dump
    assert row[1] == "1101**********002X"
    assert row[3] == "138****1234"
    assert engine.pii.decrypt(row[0]) == APPLICANT_ID
    assert engine.pii.decrypt(row[2]) == "13812341234"  # R-PHONE: +86 stripped
    assert row[4] == "female"  # R-ID: sex from the 17th digit


def test_r_id_invalid_checksum_stores_nothing(engine: MediationEngine, world: World) -> None:
    before = _snapshot(engine)
    bad = world.intake(
        parties=(
            PartyIntake(role=PartyRole.applicant, name="王秀英", id_number="110105194912310021"),
            PartyIntake(role=PartyRole.respondent, name="李建国"),
        )
    )
    with pytest.raises(InvalidIdNumber) as caught:
        engine.open_case(bad, world.actors["mediator"])
    assert caught.value.fields["field"] == "parties.0.id_number"
    assert caught.value.code == "invalid_id_number"
    assert _snapshot(engine) == before
    # the failed intake did not burn a number
    result = engine.open_case(world.intake(), world.actors["mediator"])
    assert engine.get_case(result.case_id, world.actors["mediator"]).number.endswith("第0001号")


def test_r_phone_invalid_is_refused(engine: MediationEngine, world: World) -> None:
    bad = world.intake(
        parties=(
            PartyIntake(role=PartyRole.applicant, name="王秀英", phone="12345"),
            PartyIntake(role=PartyRole.respondent, name="李建国"),
        )
    )
    with pytest.raises(InvalidPhoneNumber):
        engine.open_case(bad, world.actors["mediator"])


def test_r_pii_under_14_needs_guardian(engine: MediationEngine, world: World) -> None:
    child = PartyIntake(role=PartyRole.applicant, name="小明", id_number="330681201601010019")
    with pytest.raises(InvalidInput, match="监护人"):
        engine.open_case(
            world.intake(parties=(child, world.intake().parties[1])), world.actors["mediator"]
        )
    guarded = child.model_copy(update={"guardian_name": "王秀英"})
    engine.open_case(
        world.intake(parties=(guarded, world.intake().parties[1])), world.actors["mediator"]
    )


def test_open_case_checks_references(engine: MediationEngine, world: World) -> None:
    with pytest.raises(InvalidInput, match=r"纠纷类型“nope”不存在，可选：.*neighbour（邻里）"):
        engine.open_case(world.intake(category_code="nope"), world.actors["mediator"])
    with pytest.raises(InvalidInput, match="风险等级"):
        engine.open_case(world.intake(risk_level="purple"), world.actors["mediator"])
    with pytest.raises(InvalidInput, match="不是人民调解委员会"):
        engine.open_case(world.intake(committee_id=world.units["grid"]), world.actors["mediator"])
    with pytest.raises(RoleNotPermitted):
        engine.open_case(world.intake(), world.actors["lawyer"])
    with pytest.raises(OutOfScope):
        engine.open_case(world.intake(), world.actors["outsider"])


def test_fire_errors_change_nothing(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock)
    mediator = world.actors["mediator"]
    before = (_snapshot(engine), driver.case)
    with pytest.raises(TransitionNotAllowed) as unknown:
        engine.fire(driver.case_id, "route_to_gird", mediator, 1)
    assert unknown.value.fields["hint"] == "route_to_grid"
    with pytest.raises(ConcurrentUpdate) as stale:
        engine.fire(driver.case_id, "route_to_grid", mediator, 0)
    assert stale.value.current_version == 1
    with pytest.raises(RoleNotPermitted):
        engine.fire(driver.case_id, "accept_at_room", world.actors["household"], 1)
    with pytest.raises(OutOfScope):
        engine.fire(driver.case_id, "accept_at_room", world.actors["outsider"], 1)
    with pytest.raises(CaseNotFound):
        engine.fire(999, "accept_at_room", mediator, 1)
    with pytest.raises(PayloadInvalid):  # the room is declared and required
        engine.fire(driver.case_id, "accept_at_room", mediator, 1)
    with pytest.raises(GuardRejected):
        engine.fire(driver.case_id, "accept_at_panel", mediator, 1)
    with pytest.raises(InvalidInput):  # an action refusing its payload rolls back the whole fire
        engine.fire(driver.case_id, "assign", mediator, 1, {"user_id": 12345, "role": "mediator"})
    assert (_snapshot(engine), driver.case) == before


def test_fire_bumps_version_once_and_chains_audit(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock)
    room = {"room_id": world.units["room"]}
    result = engine.fire(driver.case_id, "accept_at_room", world.actors["mediator"], 1, room)
    assert (result.state, result.version) == ("mediation_room", 2)
    events = engine.history(driver.case_id, world.actors["mediator"])
    assert [(e.seq, e.trigger, e.source_state, e.dest_state, e.version) for e in events] == [
        (1, "open", None, "intake", 1),
        (2, "accept_at_room", "intake", "mediation_room", 2),
    ]
    assert events[1].prev_hash == events[0].hash
    assert driver.case.audit_head == events[1].hash == result.event_hash


def test_audit_verify_names_the_altered_event(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock)
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.fire("mediator", "assign", user_id=world.users["mediator"], role="mediator")
    assert engine.verify_audit() == []
    with engine.db.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE audit_events SET payload = :p WHERE case_id = :c AND seq = 2"),
            {"p": '{"forged":true}', "c": driver.case_id},
        )
    [broken] = engine.verify_audit()
    assert (broken.case_id, broken.seq) == (driver.case_id, 2)
    assert "内容被改动" in broken.describe()


def test_audit_verify_catches_a_deleted_last_event(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock)
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    with engine.db.engine.begin() as connection:
        connection.execute(
            sa.text("DELETE FROM audit_events WHERE case_id = :c AND seq = 2"),
            {"c": driver.case_id},
        )
    [broken] = engine.verify_audit()
    assert "链头" in broken.problem


def test_available_triggers_say_why_in_chinese(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock)
    options = {
        o.trigger: o for o in engine.available_triggers(driver.case_id, world.actors["household"])
    }
    assert options["route_to_grid"].allowed
    assert not options["accept_at_room"].allowed
    assert options["accept_at_room"].blocked_reasons == ("需要以下角色之一：调解员、督办人员",)
    assert options["reject_inadmissible"].reason_required
    assert options["route_to_grid"].dest_label == "中心户调解"


def test_scope_lawyer_sees_only_assigned_cases(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock)
    with pytest.raises(OutOfScope):
        engine.get_case(driver.case_id, world.actors["lawyer"])
    driver.assign("lawyer", "lawyer")
    assert engine.get_case(driver.case_id, world.actors["lawyer"]).id == driver.case_id


def test_guards_cannot_write(engine: MediationEngine, world: World, clock: FixedClock) -> None:
    from engine.hooks import TransitionContext

    driver = open_case(engine, world, clock)
    with engine.db.transaction(write=True) as tx:
        case = tx.load_case(driver.case_id)
        assert case is not None
        compiled = engine.registry.get(case.spec_id, case.spec_version)
        bound = compiled.transition("intake", "accept_at_room")
        assert bound is not None
        ctx = TransitionContext(
            tx=tx,
            case=case,
            actor=world.actors["mediator"],
            payload={},
            reason=None,
            now=clock.now(),
            spec=compiled.spec,
            transition=bound.spec,
            calendar=engine.calendar,
        )
        with pytest.raises(RuntimeError, match="guards are pure"):
            ctx.set_case(overdue=True)
