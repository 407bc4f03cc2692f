"""Pages for people: server-rendered Jinja2 (htmx for partial updates), the static files they
use (front-end libraries from npm, copied by `make install`, served by the app itself: no CDN),
and the API documentation pages with local assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.web import pages
from api.web.templating import templates

STATIC = Path(__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    """Static files, /docs and /redoc (local assets, no inline script), and the pages."""
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(templates().get_template("docs/swagger.html").render())

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(templates().get_template("docs/redoc.html").render())

    pages.include(app)
