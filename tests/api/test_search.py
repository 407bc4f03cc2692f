"""Searching cases by number or party name through the trigram (PostgreSQL) / FTS5 (SQLite)
index: scoped before it is limited, so a 中心户 finds their own cases and never another's,
however many of those match."""

from __future__ import annotations

from mediation import search
from mediation.intake import PartyIntake, PartyRole
from tests.api.conftest import Api
from tests.rules import rule


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


@rule("R-NUMBER")
def test_a_whole_case_number_is_found_by_equality_for_every_role_in_scope(any_api: Api) -> None:
    api = any_api
    own = api.new_case()  # the committee's, routed to the 中心户's grid
    api.new_case()
    outside = _outside(api, "李四")
    number = _number(api, own, "mediator")  # （2026）枫源调字第0001号
    assert number.startswith("（")
    assert number.endswith("号")
    typed = [
        number,
        number.replace("（", "(").replace("）", ")"),  # half-width brackets
        f" {number[:6]} {number[6:]} ",  # spaces typed around and inside
        number.translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # full-width
    ]
    for text in typed:
        assert search.whole_number(text), text
        for user in ("mediator", "household", "supervisor", "admin"):
            assert _found(api, user, text) == [own], (user, text)
    far = _number(api, outside)
    assert _found(api, "household", far) == []  # out of scope: not found, even by equality
    assert _found(api, "mediator", far.replace("（", "(")) == []
    assert _found(api, "admin", far.replace("（", "(")) == [outside]
    # a whole number that is stored nowhere finds nothing, and no longer number holds it
    assert _found(api, "admin", number.replace("号", "0号")) == []


def test_fragments_of_a_case_number_stay_with_the_substring_search(any_api: Api) -> None:
    api = any_api
    first, second = api.new_case(), api.new_case()
    number = _number(api, second, "mediator")
    fragments = [number[:-1], number[1:], number[:6], number[-7:], "调字第0002"]
    for text in fragments:
        assert search.whole_number(text) == (), text
        assert second in _found_all(api, "mediator", text), text
    assert first not in _found_all(api, "mediator", number[-6:])


def test_numbers_of_a_pattern_without_brackets_are_searched_as_fragments(any_api: Api) -> None:
    api = any_api
    api.engine.number_pattern = "{year}-{seq}"  # "2026-1" is inside "2026-10"
    cases = [api.new_case() for _ in range(10)]
    assert _number(api, cases[0], "mediator") == "2026-1"
    assert search.whole_number("2026-1") == ()
    assert set(_found_all(api, "mediator", "2026-1")) == {cases[0], cases[9]}
    api.engine.number_pattern = "({year}){committee_abbr}调字第{seq:04d}号"  # half-width
    later = api.new_case()
    stored = _number(api, later, "mediator")
    assert stored.startswith("(")
    assert _found(api, "household", stored.replace("(", "（").replace(")", "）")) == [later]


def test_whole_number_spellings() -> None:
    full = "（2024）S0901调字第01286号"
    assert search.whole_number(full)[:2] == (full, "(2024)S0901调字第01286号")
    assert full in search.whole_number("〔2024〕S0901调字第01286号")
    assert full in search.whole_number("（２０２４）Ｓ０９０１调字第０１２８６号")
    for fragment in ("（2024）", "S0901调字第01286号", "（2024）S0901调字第0128", "2024-0012"):
        assert search.whole_number(fragment) == (), fragment
    params: dict[str, object] = {}
    assert search.matching("postgresql", full, params).startswith("c.number IN (")
    assert "search" not in params  # the trigram index is not read for a whole number


def _found_all(api: Api, user: str, text: str) -> list[int]:
    response = api.get(user, "/api/v1/cases", q=text, limit=50)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]
