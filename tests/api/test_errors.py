"""Errors are RFC 9457 problem+json with a stable code, a Chinese title and detail, and the
fields a client needs: the guard that refused, the current version, the field that is wrong."""

from __future__ import annotations

from api.errors import STATUS, status_for
from engine.errors import ConcurrentUpdate, EngineError, GuardRejected, OutOfScope
from mediation.errors import InvalidIdNumber
from tests.api.conftest import Api


def test_a_blocked_trigger_names_its_guard(api: Api) -> None:
    case_id = api.new_case()
    assert api.fire("household", case_id, "route_to_grid").status_code == 200
    response = api.fire("household", case_id, "record_session", place="村委会", record="……")
    body = response.json()
    assert response.status_code == 422
    assert (body["code"], body["guard"], body["trigger"]) == (
        "guard_rejected",
        "all_parties_consented",
        "record_session",
    )
    assert body["title"] == "条件不满足"
    assert "王秀英" in body["detail"]
    assert body["type"] == "urn:fengqiao:problem:guard_rejected"
    assert body["instance"] == f"/api/v1/cases/{case_id}/actions"


def test_an_unknown_trigger_is_409_with_a_hint(api: Api) -> None:
    response = api.fire("mediator", api.new_case(), "route_to_gird")
    body = response.json()
    assert (response.status_code, body["code"], body["hint"]) == (
        409,
        "transition_not_allowed",
        "route_to_grid",
    )


def test_a_missing_reason_and_bad_payload_are_422(api: Api) -> None:
    case_id = api.new_case()
    response = api.fire("mediator", case_id, "reassess_risk", risk_level="yellow")
    assert (response.status_code, response.json()["code"]) == (422, "reason_required")
    response = api.fire("mediator", case_id, "record_consent", party_id=1, source="telepathy")
    body = response.json()
    assert (response.status_code, body["code"]) == (422, "payload_invalid")
    assert [e["field"] for e in body["errors"]] == ["source"]
    assert body["errors"][0]["message"].startswith("“同意方式”须为以下之一：written（书面）")


def test_validation_errors_name_each_field_in_chinese(api: Api) -> None:
    intake = api.world.intake().model_dump(mode="json")
    intake["parties"] = intake["parties"][:1]
    intake["committee_id"] = "abc"
    response = api.client.post("/api/v1/cases", json=intake, headers=api.headers("mediator"))
    body = response.json()
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert body["code"] == "validation_failed"
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert fields == {"body.committee_id": "须为整数", "body.parties": "至少需要 2 项"}


def test_an_invalid_id_number_is_422_naming_the_party(api: Api) -> None:
    intake = api.world.intake().model_dump(mode="json")
    intake["parties"][1]["id_number"] = "440524188001010015"
    response = api.client.post("/api/v1/cases", json=intake, headers=api.headers("mediator"))
    body = response.json()
    assert (response.status_code, body["code"], body["field"]) == (
        422,
        "invalid_id_number",
        "parties.1.id_number",
    )
    assert body["detail"].startswith("李建国")


def test_payload_integers_beyond_json_safe_range_are_422(api: Api) -> None:
    response = api.fire("mediator", api.new_case(), "assign", user_id=2**70, role="mediator")
    assert (response.status_code, response.json()["code"]) == (422, "validation_failed")


def test_unknown_routes_and_workflows_are_problems_too(api: Api) -> None:
    response = api.get("mediator", "/api/v1/nothing-here")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    response = api.get("mediator", "/api/v1/workflows/standard/99")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_the_status_table_is_looked_up_along_the_class_tree() -> None:
    assert status_for(InvalidIdNumber("x", reason="checksum")) == 422  # from InvalidInput
    assert status_for(GuardRejected("t", "g", "x")) == 422
    assert status_for(ConcurrentUpdate(1, 1, 2)) == 409
    assert status_for(OutOfScope(unit_id=3)) == 403
    assert STATUS[EngineError] == 500
