"""Input hygiene at the boundary, in one place (api/hygiene.py): control characters and bidi
controls refused with a 422 in every text field and query parameter, ID numbers' birth dates
and province codes checked (R-ID), usernames unique in any letter case, memberships in the
right kind of unit, bodies limited before parsing, and any malformed token a 401; on SQLite and
PostgreSQL (where a NUL byte used to reach the database and give a 500)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.hygiene import check_text, text_problem
from api.keys import load_token_key
from engine.errors import InvalidInput
from mediation.models import METADATA
from tests.api.conftest import PASSWORD, Api

BAD_TEXT = ["王\x00秀英", "王\x07秀英", "\u202e英秀王", "王\u2066秀英", "王\x9b秀英"]


def _register(api: Api, **overrides: Any) -> Any:
    body = api.world.intake().model_dump(mode="json")
    body.update(overrides)
    return api.client.post("/api/v1/cases", json=body, headers=api.headers("mediator"))


def _party(api: Api, index: int, **changes: Any) -> list[dict[str, Any]]:
    parties: list[dict[str, Any]] = api.world.intake().model_dump(mode="json")["parties"]
    parties[index].update(changes)
    return parties


def _cases(api: Api) -> int:
    with api.engine.db.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT COUNT(*) FROM cases")).scalar_one())


def _is_422(response: Any, field: str | None = None) -> None:
    assert response.status_code == 422, response.text
    if field is not None:
        assert field in json.dumps(response.json(), ensure_ascii=False), response.text


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_text_with_control_or_bidi_characters_is_refused(bad: str) -> None:
    assert text_problem(bad) is not None
    with pytest.raises(InvalidInput):
        check_text(bad, field="name")
    assert check_text("第一行\n第二行\t甲", field="summary") == "第一行\n第二行\t甲"


def test_control_characters_are_422_in_every_text_field_and_query(any_api: Api) -> None:
    api = any_api
    _is_422(_register(api, parties=_party(api, 0, name="王\x00秀英")), "parties.0.name")
    _is_422(_register(api, summary="滴水\x00纠纷"), "summary")
    _is_422(_register(api, parties=_party(api, 1, address="枫源村\x00")), "address")
    _is_422(_register(api, category_code="neighbour\x00"), "category_code")
    _is_422(_register(api, parties=_party(api, 0, name="\u202e英秀王\x07")), "name")
    assert _cases(api) == 0
    for params in ({"q": "顾\x00丽华"}, {"state": "intake\x00"}, {"category": "\x00"}):
        _is_422(api.client.get("/api/v1/cases", params=params, headers=api.headers("mediator")))
    login = api.client.post(
        "/api/v1/auth/token", data={"username": "admin\x00", "password": PASSWORD}
    )
    _is_422(login, "username")
    created = api.client.post(
        "/api/v1/users",
        json={
            "username": "new_user",
            "display_name": "新\x00用户",
            "password": "long enough password",
            "memberships": [{"org_unit_id": api.world.units["grid"], "role": "central_household"}],
        },
        headers=api.headers("admin"),
    )
    _is_422(created, "display_name")


def test_r_id_birth_dates_and_province_codes_are_checked(api: Api) -> None:
    _is_422(_register(api, parties=_party(api, 0, birth_date="0001-01-01")), "birth_date")
    _is_422(_register(api, parties=_party(api, 0, birth_date="2099-01-01")), "birth_date")
    body = "000000" + "19800101" + "001"
    region_zero = body + _check(body)
    refused = _register(api, parties=_party(api, 0, id_number=region_zero))
    assert (refused.status_code, refused.json()["reason"]) == (422, "region")
    body = "110105" + "21000101" + "001"
    future = _register(api, parties=_party(api, 0, id_number=body + _check(body)))
    assert (future.status_code, future.json()["reason"]) == (422, "birth_date")
    assert _cases(api) == 0
    # DOMAIN.md's R-ID vectors still pass, 1880 and a county code no table lists included
    for vector in ("440524188001010014", "34052419800101001X"):
        parties = _party(api, 0, id_number=vector, sex=None, birth_date=None)
        assert _register(api, parties=parties).status_code == 201, vector


def _check(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def _new_user(api: Api, username: str, role: str, unit: str) -> Any:
    return api.client.post(
        "/api/v1/users",
        json={
            "username": username,
            "display_name": "新用户",
            "password": "long enough password",
            "memberships": [{"org_unit_id": api.world.units[unit], "role": role}],
        },
        headers=api.headers("admin"),
    )


def test_usernames_are_unique_in_any_letter_case_and_roles_sit_in_their_kind_of_unit(
    api: Api,
) -> None:
    _is_422(_new_user(api, "ADMIN", "mediator", "committee"), "username")
    _is_422(_new_user(api, "judge_grid", "judge", "grid"), "memberships.0")
    _is_422(_new_user(api, "household_court", "central_household", "court"), "memberships.0")
    assert _new_user(api, "judge_new", "judge", "court").status_code == 201


def test_a_json_body_over_the_limit_is_refused_before_it_is_read(api: Api) -> None:
    huge = b'{"summary": "' + b"x" * (2**20 + 10) + b'"}'
    response = api.client.post(
        "/api/v1/cases",
        content=huge,
        headers={**api.headers("mediator"), "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (413, "request_too_large")

    def chunks() -> Any:  # no Content-Length: counted while reading
        for _ in range(20):
            yield b"x" * 2**16

    streamed = api.client.post(
        "/api/v1/cases",
        content=chunks(),
        headers={**api.headers("mediator"), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413


def _forge(key: bytes, claims: dict[str, Any] | str) -> str:
    raw = claims if isinstance(claims, str) else json.dumps(claims)
    body = base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()
    mac = hmac.new(key, f"v1.{body}".encode(), hashlib.sha256).digest()
    return f"v1.{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_malformed_tokens_of_any_kind_are_401(api: Api, tmp_path: Path) -> None:
    key = load_token_key(tmp_path / "keys" / "token.key")  # the app's own key: signed tokens
    user = api.world.users["mediator"]
    tokens = [
        _forge(key, '{"sub": ' + str(user) + ', "iat": 1, "exp": 1e400}'),
        _forge(key, {"sub": user, "iat": 1, "exp": 1.5e12}),
        _forge(key, {"sub": True, "iat": 1, "exp": 10**30}),
        _forge(key, {"sub": [user], "iat": 1, "exp": 10**12}),
        _forge(key, "not json"),
        "v1.abc.é签名",
        "v1." + "a" * 5000 + ".b",
    ]
    for token in tokens:
        header = f"Bearer {token}".encode()  # latin-1 or UTF-8 bytes, as a client may send
        response = api.client.get("/api/v1/me", headers={b"Authorization": header})
        assert response.status_code == 401, (token[:60], response.text)


def test_the_database_itself_refuses_a_second_account_differing_only_in_case(
    any_sa_engine: sa.Engine,
) -> None:
    """Two creations racing past the API's check: the unique index on lower(username)
    lets exactly one through, on SQLite and PostgreSQL alike."""
    users = METADATA.tables["users"]
    with any_sa_engine.begin() as connection:
        connection.execute(users.insert().values(username="Wang_Li", display_name="王丽"))
    with pytest.raises(sa.exc.IntegrityError, match="username"), any_sa_engine.begin() as db:
        db.execute(users.insert().values(username="wang_li", display_name="王丽"))
    with any_sa_engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM users")).scalar_one()
    assert count == 1
