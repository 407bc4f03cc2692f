"""Searching cases by number or party name through the trigram (PostgreSQL) / FTS5 (SQLite)
index: scoped before it is limited, so a 中心户 finds their own cases and never another's,
however many of those match."""

from __future__ import annotations

from mediation.intake import PartyIntake, PartyRole
from tests.api.conftest import Api


def _outside(api: Api, name: str) -> int:
    """A case of the other committee, its parties living outside the 中心户's households."""
    intake = api.world.intake(
        committee_id=api.world.units["other_committee"],
        parties=(
            PartyIntake(role=PartyRole.applicant, name=name, address="枫桥镇东溪村1组1号"),
            PartyIntake(role=PartyRole.respondent, name="东溪邻居", address="枫桥镇东溪村1组2号"),
        ),
    )
    response = api.client.post(
        "/api/v1/cases", json=intake.model_dump(mode="json"), headers=api.headers("outsider")
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _found(api: Api, user: str, text: str) -> list[int]:
    response = api.get(user, "/api/v1/cases", q=text, limit=1)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def _number(api: Api, case_id: int, user: str = "outsider") -> str:
    response = api.get(user, f"/api/v1/cases/{case_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["number"])


def test_a_central_household_never_finds_cases_out_of_scope(any_api: Api) -> None:
    api = any_api  # on PostgreSQL too: the pg_trgm index, then the FTS5 table
    own = api.new_case()  # routed by address to the 中心户's household
    outside = [_outside(api, "王秀英") for _ in range(3)]  # newer, and same applicant's name
    assert api.get("household", f"/api/v1/cases/{outside[0]}").status_code in (403, 404)
    # a page of one: were the search limited before it was scoped, the newest match (out of
    # scope) would take the only place and the 中心户 would find nothing
    assert _found(api, "household", "王秀英") == [own]
    assert _found(api, "household", "秀英") == [own]  # two characters: below one trigram
    assert _found(api, "household", _number(api, outside[0])) == []
    assert _found(api, "outsider", "王秀英") == [outside[-1]]
    assert _found(api, "outsider", _number(api, outside[0])) == [outside[0]]


def test_search_finds_a_part_of_a_case_number_and_takes_wildcards_literally(any_api: Api) -> None:
    api = any_api
    first, second = api.new_case(), api.new_case()
    number = _number(api, second, "mediator")
    assert _found(api, "mediator", number[-6:]) == [second]  # "0002号"
    assert set(_found(api, "mediator", "调字第")) <= {first, second}
    assert _found(api, "mediator", "%") == []
    assert _found(api, "mediator", "王_英") == []
