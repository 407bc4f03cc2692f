"""The next session's time and place: scheduled, moved or called off by whoever may record
sessions in that state (audited as events), shown on the case page and on each party's
progress page, and no longer "next" once its time has passed."""

from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import Api
from tests.flow import open_case
from tests.web.conftest import Pages
from tests.web.test_progress import _link


def _to_room(api: Api) -> int:
    """A v2 case in the room, its mediator assigned (the v2 flows schedule sessions)."""
    driver = open_case(api.engine, api.world, api.clock, spec_version=2)
    driver.assign("mediator", "mediator")
    case_id = driver.case_id
    moved = api.fire("mediator", case_id, "accept_at_room", room_id=api.world.units["committee"])
    assert moved.status_code == 200, moved.text
    return case_id


def test_a_mediator_schedules_the_next_session_and_the_party_sees_its_time_and_place(
    seeded: Api,
) -> None:
    case_id = _to_room(seeded)
    at = (seeded.clock.now() + timedelta(days=3)).replace(hour=6, minute=30, second=0)
    past = seeded.fire(
        "mediator", case_id, "schedule_session", at="2020-01-01T09:00:00+08:00", place="调解室"
    )
    assert past.status_code == 422, past.text  # a time already gone: refused, nothing stored
    assert "晚于现在" in past.text
    refused = seeded.fire("lawyer", case_id, "schedule_session", at=at.isoformat(), place="x")
    assert refused.status_code in (403, 404, 409), refused.text
    done = seeded.fire(
        "mediator",
        case_id,
        "schedule_session",
        at=at.isoformat(),
        place="村委会二楼调解室",
        note="请带上身份证",
    )
    assert done.status_code == 200, done.text

    staff = Pages(seeded).sign_in("mediator")
    case_page = staff.get(f"/cases/{case_id}").text
    assert "下次调解" in case_page
    assert "村委会二楼调解室" in case_page
    assert "14:30" in case_page  # 06:30 UTC is 14:30 in Beijing
    parties = seeded.get("mediator", f"/api/v1/cases/{case_id}/parties").json()
    link = _link(staff, case_id, parties[0]["party_id"])
    party = Pages(seeded)
    party.client.cookies.clear()
    assert party.post(link, {"digits": "1234"}, from_page=link).status_code == 303
    shown = party.get(link).text
    assert "下次调解" in shown
    assert "村委会二楼调解室" in shown
    assert "14:30" in shown
    assert "请带上身份证" in shown
    assert "李建国" not in shown  # nothing about the other party

    moved = seeded.fire(
        "mediator",
        case_id,
        "schedule_session",
        at=(at + timedelta(days=1)).isoformat(),
        place="社区服务中心",
    )
    assert moved.status_code == 200
    shown = party.get(link).text
    assert "社区服务中心" in shown
    assert "村委会二楼调解室" not in shown

    seeded.clock.set(seeded.clock.now() + timedelta(days=5))  # the session's time has passed
    assert party.post(link, {"digits": "1234"}, from_page=link).status_code == 303  # new pass
    shown = party.get(link).text
    assert "社区服务中心" not in shown
    assert "下次调解的时间、地点由调解员电话通知您" in shown
    assert "社区服务中心" not in staff.get(f"/cases/{case_id}").text


def test_cancelling_the_next_session_needs_a_reason_and_is_in_the_history(seeded: Api) -> None:
    case_id = _to_room(seeded)
    at = seeded.clock.now() + timedelta(days=2)
    nothing = seeded.fire("mediator", case_id, "cancel_session", "当事人外出")
    assert nothing.status_code == 422  # nothing to call off
    seeded.fire("mediator", case_id, "schedule_session", at=at.isoformat(), place="调解室")
    no_reason = seeded.fire("mediator", case_id, "cancel_session")
    assert no_reason.status_code == 422
    cancelled = seeded.fire("mediator", case_id, "cancel_session", "当事人住院，另行安排")
    assert cancelled.status_code == 200, cancelled.text
    page = Pages(seeded).sign_in("mediator").get(f"/cases/{case_id}").text
    assert "取消已安排的调解" in page  # the timeline names the event
    assert "当事人住院，另行安排" in page
    assert 'class="notice next-session"' not in page
    assert "安排下次调解" in page  # and the scheduling before it
