"""Users: the administrator lists and creates accounts with their memberships."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse

from api.auth import hash_password
from api.authz import Principal, check_membership, require_roles, revoke_tokens
from api.deps import CurrentPrincipal, IdempotencyKey, ServicesDep
from api.errors import problem_responses
from api.idempotency import StoredReply, fingerprint, run_once
from api.routes.common import decode_cursor, encode_cursor
from api.schemas import (
    MAX_ID,
    MembershipPublic,
    MembershipsUpdate,
    PasswordReset,
    UserCreate,
    UserPage,
    UserPublic,
)
from engine.errors import InvalidInput, NotFound
from engine.repository import Tx
from engine.repository.accounts import add_user
from mediation import queries
from mediation.vocabulary import ROLE_LABELS, Role

router = APIRouter(prefix="/users", tags=["用户"])


def user_public(row: queries.UserRow) -> UserPublic:
    return UserPublic(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        active=row.active,
        memberships=[
            MembershipPublic(
                org_unit_id=m.org_unit_id, role=m.role, role_label=ROLE_LABELS[Role(m.role)]
            )
            for m in row.memberships
        ],
    )


@router.get("", response_model=UserPage, responses=problem_responses(401, 403, 422))
def list_users(
    services: ServicesDep,
    principal: CurrentPrincipal,
    cursor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,40}$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> UserPage:
    """List user accounts, newest first (administrators only)."""
    require_roles(principal, {Role.admin}, "查看用户")
    with services.engine.db.transaction(write=False) as tx:
        rows = queries.users(tx, before_id=decode_cursor(cursor), limit=limit)
    next_cursor = encode_cursor(rows[-1].id) if len(rows) == limit else None
    return UserPage(items=[user_public(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    response_model=UserPublic,
    responses=problem_responses(401, 403, 409, 422),
)
def create_user(
    body: UserCreate,
    services: ServicesDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Create a user account with its roles in org units (administrators only)."""
    require_roles(principal, {Role.admin}, "创建用户")
    engine = services.engine

    def work() -> StoredReply:
        with engine.db.transaction(write=False) as tx:
            if queries.username_taken(tx, body.username):
                raise InvalidInput(
                    f"用户名“{body.username}”已存在（不区分大小写）", field="username"
                )
            for index, member in enumerate(body.memberships):
                unit = queries.org_unit(tx, member.org_unit_id)
                if unit is None:
                    raise InvalidInput(
                        f"组织 {member.org_unit_id} 不存在",
                        field=f"memberships.{index}.org_unit_id",
                    )
                check_membership(member.role, unit.kind, unit.name, f"memberships.{index}")
        password_hash = hash_password(body.password)
        user_id = add_user(
            engine.db.engine,
            username=body.username,
            display_name=body.display_name,
            password_hash=password_hash,
            memberships=sorted({(m.org_unit_id, str(m.role)) for m in body.memberships}),
        )
        if user_id is None:  # a concurrent create took the username
            raise InvalidInput(f"用户名“{body.username}”已存在", field="username")
        with engine.db.transaction(write=False) as tx:
            row = queries.user(tx, user_id)
        assert row is not None
        public = user_public(row)
        headers = {"Location": f"/api/v1/users/{user_id}"}
        return StoredReply(201, public.model_dump(mode="json"), headers)

    body_json = body.model_dump_json(exclude={"password"})
    return run_once(
        engine,
        user_id=principal.user_id,
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", "/users", body_json),
        keep=timedelta(hours=services.settings.idempotency_hours),
        work=lambda _: work(),
    )


UserId = Annotated[int, Path(ge=1, le=MAX_ID)]
_ADMIN_PROBLEMS = problem_responses(401, 403, 404, 422)


def _change(
    services: ServicesDep,
    principal: Principal,
    user_id: int,
    what: str,
    change: Callable[[Tx], None],
) -> UserPublic:
    """One administrator change to a user, which revokes the user's tokens in the same
    transaction (their next request, on any worker, is refused)."""
    require_roles(principal, {Role.admin}, what)
    with services.engine.db.transaction(write=True) as tx:
        if queries.user(tx, user_id) is None:
            raise NotFound("用户", user_id)
        change(tx)
        revoke_tokens(tx, user_id)
    services.principals.forget(user_id)
    with services.engine.db.transaction(write=False) as tx:
        row = queries.user(tx, user_id)
    assert row is not None
    return user_public(row)


@router.post("/{user_id}/disable", response_model=UserPublic, responses=_ADMIN_PROBLEMS)
def disable_user(user_id: UserId, services: ServicesDep, principal: CurrentPrincipal) -> UserPublic:
    """Disable an account: its tokens and web sessions stop working at once (administrators)."""
    if user_id == principal.user_id:
        raise InvalidInput("不能停用自己的账号", field="user_id")

    def change(tx: Tx) -> None:
        tx.set_user_active(user_id, False)

    return _change(services, principal, user_id, "停用用户", change)


@router.post("/{user_id}/enable", response_model=UserPublic, responses=_ADMIN_PROBLEMS)
def enable_user(user_id: UserId, services: ServicesDep, principal: CurrentPrincipal) -> UserPublic:
    """Enable a disabled account again; it logs in afresh (administrators)."""

    def change(tx: Tx) -> None:
        tx.set_user_active(user_id, True)

    return _change(services, principal, user_id, "启用用户", change)


@router.post("/{user_id}/password", status_code=204, responses=_ADMIN_PROBLEMS)
def reset_password(
    user_id: UserId, body: PasswordReset, services: ServicesDep, principal: CurrentPrincipal
) -> Response:
    """Set a new password for a user; their tokens stop working at once (administrators)."""
    require_roles(principal, {Role.admin}, "重置密码")
    password_hash = hash_password(body.new_password)  # argon2 outside the transaction

    def change(tx: Tx) -> None:
        tx.set_password_hash(user_id, password_hash)

    _change(services, principal, user_id, "重置密码", change)
    return Response(status_code=204)


@router.put("/{user_id}/memberships", response_model=UserPublic, responses=_ADMIN_PROBLEMS)
def set_memberships(
    user_id: UserId, body: MembershipsUpdate, services: ServicesDep, principal: CurrentPrincipal
) -> UserPublic:
    """Replace a user's roles and units; their tokens stop working at once (administrators)."""

    def change(tx: Tx) -> None:
        for index, member in enumerate(body.memberships):
            unit = queries.org_unit(tx, member.org_unit_id)
            if unit is None:
                raise InvalidInput(
                    f"组织 {member.org_unit_id} 不存在", field=f"memberships.{index}.org_unit_id"
                )
            check_membership(member.role, unit.kind, unit.name, f"memberships.{index}")
        unique = sorted({(m.org_unit_id, str(m.role)) for m in body.memberships})
        tx.replace_memberships(user_id, unique)

    return _change(services, principal, user_id, "变更用户角色", change)
