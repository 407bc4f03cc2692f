"""Sessions: an administrator disables a user, resets a password or changes roles, a user
changes their own password; each revokes that user's tokens at once on every worker (the
token epoch is read on every request), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import PASSWORD, Api


@pytest.fixture
def other_worker(any_api: Api, tmp_path: Path) -> Iterator[TestClient]:
    """A second app on the same database: a second worker process, with its own 30 s cache."""
    app = create_app(Settings(data_dir=tmp_path, actor_cache_seconds=30), any_api.engine)
    with TestClient(app) as client:
        yield client


def _me(client: TestClient, token: str) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _token(api: Api, username: str, password: str = PASSWORD) -> str:
    response = api.login(username, password)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_a_disabled_users_token_stops_at_once_on_every_worker(
    any_api: Api, other_worker: TestClient
) -> None:
    api = any_api
    token = _token(api, "mediator")
    assert _me(other_worker, token) == 200  # cached there now
    user = api.world.users["mediator"]
    refused = api.client.post(f"/api/v1/users/{user}/disable", headers=api.headers("household"))
    assert refused.status_code == 403
    disabled = api.client.post(f"/api/v1/users/{user}/disable", headers=api.headers("admin"))
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["active"] is False
    assert _me(other_worker, token) == 401
    assert _me(api.client, token) == 401
    assert api.login("mediator").status_code == 401
    enabled = api.client.post(f"/api/v1/users/{user}/enable", headers=api.headers("admin"))
    assert enabled.status_code == 200
    assert _me(other_worker, token) == 401  # the old token stays revoked
    assert _me(other_worker, _token(api, "mediator")) == 200


def test_an_admin_password_reset_revokes_the_users_tokens(
    any_api: Api, other_worker: TestClient
) -> None:
    api = any_api
    token = _token(api, "household")
    assert _me(other_worker, token) == 200
    user = api.world.users["household"]
    reset = api.client.post(
        f"/api/v1/users/{user}/password",
        json={"new_password": "a new long password"},
        headers=api.headers("admin"),
    )
    assert reset.status_code == 204, reset.text
    assert _me(other_worker, token) == 401
    assert api.login("household").status_code == 401
    assert _me(other_worker, _token(api, "household", "a new long password")) == 200


def test_changing_ones_own_password_ends_every_other_session(
    any_api: Api, other_worker: TestClient
) -> None:
    api = any_api
    first = _token(api, "judge")
    second = _token(api, "judge")
    assert _me(other_worker, second) == 200
    wrong = api.client.post(
        "/api/v1/me/password",
        json={"current_password": "not it", "new_password": "a new long password"},
        headers={"Authorization": f"Bearer {first}"},
    )
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
    changed = api.client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "a new long password"},
        headers={"Authorization": f"Bearer {first}"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["cache-control"] == "no-store"
    assert _me(other_worker, second) == 401
    assert _me(other_worker, first) == 401
    assert _me(other_worker, changed.json()["access_token"]) == 200
    assert api.login("judge").status_code == 401


def test_a_role_change_revokes_the_token_and_the_next_login_sees_the_new_roles(
    any_api: Api, other_worker: TestClient
) -> None:
    api = any_api
    token = _token(api, "mediator3")
    assert _me(other_worker, token) == 200
    user = api.world.users["mediator3"]
    body = {"memberships": [{"org_unit_id": api.world.units["court"], "role": "mediator"}]}
    wrong_kind = api.client.put(
        f"/api/v1/users/{user}/memberships", json=body, headers=api.headers("admin")
    )
    assert wrong_kind.status_code == 422  # a mediator sits in a committee or room
    body = {"memberships": [{"org_unit_id": api.world.units["court"], "role": "court_clerk"}]}
    changed = api.client.put(
        f"/api/v1/users/{user}/memberships", json=body, headers=api.headers("admin")
    )
    assert changed.status_code == 200, changed.text
    assert _me(other_worker, token) == 401
    fresh = _token(api, "mediator3")
    me = other_worker.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).json()
    assert me["roles"] == ["court_clerk"]


def test_logging_out_revokes_that_token_on_every_worker_and_no_other(
    any_api: Api, other_worker: TestClient
) -> None:
    api = any_api
    phone, desk = _token(api, "mediator"), _token(api, "mediator")
    assert _me(other_worker, phone) == _me(other_worker, desk) == 200  # cached there now
    out = api.client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {phone}"})
    assert out.status_code == 204
    assert _me(api.client, phone) == 401
    assert _me(other_worker, phone) == 401  # the revocation is in the database, not a cache
    assert _me(api.client, desk) == _me(other_worker, desk) == 200  # the other session goes on
    again = api.client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {phone}"})
    assert again.status_code == 401


def test_the_tick_forgets_a_revocation_once_its_token_has_expired(any_api: Api) -> None:
    from datetime import UTC, datetime, timedelta

    from api.scheduler import Ticker
    from engine.timers import TimerService

    api = any_api
    token = _token(api, "mediator")
    api.client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    ticker = Ticker(
        api.engine, timers=TimerService(api.engine), dispatcher=None, calendar_dir=Path("/none")
    )

    def revoked() -> int:
        with api.engine.db.transaction(write=False) as tx:
            row = tx.one("SELECT COUNT(*) FROM revoked_sessions")
        return int(row[0]) if row else 0

    now = datetime.now(UTC)  # tokens expire on the signer's clock: the real one
    ticker.tick(now)  # the token would still be good: the row stays
    assert revoked() == 1
    assert _me(api.client, token) == 401
    ticker.tick(now + timedelta(days=2))
    assert revoked() == 0
