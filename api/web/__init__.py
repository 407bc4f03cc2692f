"""Pages for people: server-rendered Jinja2 (htmx for partial updates), the static files they
use (front-end libraries from npm, copied by `make install`, served by the app itself: no CDN),
and the API documentation pages with local assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import errors
from api.web import pages
from api.web.session import error_page
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

    async def on_http_error(request: Request, exc: Exception) -> Response:
        """A browser asking for a page that is not there gets the 404 page; API clients (and
        anything under /api) keep their problem+json."""
        assert isinstance(exc, StarletteHTTPException)
        wants_page = "text/html" in request.headers.get("accept", "")
        if wants_page and not request.url.path.startswith("/api/") and exc.status_code == 404:
            return error_page(
                request, 404, "找不到这个页面", "您要找的案件或页面不存在，或不在您的办理范围内。"
            )
        return errors.http_error_response(request, exc)

    app.add_exception_handler(StarletteHTTPException, on_http_error)
