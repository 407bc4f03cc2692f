"""Browser tests' machinery: the app served by uvicorn on a free loopback port (on the test's
own database, SQLite or PostgreSQL), and Debian's Chromium driven by Playwright. No browser
is ever downloaded: Chromium is /usr/bin/chromium (packages chromium, chromium-driver)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Route,
    ViewportSize,
    sync_playwright,
)

from engine.calendar import SHANGHAI
from tests.net import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SMALL_PHONE: ViewportSize = {"width": 360, "height": 740}  # the narrowest the pages support
PHONE: ViewportSize = {"width": 390, "height": 844}
DESK: ViewportSize = {"width": 1280, "height": 900}


@dataclass
class Served:
    url: str
    server: uvicorn.Server
    thread: threading.Thread


def serve(app: FastAPI) -> Iterator[Served]:
    """The app on 127.0.0.1:<free port> in a thread until the test ends; its lifespan has
    already run (the TestClient of the `api` fixture started it)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    assert httpx.get(f"{url}/healthz").status_code == 200
    try:
        yield Served(url, server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def launch() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            "Chromium is missing: run `make install` (Debian packages chromium, chromium-driver)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Browser, base_url: str, viewport: ViewportSize) -> BrowserContext:
    context = browser.new_context(
        base_url=base_url, viewport=viewport, locale="zh-CN", timezone_id=SHANGHAI.key
    )
    context.set_default_timeout(15_000)
    return context


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot into test-artifacts/ (git-ignored), named with its width."""
    ARTIFACTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    path = ARTIFACTS / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def under_strict_csp(context: BrowserContext) -> list[str]:
    """Serve every page with a Content-Security-Policy of 'self' only (what the security
    middleware sets) and collect what the browser refuses: the pages must need nothing else."""
    refused: list[str] = []

    def add_header(route: Route) -> None:
        if route.request.resource_type != "document":
            route.continue_()
            return
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": STRICT_CSP}
        route.fulfill(response=response, headers=headers)

    context.route("**/*", add_header)
    context.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused
