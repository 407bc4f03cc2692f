"""Signing in and out of the pages: the API's login (same rate limit, same token) in a cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.auth import request_address
from api.deps import Services, ServicesDep
from api.errors import InvalidCredentials, TooManyLoginAttempts
from api.routes.auth import _login as login_service
from api.routes.auth import end_session
from api.web.session import (
    SESSION_COOKIE,
    PageRoute,
    checked_form,
    clear_session,
    page,
    set_session,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return page(request, None, "login.html", "登录", next=_safe_next(next), errors={}, username="")


async def _sign_in(services: Services, request: Request, username: str, password: str) -> str:
    address = request_address(request, services.trusted_proxies)
    token = await run_in_threadpool(login_service, services, username, password, address)
    return token.access_token


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, form: Form, services: ServicesDep) -> Response:
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))[:128]
    target = _safe_next(str(form.get("next", "/")))
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = "请输入用户名"
    if not password:
        errors["password"] = "请输入密码"
    if not errors:
        try:
            token = await _sign_in(services, request, username, password)
        except InvalidCredentials:
            errors["password"] = "用户名或密码不正确，请重新输入"
        except TooManyLoginAttempts as exc:
            errors["password"] = exc.message_zh
        else:
            response = RedirectResponse(target, 303)
            set_session(request, response, token, services.signer.lifetime_seconds)
            return response
    return page(
        request, None, "login.html", "登录", 400, next=target, errors=errors, username=username
    )


@router.post("/logout")
async def logout(request: Request, form: Form, services: ServicesDep) -> Response:
    """Sign out: the session is revoked on the server (a copy of the cookie is refused from
    now on), not only forgotten by this browser; the user's other sessions go on."""
    del form  # checked: a third-party page cannot sign anyone out
    await run_in_threadpool(end_session, services, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", 303)
    clear_session(response)
    return response
