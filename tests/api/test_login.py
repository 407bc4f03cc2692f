"""Login: X-Forwarded-For is believed only from FENGQIAO_TRUSTED_PROXIES, the limit also holds
per username across addresses, and correct logins are never refused for the attempts of
others running at the same time (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import client_address, parse_networks
from api.settings import Settings
from tests.api.conftest import PASSWORD, Api


@pytest.fixture
def behind_proxy(api: Api, tmp_path: Path) -> Iterator[TestClient]:
    """The same database served by an app that trusts the proxy at 10.0.0.2."""
    app = create_app(Settings(data_dir=tmp_path, trusted_proxies=("10.0.0.2/32",)), api.engine)
    with TestClient(app, client=("10.0.0.2", 40000)) as client:
        yield client


def _login(client: TestClient, password: str, forwarded: str | None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(
        "/api/v1/auth/token",
        data={"username": "mediator", "password": password},
        headers=headers,
    )


def test_forwarded_for_from_an_untrusted_peer_does_not_reset_the_limit(
    api: Api, tmp_path: Path
) -> None:
    app = create_app(Settings(data_dir=tmp_path), api.engine)  # no trusted proxies
    with TestClient(app, client=("127.0.0.1", 40000)) as local:
        for n in range(12):
            wrong = _login(local, "wrong", f"203.0.113.{n}")
            assert wrong.status_code == (401 if n < 5 else 429)
        assert _login(local, PASSWORD, "198.51.100.7").status_code == 429


def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    api: Api, behind_proxy: TestClient
) -> None:
    for _ in range(5):
        assert _login(behind_proxy, "wrong", "203.0.113.5").status_code == 401
    assert _login(behind_proxy, PASSWORD, "203.0.113.5").status_code == 429
    # another client behind the same proxy is not locked out by the first one's failures
    assert _login(behind_proxy, PASSWORD, "198.51.100.7, 10.0.0.2").status_code == 200
    del api


def test_the_limit_holds_per_username_across_addresses(api: Api, behind_proxy: TestClient) -> None:
    for n in range(20):  # four addresses' worth of failures each, 20 in all
        response = _login(behind_proxy, "wrong", f"203.0.113.{n // 4}")
        assert response.status_code == 401, n
    assert _login(behind_proxy, "wrong", "192.0.2.1").status_code == 429
    assert _login(behind_proxy, PASSWORD, "192.0.2.99").status_code == 429
    assert api.login("household").status_code == 200  # other usernames are not affected


def test_correct_simultaneous_logins_all_get_in(any_api: Api) -> None:
    api = any_api
    form = {"username": "mediator", "password": PASSWORD}
    with ThreadPoolExecutor(20) as pool:
        statuses = list(
            pool.map(
                lambda _: api.client.post("/api/v1/auth/token", data=form).status_code,
                range(20),
            )
        )
    assert statuses == [200] * 20


def test_client_address_takes_the_rightmost_untrusted_hop() -> None:
    trusted = parse_networks(["10.0.0.0/8", "::1"])
    assert client_address("10.0.0.2", "1.1.1.1, 2.2.2.2, 10.0.0.3", trusted) == "2.2.2.2"
    assert client_address("192.0.2.1", "1.1.1.1", trusted) == "192.0.2.1"
    assert client_address("10.0.0.2", "not-an-ip", trusted) == "10.0.0.2"
    assert client_address("10.0.0.2", None, trusted) == "10.0.0.2"
    assert client_address(None, "1.1.1.1", trusted) == "unknown"
