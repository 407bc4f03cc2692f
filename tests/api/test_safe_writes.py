"""Safe writes: Idempotency-Key replays, optimistic concurrency through the case version
(If-Match / expected_version), parallel fires, and the login rate limit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api import idempotency
from api.app import create_app
from api.errors import IdempotencyInProgress
from api.settings import Settings
from engine.models.delivery import IdempotencyRecord
from engine.repository.idempotency import IdempotencyKeys
from tests.api.conftest import PASSWORD, Api


def _count_cases(api: Api) -> int:
    with api.engine.db.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM cases")).scalar_one())


def test_a_retried_intake_creates_one_case(any_api: Api) -> None:
    api = any_api
    body = api.world.intake().model_dump(mode="json")
    headers = api.headers("mediator", **{"Idempotency-Key": "intake-7f3a"})
    first = api.client.post("/api/v1/cases", json=body, headers=headers)
    again = api.client.post("/api/v1/cases", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert _count_cases(api) == 1


def test_idempotency_keys_are_scoped_per_user(api: Api) -> None:
    body = api.world.intake().model_dump(mode="json")
    for user in ("mediator", "household"):
        headers = api.headers(user, **{"Idempotency-Key": "same-key"})
        assert api.client.post("/api/v1/cases", json=body, headers=headers).status_code == 201
    assert _count_cases(api) == 2


def test_a_reused_key_with_another_request_is_refused(api: Api) -> None:
    headers = api.headers("mediator", **{"Idempotency-Key": "k"})
    body = api.world.intake().model_dump(mode="json")
    assert api.client.post("/api/v1/cases", json=body, headers=headers).status_code == 201
    other = {**body, "summary": "另一起纠纷"}
    response = api.client.post("/api/v1/cases", json=other, headers=headers)
    assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_reused")
    assert _count_cases(api) == 1


def test_a_failed_request_releases_its_key(api: Api) -> None:
    headers = api.headers("mediator", **{"Idempotency-Key": "retry-me"})
    body = api.world.intake(category_code="neighbour").model_dump(mode="json")
    bad = {**body, "risk_level": "purple"}
    response = api.client.post("/api/v1/cases", json=bad, headers=headers)
    assert (response.status_code, response.json()["field"]) == (422, "risk_level")
    headers = api.headers("mediator", **{"Idempotency-Key": "retry-me-2"})
    assert api.client.post("/api/v1/cases", json=body, headers=headers).status_code == 201


def test_concurrent_retries_of_one_intake_create_one_case(api: Api) -> None:
    body = api.world.intake().model_dump(mode="json")
    headers = api.headers("mediator", **{"Idempotency-Key": "burst"})
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda _: api.client.post("/api/v1/cases", json=body, headers=headers).status_code,
                range(8),
            )
        )
    assert _count_cases(api) == 1
    assert set(statuses) <= {201, 409}  # 409: the first is still running, retry later
    assert 201 in statuses


def test_a_key_left_by_a_request_that_died_is_taken_over_after_a_while(
    any_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that dies after claiming a key and before its work commits leaves the key
    pending; the work and its stored response commit together, so a pending key means the
    work was not done, and a retry may take the key over once the claim is stale."""
    api = any_api
    body = api.world.intake().model_dump(mode="json")
    headers = api.headers("mediator", **{"Idempotency-Key": "flaky-phone"})

    def dies(*_: object, **__: object) -> None:
        raise RuntimeError("the process died here")

    with monkeypatch.context() as patch:  # no clean-up runs when a process dies
        patch.setattr(IdempotencyKeys, "release", lambda *_: None)
        patch.setattr(api.engine, "open_case", dies)
        with pytest.raises(RuntimeError):
            api.client.post("/api/v1/cases", json=body, headers=headers)
    waiting = api.client.post("/api/v1/cases", json=body, headers=headers)
    assert (waiting.status_code, waiting.json()["code"]) == (409, "idempotency_in_progress")
    api.clock.set(api.clock.now() + idempotency.STALE_CLAIM)
    retried = api.client.post("/api/v1/cases", json=body, headers=headers)
    assert retried.status_code == 201
    again = api.client.post("/api/v1/cases", json=body, headers=headers)
    assert (again.json()["id"], again.headers["idempotent-replayed"]) == (
        retried.json()["id"],
        "true",
    )
    assert _count_cases(api) == 1


def test_a_request_whose_key_was_taken_over_undoes_its_work(any_api: Api) -> None:
    api = any_api
    case_id = api.new_case()
    table = IdempotencyRecord.__table__  # type: ignore[attr-defined]

    def work(claim: idempotency.Claim | None) -> idempotency.StoredReply:
        assert claim is not None
        with api.engine.db.engine.begin() as connection:  # a retry takes the key over now
            connection.execute(
                table.update().values(created_at=claim.claimed_at + timedelta(seconds=1))
            )
        respond = idempotency.Responder(
            claim, lambda _, result: idempotency.StoredReply(200, {"version": result.version})
        )
        api.engine.fire(
            case_id, "reassess_risk", api.world.actors["mediator"], 1,
            {"risk_level": "yellow"}, "复核", within=respond,
        )  # fmt: skip
        return respond.response()

    with pytest.raises(IdempotencyInProgress):
        idempotency.run_once(
            api.engine,
            user_id=api.world.users["mediator"],
            key="slow",
            request_fingerprint="f",
            keep=timedelta(hours=1),
            work=work,
            atomic=True,
        )
    assert api.version(case_id) == 1  # the fire and the response went together: neither


