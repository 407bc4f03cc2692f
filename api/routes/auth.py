"""Login (OAuth2 password flow, form-encoded) and `me`."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.auth import hash_password, request_address, verify_password
from api.authz import Principal, revoke_session, revoke_tokens
from api.deps import TOKEN_URL, CurrentPrincipal, Services, ServicesDep, bearer_token
from api.errors import NotAuthenticated, problem_responses
from api.routes.common import AUTH_PROBLEMS
from api.schemas import Me, MembershipPublic, PasswordChange, Token
from engine.errors import InvalidInput
from mediation import queries
from mediation.vocabulary import ROLE_LABELS

router = APIRouter(tags=["登录"])

_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["password"]},
                        "username": {"type": "string", "minLength": 1, "maxLength": 64},
                        "password": {"type": "string", "minLength": 1, "maxLength": 128},
                        "scope": {"type": "string"},
                    },
                }
            }
        },
    }
}


def _form_field(form: dict[str, list[str]], name: str, limit: int) -> str:
    values = form.get(name)
    if not values or not values[0]:
        raise InvalidInput(f"缺少 {name}", field=name)
    if len(values[0]) > limit:
        raise InvalidInput(f"{name} 过长", field=name)
    return values[0]


def _login(services: Services, username: str, password: str, address: str) -> Token:
    def verify() -> tuple[int, int] | None:
        with services.engine.db.transaction(write=False) as tx:
            user = queries.user_by_username(tx, username)
            state = queries.token_state(tx, user.id) if user is not None else None
        ok = verify_password(user.password_hash if user else None, password)
        if user is None or state is None or not ok or not user.active:
            return None
        return user.id, state[1]

    user_id, epoch = services.limiter.check(username, address, verify)
    services.principals.forget(user_id)  # a fresh login sees current roles at once
    return Token(
        access_token=services.signer.issue(user_id, epoch),
        expires_in=services.signer.lifetime_seconds,
    )


@router.post(
    TOKEN_URL.removeprefix("/api/v1"),
    response_model=Token,
    openapi_extra=_FORM_SCHEMA,
    responses=problem_responses(401, 415, 422, 429),
)
async def login(request: Request, services: ServicesDep) -> Token:
    """Exchange a username and password for a short-lived bearer token."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidInput("请以 application/x-www-form-urlencoded 表单提交", field="body")
    raw = await request.body()
    if len(raw) > 4096:
        raise InvalidInput("请求内容过长", field="body")
    try:
        form = parse_qs(raw.decode(), keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("表单格式有误", field="body") from exc
    grant = form.get("grant_type", ["password"])[0]
    if grant != "password":
        raise InvalidInput("grant_type 须为 password", field="grant_type")
    username = _form_field(form, "username", 64)
    password = _form_field(form, "password", 128)
    address = request_address(request, services.trusted_proxies)
    # argon2 takes tens of milliseconds of CPU: off the event loop
    return await run_in_threadpool(_login, services, username, password, address)


def end_session(services: Services, token: str | None) -> bool:
    """Log one session out on the server: its token is refused from now on (the user's other
    sessions go on). A token that is already invalid needs nothing; returns whether one was
    revoked."""
    if not token:
        return False
    try:
        claims = services.signer.verify(token)
    except NotAuthenticated:
        return False
    with services.engine.db.transaction(write=True) as tx:
        revoke_session(
            tx,
            claims.user_id,
            claims.session_id,
            datetime.fromtimestamp(claims.expires_at, UTC),
        )
    return True


@router.post("/auth/logout", status_code=204, responses=AUTH_PROBLEMS)
async def logout(request: Request, services: ServicesDep, principal: CurrentPrincipal) -> Response:
    """Log out: this token is refused from now on; the user's other sessions go on."""
    del principal  # a valid, unrevoked token: checked by the dependency
    await run_in_threadpool(end_session, services, bearer_token(request))
    return Response(status_code=204)


def me_view(principal: Principal) -> Me:
    return Me(
        id=principal.user_id,
        username=principal.username,
        display_name=principal.display_name,
        active=True,
        memberships=[
            MembershipPublic(org_unit_id=m.org_unit_id, role=m.role, role_label=ROLE_LABELS[m.role])
            for m in principal.memberships
        ],
        roles=sorted(str(r) for r in principal.roles),
        scope_unit_ids=sorted(principal.actor.unit_ids),
        all_units=principal.actor.all_units,
    )


@router.get("/me", response_model=Me, responses=AUTH_PROBLEMS)
async def me(principal: CurrentPrincipal) -> Me:
    """The logged-in user, their roles and the org units in their scope."""
    return me_view(principal)


@router.post(
    "/me/password",
    response_model=Token,
    responses=problem_responses(401, 422, 429),
)
async def change_password(
    body: PasswordChange, request: Request, services: ServicesDep, principal: CurrentPrincipal
) -> Token:
    """Change one's own password: every other token and session ends; a new token is returned."""
    address = request_address(request, services.trusted_proxies)
    return await run_in_threadpool(_change_password, services, principal, body, address)


def _change_password(
    services: Services, principal: Principal, body: PasswordChange, address: str
) -> Token:
    engine = services.engine

    def verify() -> bool | None:
        with engine.db.transaction(write=False) as tx:
            user = queries.user(tx, principal.user_id)
            stored = queries.password_hash(tx, principal.user_id) if user else None
        return True if verify_password(stored, body.current_password) else None

    services.limiter.check(principal.username, address, verify)  # guesses count as logins
    new_hash = hash_password(body.new_password)
    with engine.db.transaction(write=True) as tx:
        tx.set_password_hash(principal.user_id, new_hash)
        revoke_tokens(tx, principal.user_id)
        state = queries.token_state(tx, principal.user_id)
    assert state is not None
    services.principals.forget(principal.user_id)
    return Token(
        access_token=services.signer.issue(principal.user_id, state[1]),
        expires_in=services.signer.lifetime_seconds,
    )
