"""R-STATS over HTTP: the figures a supervisor reports for a period and a level, counted
from cases driven through the real flows."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from mediation import facts
from tests.api.conftest import Api, drive_to_application
from tests.flow import Driver, open_case

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def _district_in_march(api: Api) -> dict[str, int]:
    """Seven cases registered on Monday 2 March, one in January, each ending differently."""
    clock, engine, world = api.clock, api.engine, api.world
    start = clock.now()
    clock.set(start - timedelta(days=40))
    january = open_case(engine, world, clock)
    clock.set(start)
    at_grid, in_room, failed, refused, pending, drafted, unsigned = (
        open_case(engine, world, clock) for _ in range(7)
    )

    at_grid.consent_all()
    at_grid.fire("household", "route_to_grid")
    at_grid.fire("household", "record_oral_agreement", content="各自修缮院墙，互不追究")

    for driver in (drafted, unsigned):  # drafted, never signed
        driver.consent_all()
        driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
        driver.assign("mediator", "mediator")
        driver.draft()

    clock.set(start + timedelta(days=2))  # Wednesday: two working days after registration
    drive_to_application(in_room)
    in_room.fire("clerk", "accept_application")
    in_room.fire("judge", "confirm", ruling_number="（2026）浙0681民特12号")
    in_room.fire("household", "record_visit", performance="partly", satisfaction="neutral")
    in_room.fire("household", "record_visit", performance="performed", satisfaction="satisfied")

    clock.set(start + timedelta(days=7))  # the next Monday: five working days
    failed.consent_all()
    failed.fire("mediator", "accept_at_room", room_id=failed.world.units["room"])
    failed.fire("mediator", "terminate", reason="谈不拢", termination_reason="positions_apart")
    unsigned.fire(  # the parties would not sign the draft: a failure, not a success
        "mediator", "terminate", reason="拒绝签字", termination_reason="positions_apart"
    )

    refused.fire(
        "mediator", "reject_inadmissible", reason="已由法院受理", referral_advice="向法院了解"
    )
    with api.engine.db.engine.begin() as connection:  # as the deadline tick would flag it
        connection.execute(
            sa.text("UPDATE cases SET overdue = :yes WHERE id = :id"),
            {"yes": True, "id": pending.case_id},
        )
    with engine.db.transaction(write=True) as tx:  # and, as the tick's fire does, its facts
        facts.refresh(tx, engine.registry, engine.calendar, pending.case_id)
    drivers: dict[str, Driver] = {"january": january, "pending": pending}
    return {name: driver.case_id for name, driver in drivers.items()}


def test_a_supervisor_reads_the_district_report_for_a_month(any_api: Api) -> None:
    api = any_api  # on PostgreSQL too
    _district_in_march(api)
    response = api.get(
        "supervisor", "/api/v1/statistics", unit_id=api.world.units["district"], **MARCH
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["start"], report["end"]) == ("2026-03-01", "2026-03-31")
    assert report["unit"]["id"] == api.world.units["district"]
    counts = {
        key: report[key]
        for key in ("received", "successful", "failed", "not_mediated", "in_progress", "mediated")
    }
    assert counts == {
        "received": 7,
        "successful": 2,  # the oral agreement at the grid, the sealed one in the room
        "failed": 2,  # terminated, and terminated with an unsigned draft
        "not_mediated": 1,
        "in_progress": 2,  # registered only, and a draft awaiting signatures
        "mediated": 4,
    }
    assert report["success_rate"] == 0.5  # 调解成功率: 2 of the 4 mediated
    assert report["resolution_rate"] == 0.2857  # 化解率: 2 of the 7 received
    assert report["resolved_at"] == {"grid": 1, "community": 1}
    assert report["resolved_share"] == {"grid": 0.5, "community": 0.5}
    assert report["average_working_days"] == 3.0  # (0 + 2 + 5 + 5) / 4
    assert report["overdue"] == 1
    assert (report["visited"], report["performed"], report["performance_rate"]) == (1, 1, 1.0)
    assert report["satisfaction"] == {"satisfied": 1}  # the latest visit counts
    assert report["confirmation"] == {
        "applied": 1,
        "confirmed": 1,
        "rejected": 0,
        "not_accepted": 0,
        "withdrawn": 0,
    }
    assert sum(report["by_category"].values()) == sum(report["by_risk"].values()) == 7
    street = next(c for c in report["children"] if c["unit"]["id"] == api.world.units["street"])
    assert (street["received"], street["successful"], street["mediated"]) == (7, 2, 4)


def test_the_period_and_the_unit_choose_the_cohort(api: Api) -> None:
    _district_in_march(api)
    whole_year = api.get(
        "admin", "/api/v1/statistics", **{"from": "2026-01-01", "to": "2026-03-31"}
    )
    assert whole_year.json()["received"] == 8
    assert whole_year.json()["unit"] is None
    other = api.get(
        "supervisor", "/api/v1/statistics", unit_id=api.world.units["other_committee"], **MARCH
    ).json()
    assert (other["received"], other["success_rate"], other["average_working_days"]) == (
        0,
        None,
        None,
    )
    default = api.get("supervisor", "/api/v1/statistics").json()  # this year up to today
    assert (default["start"], default["end"]) == ("2026-01-01", "2026-03-09")
    assert default["unit"]["id"] == api.world.units["district"]  # the unit they supervise
    assert default["received"] == 8
    assert [c["unit"]["name"] for c in default["children"]] == ["枫桥镇"]


def test_who_may_read_statistics(api: Api) -> None:
    district = api.world.units["district"]
    mediator = api.get("mediator", "/api/v1/statistics", unit_id=api.world.units["committee"])
    assert (mediator.status_code, mediator.json()["code"]) == (403, "forbidden")
    far = api.get("supervisor", "/api/v1/statistics", unit_id=api.world.units["far_district"])
    assert (far.status_code, far.json()["code"]) == (403, "forbidden")
    missing = api.get("supervisor", "/api/v1/statistics", unit_id=999999)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    backwards = api.get(
        "supervisor",
        "/api/v1/statistics",
        unit_id=district,
        **{"from": "2026-03-31", "to": "2026-03-01"},
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "invalid_input")
    assert "起始日期" in backwards.json()["detail"]
    nonsense = api.get("supervisor", "/api/v1/statistics", **{"from": "三月"})
    assert (nonsense.status_code, nonsense.json()["code"]) == (422, "validation_failed")
    far_future = api.get("supervisor", "/api/v1/statistics", to="9999-12-31")
    assert (far_future.status_code, far_future.json()["code"]) == (422, "invalid_input")


def test_only_what_a_supervisor_supervises_is_reported(api: Api) -> None:
    """A supervisor who is also a mediator elsewhere reads reports for the supervised subtree
    only: other roles open cases, not reports."""
    with api.engine.db.engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO memberships (user_id, org_unit_id, role) VALUES (:u, :o, :r)"),
            {
                "u": api.world.users["supervisor"],
                "o": api.world.units["far_committee"],
                "r": "mediator",
            },
        )
    api.client.app.state.services.principals.forget(api.world.users["supervisor"])  # type: ignore[attr-defined]
    far = api.get("supervisor", "/api/v1/statistics", unit_id=api.world.units["far_committee"])
    assert (far.status_code, far.json()["code"]) == (403, "forbidden")
    own = api.get("supervisor", "/api/v1/statistics")
    assert own.json()["unit"]["id"] == api.world.units["district"]
