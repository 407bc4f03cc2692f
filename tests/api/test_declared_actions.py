"""Declared actions over HTTP: what each action takes is published, unknown keys are refused,
service steps are closed at the generic door, and only staffed, competent courts are offered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from api.app import create_app
from api.settings import Settings
from engine.calendar import WorkingCalendar
from engine.models.org import OrgUnit
from engine.ports import FixedClock
from engine.records import Actor
from mediation.models.org import OrgKind
from tests.api.conftest import Api, _add_users, drive_to_application
from tests.api.schema_client import values_for
from tests.conftest import make_engine
from tests.flow import Driver, open_case
from tests.world import build_world


def _actions(api: Api, user: str, case_id: int) -> dict[str, dict[str, Any]]:
    response = api.get(user, f"/api/v1/cases/{case_id}/actions")
    assert response.status_code == 200, response.text
    return {a["trigger"]: a for a in response.json()}


def _history(api: Api, case_id: int) -> int:
    return len(api.engine.history(case_id, Actor.system()))


def test_each_action_publishes_its_fields_with_the_options_of_this_case(api: Api) -> None:
    case_id = api.new_case()
    actions = _actions(api, "mediator", case_id)
    consent = actions["record_consent"]["schema"]
    assert consent["required"] == ["party_id", "source"]
    assert consent["additionalProperties"] is False
    party = consent["properties"]["party_id"]
    assert (party["title"], party["x-kind"]) == ("当事人", "party")
    assert [o["title"] for o in party["oneOf"]] == ["王秀英", "李建国"]
    sources = consent["properties"]["source"]["oneOf"]
    assert {"const": "written", "title": "书面"} in sources
    rooms = actions["accept_at_room"]["schema"]["properties"]["room_id"]["oneOf"]
    units = api.world.units
    assert {o["const"] for o in rooms} == {
        units["room"],
        units["committee"],
        units["other_committee"],  # a case may move up to another committee of the district
    }
    assert api.world.units["far_committee"] not in {o["const"] for o in rooms}  # another district
    risk = actions["reassess_risk"]["schema"]["properties"]["risk_level"]["oneOf"]
    assert [o["const"] for o in risk] == ["blue", "yellow", "orange", "red"]


def test_unknown_keys_are_refused_by_name_and_nothing_is_written(api: Api) -> None:
    case_id = api.new_case()
    version, events = api.version(case_id), _history(api, case_id)
    response = api.fire(
        "mediator", case_id, "accept_at_room", room_id=api.world.units["room"], bogus=1
    )
    body = response.json()
    assert (response.status_code, body["code"]) == (422, "payload_invalid")
    assert [(e["field"], e["type"]) for e in body["errors"]] == [("bogus", "unknown")]
    assert "不接受字段“bogus”" in body["detail"]
    assert (api.version(case_id), _history(api, case_id)) == (version, events)


def test_every_bad_field_is_named_in_chinese_at_once(api: Api) -> None:
    case_id = api.new_case()
    response = api.fire("mediator", case_id, "record_consent", party_id="一", source="telepathy")
    body = response.json()
    assert response.status_code == 422
    assert {e["field"]: e["message"] for e in body["errors"]} == {
        "party_id": "“当事人”应为编号（整数）",
        "source": "“同意方式”须为以下之一："
        "written（书面）、oral（口头）、phone（电话）、online（线上）",
    }


@pytest.fixture
def closed_api(
    sa_engine: sa.Engine, tmp_path: Path, clock: FixedClock, calendar: WorkingCalendar
) -> Iterator[Api]:
    """A deployment with its document service: drafting, signing and rulings go through it."""
    world = build_world(sa_engine)
    _add_users(sa_engine, world)
    engine = make_engine(sa_engine, clock, calendar, open_services=frozenset())
    app = create_app(Settings(data_dir=tmp_path), engine)
    with TestClient(app) as client:
        yield Api(client, world, engine, clock)


def test_service_steps_are_refused_at_the_generic_door_naming_their_route(
    closed_api: Api,
) -> None:
    api = closed_api
    driver = open_case(api.engine, api.world, api.clock)
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=api.world.units["room"])
    version, events = api.version(driver.case_id), _history(api, driver.case_id)
    response = api.fire(
        "mediator",
        driver.case_id,
        "draft_agreement",
        facts="事实",
        issues=["争议"],
        responsibilities="责任",
        terms=driver.terms(),
    )
    body = response.json()
    route = f"POST /api/v1/cases/{driver.case_id}/documents/agreement"
    assert (response.status_code, body["code"], body["route"]) == (
        409,
        "performed_by_service",
        route,
    )
    assert route in body["detail"]
    # the service as the host labels it (api/wiring.py's SERVICE_LABELS)
    assert body["detail"].startswith("“拟定调解协议”须通过文书服务（生成并签署文书）办理")
    assert (api.version(driver.case_id), _history(api, driver.case_id)) == (version, events)
    drafting = _actions(api, "mediator", driver.case_id)["draft_agreement"]
    assert (drafting["service"], drafting["route"]) == ("documents", route)


def test_confirm_and_sign_at_the_generic_door_are_refused(
    closed_api: Api, calendar: WorkingCalendar
) -> None:
    """A ruling with no 民事裁定书, an agreement in effect with no PDF: neither can happen."""
    api = closed_api
    # to the court as a deployment without PDFs would drive it, on the same database
    pdf_less = make_engine(api.engine.db.engine, api.clock, calendar)
    driver = open_case(pdf_less, api.world, api.clock)
    drive_to_application(driver)
    driver.fire("clerk", "accept_application")
    response = api.fire("judge", driver.case_id, "confirm")
    body = response.json()
    assert (response.status_code, body["code"]) == (409, "performed_by_service")
    assert body["route"] == f"POST /api/v1/cases/{driver.case_id}/documents/ruling"
    assert "须通过法院裁定服务（生成裁定书）办理" in body["detail"]
    assert api.engine.get_case(driver.case_id, Actor.system()).state == "jc_reviewing"


def test_signing_at_the_generic_door_is_refused(closed_api: Api) -> None:
    api = closed_api
    response = api.fire("mediator", api.new_case(), "sign_party", party_id=1, method="electronic")
    # the case is at intake, so the state refuses first; a signing case refuses by service
    assert response.status_code == 409
    case_id = api.new_case()
    with api.engine.db.transaction(write=True) as tx:
        tx.execute("UPDATE cases SET state = 'signing' WHERE id = :id", {"id": case_id})
    response = api.fire("mediator", case_id, "sign_party", party_id=1, method="electronic")
    assert response.json()["code"] == "performed_by_service"
    assert "/documents/agreement/signatures" in response.json()["route"]


def _staffless_court(api: Api) -> int:
    with Session(api.engine.db.engine) as session:
        court = OrgUnit(
            kind=OrgKind.court, name="诸暨市人民法院", parent_id=api.world.units["district"]
        )
        session.add(court)
        session.flush()
        court.path = f"/{api.world.units['district']}/{court.id}/"
        session.commit()
        return court.id or 0


def test_r_jc_court_a_court_without_judge_and_clerk_is_neither_offered_nor_accepted(
    api: Api,
) -> None:
    empty_court = _staffless_court(api)
    driver = open_case(api.engine, api.world, api.clock)
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=api.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.sign_all()
    applying = _actions(api, "mediator", driver.case_id)["apply_confirmation"]["schema"]
    courts = applying["properties"]["court_id"]["oneOf"]
    assert courts == [{"const": api.world.units["court"], "title": "诸暨市人民法院枫桥人民法庭"}]
    response = api.fire(
        "mediator",
        driver.case_id,
        "apply_confirmation",
        court_id=empty_court,
        applicants=driver.party_ids(),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"].startswith(
        "“受理法院”须为对本案有管辖权、配有法官和书记员的人民法院"
    )
    assert driver.case.state == "agreement_in_effect"


def test_escalating_to_a_room_puts_the_case_in_that_rooms_queue(api: Api) -> None:
    case_id = api.new_case("household")
    assert api.get("mediator2", f"/api/v1/cases/{case_id}").status_code == 404
    driver = Driver(api.engine, api.world, api.clock, case_id)
    driver.consent_all("household")
    driver.fire("household", "route_to_grid")
    response = api.fire("household", case_id, "escalate", room_id=api.world.units["room"])
    assert response.status_code == 200, response.text
    queue = api.get("mediator2", "/api/v1/cases").json()["items"]
    assert case_id in [c["id"] for c in queue]  # 周晓燕 of the room sees it at once


def test_a_party_address_and_the_grid_can_be_corrected_with_a_reason(api: Api) -> None:
    case_id = api.new_case()
    party = _actions(api, "mediator", case_id)["correct_address"]["schema"]["properties"]
    party_id = party["party_id"]["oneOf"][0]["const"]
    response = api.fire(
        "mediator", case_id, "correct_address", "门牌写错", party_id=party_id, address="3组16号"
    )
    assert response.status_code == 200, response.text
    parties = api.get("mediator", f"/api/v1/cases/{case_id}/parties").json()
    assert "3组16号" in [p["address"] for p in parties]
    response = api.fire(
        "mediator", case_id, "set_grid", "住址属第三网格", grid_id=api.world.units["grid"]
    )
    assert response.status_code == 200, response.text
    last = api.engine.history(case_id, Actor.system())[-1]
    assert (last.trigger, last.reason) == ("set_grid", "住址属第三网格")


def test_at_intake_the_person_picks_the_grid_the_address_only_suggests(api: Api) -> None:
    match = api.client.post(
        "/api/v1/org-units/grid-match",
        json={"address": "枫桥镇枫源村三组12号"},  # written differently from the register
        headers=api.headers("mediator"),
    ).json()
    assert match["matched"] is None
    assert api.world.units["grid"] in [g["id"] for g in match["choices"]]
    intake = api.world.intake().model_dump(mode="json")
    for party in intake["parties"]:
        party["address"] = "枫桥镇枫源村三组12号"
    intake["grid_id"] = api.world.units["grid"]
    response = api.client.post("/api/v1/cases", json=intake, headers=api.headers("mediator"))
    assert response.status_code == 201, response.text
    case = api.engine.get_case(response.json()["id"], Actor.system())
    assert case.grid_id == api.world.units["grid"]
    actions = _actions(api, "household", case.id)  # the grid's 中心户 has it at once
    assert actions["route_to_grid"]["allowed"] is True


def test_r_categories_an_unknown_category_lists_the_valid_ones(api: Api) -> None:
    intake = api.world.intake().model_dump(mode="json")
    intake["category_code"] = "dog_fight"
    response = api.client.post("/api/v1/cases", json=intake, headers=api.headers("mediator"))
    body = response.json()
    assert (response.status_code, body["field"]) == (422, "category_code")
    assert "neighbour（邻里）" in body["detail"]
    assert "neighbour" in body["choices"]


def test_r_categories_vocabularies_are_listed_with_their_labels(api: Api) -> None:
    vocabularies = {v["name"]: v for v in api.get("mediator", "/api/v1/vocabularies").json()}
    assert {"consent_sources", "termination_reasons", "rejection_grounds", "performance"} <= set(
        vocabularies
    )
    assert vocabularies["visit_methods"]["source"] == "file"
    labels = {o["code"]: o["label"] for o in vocabularies["visit_methods"]["options"]}
    assert labels == {"in_person": "上门", "phone": "电话", "video": "视频"}
    categories = {o["code"]: o["flags"] for o in vocabularies["categories"]["options"]}
    assert categories["marriage_family"] == ["excluded_from_confirmation", "excluded_from_esign"]
    red = vocabularies["risk_levels:standard@1"]["options"][-1]
    assert (red["code"], red["flags"]) == ("red", ["report_to_police"])


def test_openapi_documents_one_payload_schema_per_trigger(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    body = schema["paths"]["/api/v1/cases/{case_id}/actions"]["post"]["requestBody"]
    fire = body["content"]["application/json"]["schema"]
    assert fire["discriminator"]["propertyName"] == "trigger"
    consent = schema["components"]["schemas"]["Fire_record_consent"]
    assert consent["properties"]["trigger"]["const"] == "record_consent"
    assert consent["properties"]["payload"]["required"] == ["party_id", "source"]
    apply = schema["components"]["schemas"]["Fire_apply_confirmation"]["properties"]["payload"]
    assert apply["required"] == ["applicants"]  # the court is optional where a court delegated
    escalate = schema["components"]["schemas"]["Fire_escalate"]["properties"]["payload"]
    assert "required" not in escalate  # to a room it names one; to the panel nothing
    assert (
        "document_sha256"
        not in schema["components"]["schemas"]["Fire_confirm"]["properties"]["payload"][
            "properties"
        ]
    )


def test_diagrams_break_lines_and_a_case_shows_where_it_is(api: Api) -> None:
    flow = api.get("mediator", "/api/v1/workflows/standard/1/graph.svg")
    assert flow.status_code == 200
    assert "\\n" not in flow.text
    assert ">受理登记</text>" in flow.text  # the label on a line of its own
    case_id = api.new_case()
    api.fire("mediator", case_id, "accept_at_room", room_id=api.world.units["room"])
    case = api.get("mediator", f"/api/v1/cases/{case_id}/graph.svg")
    assert case.status_code == 200
    assert "\\n" not in case.text
    assert "▶ 当前：调解室调解" in case.text
    assert "#c0392b" in case.text  # the current state
    assert "#1f6fb2" in case.text  # the path taken
    assert api.get("far_mediator", f"/api/v1/cases/{case_id}/graph.svg").status_code == 404


# --- a client that knows only the published schemas -------------------------------------

JOURNEY: list[tuple[str, str]] = [
    ("mediator", "accept_at_room"),
    ("mediator", "record_session"),
    ("mediator", "draft_agreement"),
    ("mediator", "start_signing"),
    ("mediator", "sign_party"),
    ("mediator", "sign_party"),
    ("mediator", "sign_mediator"),
    ("mediator", "apply_seal"),
    ("mediator", "apply_confirmation"),
    ("clerk", "accept_application"),
    ("judge", "confirm"),
    ("mediator", "start_followup"),
    ("household", "record_visit"),
]
HELPERS = ("record_consent", "assign")  # fired until the next step of the journey opens


def _fire_from_schema(
    api: Api,
    data: st.DataObject,
    user: str,
    case_id: int,
    action: dict[str, Any],
    sent: set[str],
) -> bool:
    """Fire the action with a payload drawn from its schema, never one already sent."""
    trigger = action["trigger"]
    fresh = values_for(action["schema"]).filter(lambda p: f"{trigger}{p!r}" not in sent)
    payload = data.draw(fresh, label=trigger)
    sent.add(f"{trigger}{payload!r}")
    reason = "依当事人申请" if action["reason_required"] else None
    response = api.fire(user, case_id, action["trigger"], reason, **payload)
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 409, 422), response.text
    return response.status_code == 200


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_a_schema_only_client_carries_a_case_to_follow_up_without_a_5xx(
    api_factory: Any, data: st.DataObject
) -> None:
    api = api_factory()
    case_id = api.new_case()
    sent: set[str] = set()
    for user, trigger in JOURNEY:
        for _attempt in range(200):
            actions = _actions(api, user, case_id)
            step = actions.get(trigger)
            if (
                step is not None
                and step["allowed"]
                and _fire_from_schema(api, data, user, case_id, step, sent)
            ):
                break
            if step is None or not step["allowed"]:
                mine = _actions(api, "mediator", case_id)
                helpers = [mine[h] for h in HELPERS if h in mine and mine[h]["allowed"]]
                helper = data.draw(st.sampled_from(helpers))
                _fire_from_schema(api, data, "mediator", case_id, helper, sent)
        else:
            raise AssertionError(f"{trigger} never succeeded from schema-built payloads")
    assert api.engine.get_case(case_id, Actor.system()).state == "followup"


@pytest.fixture
def api_factory(
    sa_engine: sa.Engine, tmp_path: Path, clock: FixedClock, calendar: WorkingCalendar
) -> Iterator[Any]:
    """A client per Hypothesis example, each registering its own case, on a deployment
    without PDFs: every step is fired at the generic door, so the schemas are all it needs."""
    world = build_world(sa_engine)
    _add_users(sa_engine, world)
    engine = make_engine(sa_engine, clock, calendar)
    app = create_app(Settings(data_dir=tmp_path, document_service=False), engine)
    clients: list[TestClient] = []

    def make() -> Api:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return Api(client, world, engine, clock)

    yield make
    for client in clients:
        client.__exit__(None, None, None)
