"""Writes in scope at registration (R-REGISTER): the committee, the grid the parties' addresses
route to, an org unit named explicitly and a referring court are each the writer's to name;
a refused registration writes nothing and takes no number from any committee's series."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.api.conftest import Api, foreign_parties


def _register(api: Api, user: str, **overrides: Any) -> Any:
    body = api.world.intake().model_dump(mode="json")
    body.update(overrides)
    return api.client.post("/api/v1/cases", json=body, headers=api.headers(user))


def _counts(api: Api) -> tuple[int, int]:
    with api.engine.db.engine.connect() as connection:
        cases = connection.execute(sa.text("SELECT COUNT(*) FROM cases")).scalar_one()
        parties = connection.execute(sa.text("SELECT COUNT(*) FROM parties")).scalar_one()
    return int(cases), int(parties)


def _refused(response: Any, status: int, code: str) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), response.text


def test_r_register_a_household_reports_only_to_a_committee_serving_its_grid(
    any_api: Api,
) -> None:
    api = any_api
    before = _counts(api)
    far = api.world.units["far_committee"]
    _refused(_register(api, "household", committee_id=far), 403, "out_of_scope")
    community = api.world.units["community"]
    _refused(_register(api, "household", org_unit_id=community), 403, "out_of_scope")
    assert _counts(api) == before
    # the far committee's series was not touched: its first case still gets number 1
    created = _register(
        api,
        "far_mediator",
        committee_id=far,
        parties=[p.model_dump(mode="json") for p in foreign_parties()],
    )
    assert created.status_code == 201, created.text
    assert created.json()["number"].endswith("第0001号")
    own = _register(api, "household")  # its own community's committee
    assert own.status_code == 201, own.text
    assert own.json()["grid_id"] == api.world.units["grid"]


def _far_grid(api: Api, address: str) -> int:
    """A grid of the far district with a household at `address` (no 中心户)."""
    far = api.world.units["far_district"]
    with api.engine.db.engine.begin() as connection:
        grid = connection.execute(
            sa.text(
                "INSERT INTO org_units (kind, name, short_name, parent_id, path, address) "
                "VALUES ('grid', '远山县第一网格', '', :far, '', '') RETURNING id"
            ),
            {"far": far},
        ).scalar_one()
        connection.execute(
            sa.text("UPDATE org_units SET path = :path WHERE id = :id"),
            {"path": f"/{far}/{grid}/", "id": grid},
        )
        connection.execute(
            sa.text(
                "INSERT INTO households (grid_id, address, head_name) VALUES (:grid, :address, '')"
            ),
            {"grid": grid, "address": address},
        )
    return int(grid)


def test_r_register_a_mediator_cannot_route_a_case_into_another_committees_grid(
    any_api: Api,
) -> None:
    api = any_api
    grid = _far_grid(api, "远山县远山村1号")
    before = _counts(api)
    parties = api.world.intake().model_dump(mode="json")["parties"]
    parties[0]["address"] = "远山县远山村1号"  # routes the case into the far district's grid
    refused = _register(api, "mediator", parties=parties)
    _refused(refused, 403, "out_of_scope")
    assert refused.json()["unit_id"] == grid
    far = api.world.units["far_committee"]
    _refused(_register(api, "mediator", committee_id=far), 403, "out_of_scope")
    assert _counts(api) == before


def test_r_jc_package_only_a_mediator_names_a_referring_court_and_it_is_a_court(
    any_api: Api,
) -> None:
    api = any_api
    before = _counts(api)
    court = api.world.units["court"]
    referral = {"spec_id": "court_referral", "origin": "court_delegated"}
    _refused(_register(api, "household", referring_court_id=court, **referral), 403, "forbidden")
    committee = api.world.units["committee"]
    _refused(
        _register(api, "mediator", referring_court_id=committee, **referral),
        422,
        "invalid_input",
    )
    _refused(_register(api, "mediator", referring_court_id=court), 422, "invalid_input")
    assert _counts(api) == before
    created = _register(api, "mediator", referring_court_id=court, **referral)
    assert created.status_code == 201, created.text
    judge_reveal = api.get("judge", f"/api/v1/cases/{created.json()['id']}/parties", reveal="true")
    assert judge_reveal.status_code == 200  # the referring court reads the parties' IDs
