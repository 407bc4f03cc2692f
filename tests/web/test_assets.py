"""What the pages may load: their own files only (no CDN), no inline script, no inline
handler or style (a Content-Security-Policy of 'self' allows nothing else), and under
150 KB of JavaScript per page, gzipped."""

from __future__ import annotations

import gzip
import re

import pytest

from tests.api.conftest import Api
from tests.web.conftest import Pages
from tests.web.test_signing import case_at_signing

JS_BUDGET = 150 * 1024
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


@pytest.fixture
def rendered(api: Api) -> dict[str, str]:
    signing = case_at_signing(api)
    pages = Pages(api).sign_in("mediator")
    paths = {
        "desk": "/",
        "cases": "/cases",
        "case": f"/cases/{signing}",
        "intake": "/cases/new",
        "action": f"/cases/{api.new_case()}/act/record_consent",
        "sign": f"/cases/{signing}/sign?party=1",
        "verify": "/verify",
        "login": "/login",
        "docs": "/docs",
        "redoc": "/redoc",
    }
    found = {}
    for name, path in paths.items():
        response = pages.client.get(path)
        assert response.status_code == 200, (name, response.text[:300])
        found[name] = response.text
    return found


def test_pages_have_no_inline_script_handler_or_style(rendered: dict[str, str]) -> None:
    for name, html in rendered.items():
        for attributes, body in _SCRIPT.findall(html):
            assert "src=" in attributes, (name, attributes)
            assert not body.strip(), (name, body[:80])
        assert not re.search(r"\son[a-z]+\s*=", html), name
        assert not re.search(r"\sstyle\s*=", html), name
        assert "<style" not in html, name
        # everything loaded comes from this server: no CDN
        assert not re.search(r"<(script|img|link|iframe)\b[^>]*(src|href)=\"(https?:)?//", html), (
            name
        )


def test_each_page_loads_under_150_kb_of_javascript_gzipped(
    rendered: dict[str, str], api: Api
) -> None:
    for name, html in rendered.items():
        if name in ("docs", "redoc"):  # the API documentation, not a page for people
            continue
        total = 0
        for src in re.findall(r'<script[^>]*\ssrc="([^"]+)"', html):
            body = api.client.get(src)
            assert body.status_code == 200, src
            total += len(gzip.compress(body.content))
        assert total < JS_BUDGET, (name, total)
