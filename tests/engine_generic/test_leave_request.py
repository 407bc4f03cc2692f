"""The engine running a leave request of its own: roles and levels the spec declares, a
guard, an action, a reason, and a deadline that escalates the request by itself."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import (
    Engine,
    FixedClock,
    GuardRejected,
    ReasonRequired,
    RoleNotPermitted,
    TransitionNotAllowed,
)
from engine.timers import TimerService
from tests.engine_generic.conftest import START, Office


def _request(engine: Engine, office: Office, days: int = 2) -> int:
    alice = office.actors["alice"]
    opened = engine.start_case(
        "leave_request",
        alice,
        unit_id=office.unit_id,
        attributes={"summary": f"年假 {days} 天"},
        data={"requested_by": alice.user_id, "days": days},
        payload={"days": days},
    )
    assert opened.state == "requested"
    return opened.case_id


def test_a_manager_approves_a_request(engine: Engine, office: Office) -> None:
    case_id = _request(engine, office)
    case = engine.get_case(case_id, office.actors["bob"])
    assert (case.state, case.level, case.version) == ("requested", "team", 1)
    assert case.number.startswith("leave_request-2026-")
    done = engine.fire(case_id, "approve", office.actors["bob"], 1, {"comment": "同意"})
    assert (done.source, done.state, done.version) == ("requested", "approved", 2)
    case = engine.get_case(case_id, office.actors["alice"])
    assert case.data["decision"] == {
        "by": office.actors["bob"].user_id,
        "trigger": "approve",
        "comment": "同意",
        "reason": None,
    }
    events = engine.history(case_id, office.actors["alice"])
    assert [(e.trigger, e.dest_state) for e in events] == [
        ("open", "requested"),
        ("approve", "approved"),
    ]
    assert events[0].payload["days"] == 2
    assert engine.verify_audit([case_id]) == []


def test_the_declared_labels_name_who_may_act(engine: Engine, office: Office) -> None:
    case_id = _request(engine, office)
    with pytest.raises(RoleNotPermitted) as refused:
        engine.fire(case_id, "approve", office.actors["alice"], 1)
    assert "部门经理" in refused.value.message_zh
    options = {o.trigger: o for o in engine.available_triggers(case_id, office.actors["alice"])}
    assert options["withdraw"].allowed
    assert not options["approve"].allowed
    assert options["approve"].blocked_reasons == (
        "需要以下角色之一：部门经理",
        "不能审批自己的申请",
    )


def test_guards_and_reasons_hold(engine: Engine, office: Office) -> None:
    case_id = _request(engine, office)
    with pytest.raises(GuardRejected, match="只能撤回自己的申请"):
        engine.fire(case_id, "withdraw", office.actors["mallory"], 1)
    with pytest.raises(ReasonRequired):
        engine.fire(case_id, "reject", office.actors["bob"], 1)
    rejected = engine.fire(case_id, "reject", office.actors["bob"], 1, reason="项目上线期间")
    assert rejected.state == "rejected"
    with pytest.raises(TransitionNotAllowed):
        engine.fire(case_id, "withdraw", office.actors["alice"], 2)


def test_an_undecided_request_escalates_by_itself(
    engine: Engine, office: Office, clock: FixedClock, timers: TimerService
) -> None:
    """Three working days from Monday end on Thursday night: Wednesday nothing happens,
    Friday the request is the director's, at the division level; the director's two
    calendar days end on a Sunday, so they run to Monday night."""
    case_id = _request(engine, office)
    clock.set(START + timedelta(days=2, hours=10))
    assert timers.fire_due().fired == 0
    clock.set(START + timedelta(days=4))
    assert timers.fire_due().fired == 1
    case = engine.get_case(case_id, office.actors["carol"])
    assert (case.state, case.level) == ("escalated", "division")
    last = engine.history(case_id, office.actors["carol"])[-1]
    assert (last.trigger, last.actor_name, last.reason) == (
        "escalate",
        "系统",
        "期限届满：经理审批期限",
    )
    with pytest.raises(RoleNotPermitted):
        engine.fire(case_id, "approve", office.actors["bob"], case.version)
    clock.set(START + timedelta(days=7))
    assert timers.fire_due().fired == 0
    clock.set(START + timedelta(days=8))
    assert timers.fire_due().fired == 1  # the director's two days: a reminder, no move
    with engine.db.transaction(write=False) as tx:
        kinds = [r[0] for r in tx.all("SELECT kind FROM outbox WHERE case_id = :c", {"c": case_id})]
    assert kinds == ["leave_waiting"]
    case = engine.get_case(case_id, office.actors["carol"])
    assert case.state == "escalated"
    approved = engine.fire(case_id, "approve", office.actors["carol"], case.version)
    assert approved.state == "approved"