def test_parallel_fires_on_one_case_exactly_one_wins(any_api: Api) -> None:
    api = any_api
    case_id = api.client.post(
        "/api/v1/cases",
        json=api.world.intake().model_dump(mode="json"),
        headers=api.headers("mediator"),
    ).json()["id"]
    headers = api.headers("mediator", **{"If-Match": '"1"'})

    def fire(n: int) -> int:
        body = {
            "trigger": "reassess_risk",
            "payload": {"risk_level": "yellow"},
            "reason": f"复核{n}",
        }
        response = api.client.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=headers)
        if response.status_code == 409:
            assert response.json()["current_version"] == 2
            assert response.headers["etag"] == '"2"'
        return response.status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(fire, range(8)))
    assert statuses == [200] + [409] * 7
    assert api.version(case_id) == 2


def test_a_retried_fire_with_its_key_is_not_a_conflict(api: Api) -> None:
    case_id = api.client.post(
        "/api/v1/cases",
        json=api.world.intake().model_dump(mode="json"),
        headers=api.headers("mediator"),
    ).json()["id"]
    headers = api.headers("mediator", **{"If-Match": '"1"', "Idempotency-Key": "fire-1"})
    body = {"trigger": "reassess_risk", "payload": {"risk_level": "yellow"}, "reason": "复核"}
    first = api.client.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=headers)
    again = api.client.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert api.version(case_id) == 2


@pytest.mark.parametrize(
    ("if_match", "body_version", "status", "code"),
    [
        (None, None, 428, "version_required"),
        ('"1"', 2, 422, "invalid_input"),
        ("*", None, 422, "invalid_input"),
        ('W/"1"', None, 200, None),
        (None, 1, 200, None),
        ('"7"', None, 409, "concurrent_update"),
    ],
)
def test_writes_name_the_version_they_saw(
    api: Api, if_match: str | None, body_version: int | None, status: int, code: str | None
) -> None:
    case_id = api.client.post(
        "/api/v1/cases",
        json=api.world.intake().model_dump(mode="json"),
        headers=api.headers("mediator"),
    ).json()["id"]
    extra = {"If-Match": if_match} if if_match else {}
    body = {
        "trigger": "reassess_risk",
        "payload": {"risk_level": "yellow"},
        "reason": "复核",
        "expected_version": body_version,
    }
    response = api.client.post(
        f"/api/v1/cases/{case_id}/actions", json=body, headers=api.headers("mediator", **extra)
    )
    assert response.status_code == status, response.text
    if code:
        assert response.json()["code"] == code
        assert response.headers["content-type"] == "application/problem+json"


def test_login_is_rate_limited_per_username_and_address(api: Api) -> None:
    for _ in range(5):
        response = api.login("mediator", "wrong password")
        assert (response.status_code, response.json()["code"]) == (401, "invalid_credentials")
    limited = api.login("mediator")  # even the right password waits now
    assert limited.status_code == 429
    assert limited.json()["code"] == "too_many_login_attempts"
    assert int(limited.headers["retry-after"]) > 0
    assert "秒后再试" in limited.json()["detail"]
    assert api.login("household").status_code == 200  # other usernames are not affected


def test_every_worker_counts_the_same_failures_until_the_window_passes(
    api: Api, tmp_path: Path
) -> None:
    # a second app on the same database is what a second worker process is
    other_app = create_app(Settings(data_dir=tmp_path), api.engine)
    with TestClient(other_app) as other:
        for client in (api.client, other, api.client, other, api.client):
            wrong = client.post(
                "/api/v1/auth/token", data={"username": "Mediator", "password": "wrong"}
            )
            assert wrong.status_code == 401
        for client in (api.client, other):
            right = client.post(
                "/api/v1/auth/token", data={"username": "mediator", "password": PASSWORD}
            )
            assert right.status_code == 429  # five failures in all, whichever worker saw them
            assert 290 <= int(right.headers["retry-after"]) <= 300
    api.clock.set(api.clock.now() + timedelta(seconds=301))
    assert api.login("mediator").status_code == 200
    for _ in range(4):
        assert api.login("mediator", "wrong").status_code == 401
    assert api.login("mediator").status_code == 200  # a success clears the count
    assert api.login("mediator", "wrong").status_code == 401
    assert api.login("mediator").status_code == 200


def test_parallel_guesses_cannot_all_pass_the_limit(any_api: Api) -> None:
    api = any_api  # on PostgreSQL too: attempts for one name and address are taken in turn
    form = {"username": "mediator", "password": "guess"}
    with ThreadPoolExecutor(12) as pool:
        statuses = list(
            pool.map(
                lambda _: api.client.post("/api/v1/auth/token", data=form).status_code,
                range(12),
            )
        )
    assert sorted(statuses) == [401] * 5 + [429] * 7


def test_unknown_users_and_bad_tokens_are_401(api: Api) -> None:
    assert api.login("nobody").json()["code"] == "invalid_credentials"
    token = api.login("mediator").json()["access_token"]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
