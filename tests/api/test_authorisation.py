"""The authorisation matrix: every route × every role, in scope and out of scope, with the
exact status. Out-of-scope reads are 404 (existence does not leak), never 403."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx2 as httpx
import pytest

from tests.api.conftest import PASSWORD, Api, foreign_parties

# user → (a case in their scope, a case outside it); admin sees every unit.
SCOPES: dict[str, tuple[str, str | None]] = {
    "household": ("A", "B"),  # 中心户: the grid's cases
    "mediator": ("A", "B"),  # the committee's cases
    "outsider": ("B", "A"),  # another committee's mediator
    "lawyer": ("A", "B"),  # only where assigned
    "police": ("A", "B"),  # only where assigned
    "judge": ("C", "A"),  # only applications addressed to the court
    "clerk": ("C", "A"),
    "supervisor": ("A", "E"),  # the district's subtree, not the far district
    "admin": ("A", None),
}
ROLES = list(SCOPES)
OPENERS = {"household", "mediator", "supervisor", "outsider"}
COURT = {"judge", "clerk"}
UNMASK = {("mediator", "A"), ("judge", "C"), ("clerk", "C")}
FIRE_ROLES = {  # the trigger fired on each case and who may fire it
    "A": ("reassess_risk", {"household", "mediator", "supervisor"}),
    "B": ("reassess_risk", {"household", "mediator", "supervisor", "outsider"}),
    "C": ("accept_application", {"judge", "clerk"}),
    "E": ("reassess_risk", {"mediator"}),
}


@dataclass(frozen=True)
class Route:
    name: str
    call: Callable[[Api, str, int], httpx.Response]
    expect: Callable[[str, str, bool], int]  # (user, case key, in scope) → status


def _read(path: str) -> Callable[[Api, str, int], httpx.Response]:
    return lambda api, user, case_id: api.get(user, path.format(case_id))


def _readable(user: str, case: str, in_scope: bool) -> int:
    del user, case
    return 200 if in_scope else 404


def _fire(api: Api, user: str, case_id: int) -> httpx.Response:
    key = next(k for k, v in api.cases.items() if v == case_id)
    trigger = FIRE_ROLES[key][0]
    if trigger == "reassess_risk":
        return api.fire(user, case_id, trigger, "风险复核", risk_level="yellow")
    return api.fire(user, case_id, trigger)


def _fire_status(user: str, case: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if user in FIRE_ROLES[case][1] else 403


def _reveal_status(user: str, case: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if (user, case) in UNMASK else 403


CASE_ROUTES = [
    Route("read case", _read("/api/v1/cases/{}"), _readable),
    Route("available actions", _read("/api/v1/cases/{}/actions"), _readable),
    Route("history", _read("/api/v1/cases/{}/history"), _readable),
    Route("parties (masked)", _read("/api/v1/cases/{}/parties"), _readable),
    Route(
        "one party",
        lambda a, u, c: a.get(u, f"/api/v1/cases/{c}/parties/{_party(a, c)}"),
        _readable,
    ),
    Route("sessions", _read("/api/v1/cases/{}/sessions"), _readable),
    Route("assignments", _read("/api/v1/cases/{}/assignments"), _readable),
    Route("documents", _read("/api/v1/cases/{}/documents"), _readable),
    Route(
        "parties (unmasked)",
        lambda a, u, c: a.get(u, f"/api/v1/cases/{c}/parties", reveal="true"),
        _reveal_status,
    ),
    Route("fire action", _fire, _fire_status),
]


def _party(api: Api, case_id: int) -> int:
    with api.engine.db.transaction(write=False) as tx:
        return tx.case_parties(case_id)[0].party_id


@pytest.mark.parametrize("user", ROLES)
@pytest.mark.parametrize("route", CASE_ROUTES, ids=lambda r: r.name)
def test_case_routes_answer_by_role_and_scope(seeded: Api, route: Route, user: str) -> None:
    inside, outside = SCOPES[user]
    for case, in_scope in [(inside, True), (outside, False)]:
        if case is None:
            continue
        response = route.call(seeded, user, seeded.cases[case])
        expected = route.expect(user, case, in_scope)
        assert response.status_code == expected, (case, response.text)
        if expected == 404:  # indistinguishable from a case that does not exist
            assert response.json()["code"] == "case_not_found"


@pytest.mark.parametrize("user", ROLES)
def test_case_list_shows_exactly_the_cases_in_scope(seeded: Api, user: str) -> None:
    response = seeded.get(user, "/api/v1/cases")
    assert response.status_code == 200
    listed = {item["id"] for item in response.json()["items"]}
    inside, outside = SCOPES[user]
    assert seeded.cases[inside] in listed
    if outside is not None:
        assert seeded.cases[outside] not in listed


@pytest.mark.parametrize("user", ROLES)
def test_court_queue_is_for_the_court_it_is_addressed_to(seeded: Api, user: str) -> None:
    response = seeded.get(user, "/api/v1/court/applications")
    if user in COURT:
        assert response.status_code == 200
        assert [i["id"] for i in response.json()["items"]] == [seeded.cases["C"]]
    else:
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("user", ROLES)
def test_only_case_opening_roles_register_cases_in_their_units(seeded: Api, user: str) -> None:
    own = {"outsider": "other_committee"}.get(user, "committee")
    foreign = "far_committee"
    intake = seeded.world.intake(committee_id=seeded.world.units[own]).model_dump(mode="json")
    response = seeded.client.post("/api/v1/cases", json=intake, headers=seeded.headers(user))
    if user in OPENERS:
        assert response.status_code == 201, response.text
        elsewhere = seeded.world.intake(
            committee_id=seeded.world.units[foreign], parties=foreign_parties()
        )
        response = seeded.client.post(
            "/api/v1/cases",
            json=elsewhere.model_dump(mode="json"),
            headers=seeded.headers(user),
        )
        assert response.status_code == 403
        assert response.json()["code"] == "out_of_scope"
    else:
        assert response.status_code == 403
        assert response.json()["code"] in {"role_not_permitted", "out_of_scope"}


@pytest.mark.parametrize("user", ROLES)
def test_users_are_administered_by_the_administrator_only(seeded: Api, user: str) -> None:
    username = f"new_{user}"
    body = {
        "username": username,
        "display_name": "新调解员",
        "password": PASSWORD,
        "memberships": [{"org_unit_id": seeded.world.units["committee"], "role": "mediator"}],
    }
    created = seeded.client.post("/api/v1/users", json=body, headers=seeded.headers(user))
    listed = seeded.get(user, "/api/v1/users")
    expected = (201, 200) if user == "admin" else (403, 403)
    assert (created.status_code, listed.status_code) == expected
    if user == "admin":
        assert seeded.login(username).status_code == 200


@pytest.mark.parametrize("user", ROLES)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/me",
        "/api/v1/org-units",
        "/api/v1/workflows",
        "/api/v1/workflows/standard/1",
        "/api/v1/workflows/standard/1/graph.svg",
    ],
)
def test_directory_routes_are_open_to_every_logged_in_user(
    seeded: Api, user: str, path: str
) -> None:
    assert seeded.get(user, path).status_code == 200
    assert seeded.client.get(path).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/cases"),
        ("GET", "/api/v1/cases/1"),
        ("POST", "/api/v1/cases/1/actions"),
        ("GET", "/api/v1/court/applications"),
        ("GET", "/api/v1/users"),
    ],
)
def test_without_a_token_every_route_is_401(api: Api, method: str, path: str) -> None:
    response = api.client.request(method, path, json={"trigger": "x", "expected_version": 1})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
