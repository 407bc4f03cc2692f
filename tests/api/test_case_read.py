"""Reading a case, the busiest request, is served by a fast route in front of FastAPI's
router; it must answer exactly as the documented route does, problems included."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api


def test_a_visible_case_reads_with_its_version_as_etag(any_api: Api) -> None:
    api = any_api  # on PostgreSQL too: the read runs outside a transaction there
    case_id = api.new_case()
    for _ in range(3):  # the pooled connection goes back to transactions after each read
        response = api.get("mediator", f"/api/v1/cases/{case_id}")
    assert (
        api.fire(
            "mediator", case_id, "report_police", station="枫桥派出所", summary="可能激化"
        ).status_code
        == 200
    )
    assert api.get("mediator", f"/api/v1/cases/{case_id}").headers["ETag"] == '"2"'
    response = api.get("mediator", f"/api/v1/cases/{case_id}")
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    body = response.json()
    assert (body["id"], body["state"], body["version"]) == (case_id, "intake", 2)
    assert body["summary"]
    assert response.headers["content-type"] == "application/json"


def test_out_of_scope_answers_like_missing(api: Api) -> None:
    case_id = api.new_case()
    hidden = api.get("outsider", f"/api/v1/cases/{case_id}")
    missing = api.get("outsider", "/api/v1/cases/999999")
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert hidden.json()["code"] == missing.json()["code"] == "case_not_found"
    assert hidden.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("token", [None, "Bearer not-a-token", "Basic abc"])
def test_no_or_a_bad_token_is_401(api: Api, token: str | None) -> None:
    case_id = api.new_case()
    headers = {"Authorization": token} if token else {}
    response = api.client.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["0", "-1", "abc", "99999999999999"])
def test_ids_the_fast_route_does_not_take_get_the_documented_validation(
    api: Api, path: str
) -> None:
    response = api.get("mediator", f"/api/v1/cases/{path}")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"


def test_the_documented_route_is_the_one_in_openapi(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/cases/{case_id}"]["get"]
    assert operation["summary"]
    assert "ETag" in operation["responses"]["200"]["headers"]
