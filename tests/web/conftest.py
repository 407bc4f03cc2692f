"""Fixtures for the pages: the API's test world, and a browser-like client that signs in
through the sign-in form and sends each form's CSRF token as a browser would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser

from tests.api.conftest import PASSWORD, Api, api, seeded
from tests.web.browser import Served, launch, serve

__all__ = ["Pages", "api", "browser", "pages", "seeded", "served"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Pages:
    """One browser session on the app: its cookies, the last page's CSRF token."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.client = api.client

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params, follow_redirects=False)

    def token(self, path: str = "/login") -> str:
        found = _CSRF.search(self.client.get(path).text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def post(self, path: str, data: dict[str, Any], *, from_page: str = "/login") -> httpx.Response:
        body = {"csrf_token": self.token(from_page), **data}
        return self.client.post(path, data=body, follow_redirects=False)

    def sign_in(self, username: str) -> Pages:
        self.client.cookies.clear()
        response = self.post("/login", {"username": username, "password": PASSWORD})
        assert response.status_code == 303, response.text
        return self


@pytest.fixture
def pages(api: Api) -> Pages:
    return Pages(api)


@pytest.fixture
def served(api: Api) -> Iterator[Served]:
    """The test world's app on a real loopback port, for the browser."""
    yield from serve(api.client.app)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()
