"""Security headers on every response type: pages, API JSON, problems, the docs, the QR code's
verification page and refusals made before any route runs; no-store on tokens and PII."""

from __future__ import annotations

import httpx2 as httpx
import pydantic
import pytest
from fastapi.testclient import TestClient

from api.settings import Settings
from tests.api.conftest import Api


def _secure(response: httpx.Response) -> None:
    headers = response.headers
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy, response.url
    assert "unsafe-inline" not in policy.split("script-src", 1)[-1].split(";")[0]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_every_response_type_carries_the_security_headers(seeded: Api) -> None:
    api = seeded
    responses = [
        api.client.get("/docs"),
        api.client.get("/redoc"),
        api.client.get("/openapi.json"),
        api.client.get("/healthz"),
        api.client.get("/verify/1-agreement-1-00000000000000000000"),  # the QR code's page
        api.client.get("/api/v1/me"),  # 401 problem
        api.client.get("/nowhere"),  # 404 problem
        api.client.get("/api/v1/cases", params={"q": "\x00"}, headers=api.headers("mediator")),
        api.get("mediator", "/api/v1/cases"),
        api.login("mediator"),
    ]
    for response in responses:
        _secure(response)
    docs_policy = responses[0].headers["content-security-policy"]
    assert "script-src 'self'" in docs_policy  # nothing from a CDN


def test_tokens_and_pii_reads_are_never_cached(seeded: Api) -> None:
    api = seeded
    assert api.login("mediator").headers["cache-control"] == "no-store"
    case_id = api.cases["A"]
    revealed = api.get("mediator", f"/api/v1/cases/{case_id}/parties", reveal="true")
    assert revealed.status_code == 200
    assert revealed.headers["cache-control"] == "no-store"
    assert api.get("mediator", f"/api/v1/cases/{case_id}").headers["cache-control"] == "no-store"


def test_an_unexpected_500_carries_the_headers_too(api: Api) -> None:
    app = api.client.app

    @app.get("/api/v1/boom", include_in_schema=False)  # type: ignore[attr-defined,untyped-decorator]
    def boom() -> None:
        raise RuntimeError("a bug")

    client = TestClient(app, raise_server_exceptions=False)
    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    _secure(response)
    assert response.headers["cache-control"] == "no-store"


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    assert Settings(trusted_proxies=("10.0.0.0/8", "::1")).trusted_proxies
    with pytest.raises(pydantic.ValidationError, match="不是地址或网段"):
        Settings(trusted_proxies=("proxy.example",))
