"""Who is signed in to the pages, and the CSRF check of every form.

The session cookie carries the same signed token the API issues (api/auth.py TokenSigner) and
is checked by the same dependency as a bearer token (api.deps.current_principal), so expiry,
deactivation and revocation hold alike for the API and the pages. The cookie is HttpOnly,
SameSite=Lax and Secure over HTTPS. Forms carry a CSRF token that must equal the `fq_csrf`
cookie (double submit); a page sets that cookie when the browser has none.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.datastructures import FormData

from api.authz import Principal
from api.deps import current_principal
from api.errors import DocumentNotFound, Forbidden, NotAuthenticated, PiiNotPermitted
from api.web.nav import nav_for
from api.web.templating import render
from documents import DocumentError
from engine.errors import CaseNotFound, EngineError, NotFound, OutOfScope, RoleNotPermitted

SESSION_COOKIE = "fq_session"
CSRF_COOKIE = "fq_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class CsrfRefused(Exception):
    """A form came without the token of the page that showed it."""


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_token(request: Request) -> str:
    """The browser's CSRF token, made (and set by `page`) when it has none yet."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return str(token)


def set_session(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


async def checked_form(request: Request) -> AsyncIterator[FormData]:
    """The posted form, once its CSRF token matches the cookie's; its uploads are closed
    when the response is done.

    Raises:
        CsrfRefused: no cookie, no token, or a different one.
    """
    form = await request.form(max_files=2, max_fields=400, max_part_size=25 * 2**20)
    try:
        expected = request.cookies.get(CSRF_COOKIE, "")
        sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
        if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
            raise CsrfRefused()
        yield form
    finally:
        await form.close()


async def signed_in(request: Request) -> Principal:
    """The person signed in, or NotAuthenticated (the pages redirect it to the sign-in page)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotAuthenticated()
    return await current_principal(request, token)


@dataclass
class Page:
    """What every page's template receives besides its own values."""

    request: Request
    principal: Principal | None
    title: str
    values: dict[str, Any] = field(default_factory=dict)

    def context(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "user": self.principal,
            "nav": nav_for(self.principal) if self.principal else [],
            "path": self.request.url.path,
            "csrf_token": csrf_token(self.request),
            "csrf_field": CSRF_FIELD,
            **self.values,
        }


def page(
    request: Request,
    principal: Principal | None,
    template: str,
    title: str,
    status: int = 200,
    block: str | None = None,
    **values: Any,
) -> HTMLResponse:
    """A rendered page (or one block of it for htmx); sets the CSRF cookie when new."""
    context = Page(request, principal, title, values).context()
    response = HTMLResponse(render(template, context, block), status)
    response.headers["Cache-Control"] = "no-store"  # pages carry personal data
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="lax", secure=_secure(request), path="/"
        )
    return response


def error_page(request: Request, status: int, heading: str, message: str) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    return page(request, principal, "error.html", heading, status, heading=heading, message=message)


_NOT_FOUND = (CaseNotFound, NotFound, OutOfScope, DocumentNotFound)


class PageRoute(APIRoute):
    """Pages answer in HTML: not signed in → the sign-in page, a case outside one's scope or
    missing → the same 404 page, a refused form → a page saying why."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except NotAuthenticated:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
            except (*_NOT_FOUND, RequestValidationError):
                return error_page(
                    request,
                    404,
                    "找不到这个页面",
                    "您要找的案件或页面不存在，或不在您的办理范围内。",
                )
            except (Forbidden, RoleNotPermitted, PiiNotPermitted) as exc:
                return error_page(request, 403, "无权办理", exc.message_zh)
            except (EngineError, DocumentError) as exc:  # anything else refused: say why
                return error_page(request, 400, "没有办理成功", exc.message_zh)
            except CsrfRefused:
                return error_page(
                    request,
                    403,
                    "提交未被接受",
                    "页面已过期或表单不完整，为保护您的账号，本次提交没有生效。请返回上一页，刷新后重新提交。",
                )

        return guarded
