"""A dispute from intake to judicial confirmation and follow-up, entirely over HTTP, reading
the case back between steps the way a browser would."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from tests.api.conftest import Api


class Desk:
    """One case worked over HTTP; every fire uses the ETag of a fresh read as If-Match."""

    def __init__(self, api: Api, case_id: int) -> None:
        self.api = api
        self.case_id = case_id

    def read(self, user: str = "supervisor") -> dict[str, Any]:
        response = self.api.get(user, f"/api/v1/cases/{self.case_id}")
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == f'"{response.json()["version"]}"'
        return dict(response.json())

    def fire(self, user: str, trigger: str, reason: str | None = None, **payload: Any) -> str:
        etag = self.api.get(user, f"/api/v1/cases/{self.case_id}").headers["etag"]
        response = self.api.client.post(
            f"/api/v1/cases/{self.case_id}/actions",
            json={"trigger": trigger, "payload": payload, "reason": reason},
            headers=self.api.headers(user, **{"If-Match": etag}),
        )
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == f'"{response.json()["version"]}"'
        return str(response.json()["state"])

    def party_ids(self) -> list[int]:
        parties = self.api.get("mediator", f"/api/v1/cases/{self.case_id}/parties").json()
        return [p["party_id"] for p in parties]


def test_intake_to_confirmation_and_follow_up_over_http(api: Api) -> None:
    intake = api.world.intake().model_dump(mode="json")
    created = api.client.post(
        "/api/v1/cases", json=intake, headers=api.headers("household", **{"Idempotency-Key": "k1"})
    )
    assert created.status_code == 201, created.text
    case = created.json()
    assert created.headers["location"] == f"/api/v1/cases/{case['id']}"
    assert (case["state"], case["version"], case["grid_id"]) == (
        "intake",
        1,
        api.world.units["grid"],
    )
    desk = Desk(api, case["id"])
    applicant, respondent = desk.party_ids()
    for party in (applicant, respondent):
        desk.fire(
            "household",
            "record_consent",
            party_id=party,
            source="written",
            notice_acknowledged=True,
        )
    assert desk.fire("household", "route_to_grid") == "central_household"
    desk.fire("household", "record_session", place="村委会", record="双方陈述，未达成一致")
    room = api.world.units["room"]
    assert desk.fire("household", "escalate", room_id=room) == "mediation_room"
    desk.fire(
        "mediator",
        "assign",
        user_id=api.world.users["mediator"],
        role="mediator",
        parties_consented=True,
    )
    actions = {
        a["trigger"]: a for a in api.get("mediator", f"/api/v1/cases/{desk.case_id}/actions").json()
    }
    assert actions["draft_agreement"]["allowed"]
    assert not actions["escalate"]["allowed"]
    assert any("律师" in reason for reason in actions["escalate"]["blocked_reasons"])
    desk.fire("mediator", "record_session", place="调解室", record="达成一致意见")
    sessions = api.get("mediator", f"/api/v1/cases/{desk.case_id}/sessions").json()
    assert [s["level"] for s in sessions] == ["grid", "community"]
    terms = [
        {
            "obligor": respondent,
            "obligee": applicant,
            "content": "赔偿修缮费用人民币3000元",
            "amount": 3000,
            "method": "银行转账",
            "place": "枫源村村委会",
            "due_date": "2026-04-01",
        }
    ]
    desk.fire(
        "mediator",
        "draft_agreement",
        facts="被申请人房屋滴水损坏申请人院墙",
        issues=["修缮费用的承担"],
        responsibilities=[
            {"party_id": respondent, "responsibility": "承担主要责任"},
            {"party_id": applicant, "responsibility": "承担次要责任"},
        ],
        terms=terms,
    )
    desk.fire("mediator", "start_signing")
    for party in (applicant, respondent):
        desk.fire("mediator", "sign_party", party_id=party, method="electronic")
    desk.fire("mediator", "sign_mediator")
    assert desk.fire("mediator", "apply_seal") == "agreement_in_effect"
    court = api.world.units["court"]
    assert (
        desk.fire(
            "mediator", "apply_confirmation", court_id=court, applicants=[applicant, respondent]
        )
        == "jc_applied"
    )
    queue = api.get("clerk", "/api/v1/court/applications").json()["items"]
    assert [item["id"] for item in queue] == [desk.case_id]
    revealed = api.get("clerk", f"/api/v1/cases/{desk.case_id}/parties", reveal="true").json()
    assert revealed[0]["id_number"] == "11010519491231002X"
    assert desk.fire("clerk", "accept_application") == "jc_reviewing"
    assert desk.fire("judge", "confirm", ruling_number="（2026）浙0681民特12号") == "confirmed"
    assert api.get("judge", "/api/v1/court/applications").json()["items"] == []
    assert desk.fire("mediator", "start_followup") == "followup"
    desk.fire("household", "record_visit", performance="performed", satisfaction="satisfied")
    assert desk.fire("mediator", "close", summary="协议已履行完毕") == "closed"
    final = desk.read()
    assert (final["state"], final["level"], final["resolved_level"]) == (
        "closed",
        "closed",
        "community",
    )
    history = api.get("supervisor", f"/api/v1/cases/{desk.case_id}/history").json()
    assert history[0]["trigger"] == "open"
    assert history[-1]["trigger"] == "close"
    assert all(e["prev_hash"] == p["hash"] for p, e in pairwise(history))
    assert api.engine.verify_audit([desk.case_id]) == []


def test_case_search_filters_and_pages(api: Api) -> None:
    ids = []
    for _ in range(5):
        intake = api.world.intake().model_dump(mode="json")
        ids.append(
            api.client.post("/api/v1/cases", json=intake, headers=api.headers("mediator")).json()[
                "id"
            ]
        )
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("mediator", "/api/v1/cases", **params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    number = api.get("mediator", f"/api/v1/cases/{ids[2]}").json()["number"]
    assert [i["id"] for i in api.get("mediator", "/api/v1/cases", q=number).json()["items"]] == [
        ids[2]
    ]
    assert len(api.get("mediator", "/api/v1/cases", q="王秀").json()["items"]) == 5
    assert api.get("mediator", "/api/v1/cases", q="不存在的人").json()["items"] == []
    assert api.get("mediator", "/api/v1/cases", q="%").json()["items"] == []
    household = api.world.users["household"]
    assert len(api.get("mediator", "/api/v1/cases", assignee_id=household).json()["items"]) == 5
    assert api.get("mediator", "/api/v1/cases", state="closed").json()["items"] == []
    assert (
        len(
            api.get("mediator", "/api/v1/cases", state=["intake", "closed"], level="intake").json()[
                "items"
            ]
        )
        == 5
    )
    assert (
        len(
            api.get("mediator", "/api/v1/cases", org_unit_id=api.world.units["community"]).json()[
                "items"
            ]
        )
        == 5
    )
    assert (
        api.get("mediator", "/api/v1/cases", org_unit_id=api.world.units["room"]).json()["items"]
        == []
    )
    assert api.get("mediator", "/api/v1/cases", overdue="true").json()["items"] == []
    assert api.get("mediator", "/api/v1/cases", category="contract").json()["items"] == []
    bad = api.get("mediator", "/api/v1/cases", cursor="not-a-cursor")
    assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (
        422,
        "invalid_input",
        "cursor",
    )


@pytest.mark.parametrize("reveal_as", ["mediator", "judge"])
def test_r_pii_every_unmasked_read_is_logged(api: Api, reveal_as: str) -> None:
    from tests.api.conftest import drive_to_application
    from tests.flow import open_case

    driver = open_case(api.engine, api.world, api.clock)
    drive_to_application(driver)
    path = f"/api/v1/cases/{driver.case_id}/parties"
    masked = api.get(reveal_as, path).json()
    assert [p["id_number"] for p in masked] == ["1101**********002X", "4405**********0014"]
    assert all(p["masked"] for p in masked)
    shown = api.get(reveal_as, path, reveal="true").json()
    assert [p["phone"] for p in shown] == ["13812341234", "13900001111"]
    with api.engine.db.engine.connect() as connection:
        from sqlalchemy import text

        rows = connection.execute(
            text("SELECT user_id, case_id, party_id, fields FROM pii_access_log ORDER BY id")
        ).all()
    user = api.world.users[reveal_as]
    assert [(r[0], r[1], r[3]) for r in rows] == [(user, driver.case_id, "id_number,phone")] * 2
