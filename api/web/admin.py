"""Administrators' pages: the org tree (a unit created under a parent), users and their roles
(created and listed through the same functions as the API's /users), and the branding of
committees and rooms (name, logo, a committee's seal text) that documents print."""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from api.authz import Principal, require_roles
from api.deps import ServicesDep
from api.routes import users as user_routes
from api.schemas import MembershipsUpdate, PasswordReset, UserCreate, UserPublic
from api.services import admin
from api.web.forms import Problems, form_int, problems_of
from api.web.session import PageRoute, checked_form, page, signed_in
from engine.errors import EngineError, NotFound
from mediation.vocabulary import ROLE_LABELS, Role

router = APIRouter(route_class=PageRoute, include_in_schema=False)
User = Annotated[Principal, Depends(signed_in)]
Form = Annotated[FormData, Depends(checked_form)]
ADMIN = frozenset({Role.admin})
UNIT_FIELDS = ("parent_id", "kind", "name", "short_name")
USER_FIELDS = ("username", "display_name", "password", "org_unit_id", "role")
BRAND_FIELDS = ("name", "seal_text", "logo")
ASSIGNABLE = [r for r in Role if r is not Role.system]
ROLES = [(str(r), ROLE_LABELS[r]) for r in ASSIGNABLE]
_USER_MESSAGES = {
    "username": "用户名为3至64位字母、数字、下划线、点或连字符",
    "display_name": "请填写姓名（64字以内）",
    "password": "初始密码至少8位",
    "org_unit_id": "请选择所属组织",
    "role": "请选择角色",
}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# --- org units ----------------------------------------------------------------------------


def _units_page(
    request: Request,
    user: Principal,
    services: ServicesDep,
    problems: Problems | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    problems = problems or Problems()
    tree = admin.unit_tree(services.engine, user)
    return _form_page(
        request,
        user,
        "admin_units.html",
        "组织机构",
        problems,
        values or {},
        tree=tree,
        kinds=admin.KIND_LABELS,
        top_kinds=admin.CHILD_KINDS[None],
        created=request.query_params.get("created", ""),
    )


def _form_page(
    request: Request,
    user: Principal,
    template: str,
    title: str,
    problems: Problems,
    values: dict[str, str],
    **context: Any,
) -> HTMLResponse:
    """An admin page with a form: 400 and its errors when the last post was refused."""
    return page(
        request,
        user,
        template,
        title,
        400 if problems else 200,
        errors=problems.by_field,
        general=problems.general,
        values=values,
        **context,
    )


@router.get("/admin/units", response_class=HTMLResponse)
def units(request: Request, user: User, services: ServicesDep) -> HTMLResponse:
    require_roles(user, ADMIN, "管理组织")
    return _units_page(request, user, services)


@router.post("/admin/units", response_class=HTMLResponse)
def create_unit(request: Request, user: User, services: ServicesDep, form: Form) -> Response:
    require_roles(user, ADMIN, "创建组织")
    values = {name: _text(form, name) for name in UNIT_FIELDS}
    parent = form_int(form, "parent_id") or None
    try:
        row = admin.create_unit(
            services.engine,
            user,
            parent_id=parent,
            kind=values["kind"],
            name=values["name"],
            short_name=values["short_name"],
        )
    except EngineError as exc:
        return _units_page(request, user, services, problems_of(exc, UNIT_FIELDS), values)
    return RedirectResponse(f"/admin/units?created={row.id}#u-{row.id}", 303)


# --- users --------------------------------------------------------------------------------


def _users_page(
    request: Request,
    user: Principal,
    services: ServicesDep,
    problems: Problems | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    problems = problems or Problems()
    listed = user_routes.list_users(services, user, cursor=None, limit=100)
    tree = admin.unit_tree(services.engine, user)
    names = {node.unit.id: node.unit.name for node in tree}
    return _form_page(
        request,
        user,
        "admin_users.html",
        "用户与角色",
        problems,
        values or {},
        users=listed.items,
        more=listed.next_cursor is not None,
        unit_names=names,
        tree=tree,
        roles=[(str(r), ROLE_LABELS[r]) for r in ASSIGNABLE],
        created=request.query_params.get("created", ""),
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, user: User, services: ServicesDep) -> HTMLResponse:
    require_roles(user, ADMIN, "查看用户")
    return _users_page(request, user, services)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(request: Request, user: User, services: ServicesDep, form: Form) -> Response:
    require_roles(user, ADMIN, "创建用户")
    values = {name: _text(form, name) for name in USER_FIELDS if name != "password"}
    problems = Problems()
    body: UserCreate | None = None
    try:
        password = form.get("password")
        body = UserCreate.model_validate(
            {
                "username": _text(form, "username"),
                "display_name": _text(form, "display_name"),
                "password": password if isinstance(password, str) else "",
                "memberships": [
                    {"org_unit_id": form_int(form, "org_unit_id"), "role": _text(form, "role")}
                ],
            }
        )
    except ValidationError as exc:
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            name = loc[-1] if loc and loc[-1] in _USER_MESSAGES else loc[0] if loc else ""
            if name in _USER_MESSAGES:
                problems.by_field.setdefault(name, _USER_MESSAGES[name])
            else:
                problems.general.append(str(error["msg"]))
    if body is not None:
        try:
            response = user_routes.create_user(body, services, user, None)
        except EngineError as exc:
            problems = problems_of(exc, USER_FIELDS)
            if "memberships.0.org_unit_id" in str(exc.fields.get("field", "")):
                problems = Problems(by_field={"org_unit_id": exc.message_zh})
        else:
            created = UserPublic.model_validate(json.loads(bytes(response.body)))
            return RedirectResponse(f"/admin/users?created={created.id}#user-{created.id}", 303)
    return _users_page(request, user, services, problems, values)


# --- committees and rooms: branding -------------------------------------------------------


@router.get("/admin/rooms", response_class=HTMLResponse)
def rooms(request: Request, user: User, services: ServicesDep) -> HTMLResponse:
    require_roles(user, ADMIN, "管理调解组织标识")
    items = admin.branded_units(services.engine, user)
    return page(
        request,
        user,
        "admin_rooms.html",
        "调解组织与标识",
        items=items,
        saved=request.query_params.get("saved", ""),
    )


def _room_page(
    request: Request,
    user: Principal,
    services: ServicesDep,
    unit_id: int,
    problems: Problems | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    problems = problems or Problems()
    item = admin.branded_unit(services.engine, user, unit_id)
    return _form_page(
        request,
        user,
        "admin_room.html",
        f"标识 · {item.unit.name}",
        problems,
        values or {"name": item.unit.name, "seal_text": item.seal_text or ""},
        item=item,
    )


@router.get("/admin/rooms/{unit_id:int}", response_class=HTMLResponse)
def room(request: Request, unit_id: int, user: User, services: ServicesDep) -> HTMLResponse:
    require_roles(user, ADMIN, "管理调解组织标识")
    return _room_page(request, user, services, unit_id)


@router.post("/admin/rooms/{unit_id:int}", response_class=HTMLResponse)
async def save_room(
    request: Request, unit_id: int, user: User, services: ServicesDep, form: Form
) -> Response:
    require_roles(user, ADMIN, "管理调解组织标识")
    values = {"name": _text(form, "name"), "seal_text": _text(form, "seal_text")}
    upload = form.get("logo")
    logo = await upload.read(admin.LOGO_BYTES + 1) if isinstance(upload, UploadFile) else b""

    def save() -> None:
        admin.set_branding(
            services.engine,
            user,
            unit_id,
            name=values["name"],
            seal_text=values["seal_text"],
            logo=logo or None,
            remove_logo=_text(form, "remove_logo") == "yes",
        )

    try:
        await anyio.to_thread.run_sync(save)
    except EngineError as exc:
        problems = problems_of(exc, BRAND_FIELDS)
        return await anyio.to_thread.run_sync(
            lambda: _room_page(request, user, services, unit_id, problems, values)
        )
    return RedirectResponse(f"/admin/rooms?saved={unit_id}#unit-{unit_id}", 303)


@router.get("/admin/rooms/{unit_id:int}/logo.png")
def room_logo(unit_id: int, user: User, services: ServicesDep) -> Response:
    png = admin.logo(services.engine, user, unit_id)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


def _account_page(
    request: Request,
    user: Principal,
    services: ServicesDep,
    user_id: int,
    problems: Problems | None = None,
    done: str = "",
) -> HTMLResponse:
    problems = problems or Problems()
    account = user_routes.user_public(admin.account(services.engine, user, user_id))
    tree = admin.unit_tree(services.engine, user)
    names = {node.unit.id: node.unit.name for node in tree}
    return _form_page(
        request,
        user,
        "admin_user.html",
        f"账号 · {account.display_name}",
        problems,
        {},
        account=account,
        unit_names=names,
        myself=account.id == user.user_id,
        tree=tree,
        roles=[(str(r), ROLE_LABELS[r]) for r in ASSIGNABLE],
        done=done or request.query_params.get("done", ""),
    )


@router.get("/admin/users/{user_id:int}", response_class=HTMLResponse)
def account(request: Request, user_id: int, user: User, services: ServicesDep) -> HTMLResponse:
    require_roles(user, ADMIN, "查看用户")
    return _account_page(request, user, services, user_id)


@router.post("/admin/users/{user_id:int}/{change}", response_class=HTMLResponse)
def change_account(
    request: Request, user_id: int, change: str, user: User, services: ServicesDep, form: Form
) -> Response:
    """停用 / 启用 / 重置密码: the API's own functions, which end the person's sessions."""
    require_roles(user, ADMIN, "管理用户")
    try:
        if change == "disable":
            user_routes.disable_user(user_id, services, user)
        elif change == "enable":
            user_routes.enable_user(user_id, services, user)
        elif change in ("add_role", "remove_role"):
            problems = _set_roles(services, user, user_id, change, form)
            if problems:
                return _account_page(request, user, services, user_id, problems)
        elif change == "password":
            password = form.get("new_password")
            try:
                body = PasswordReset(new_password=password if isinstance(password, str) else "")
            except ValidationError:
                problems = Problems(by_field={"new_password": "新密码至少8位"})
                return _account_page(request, user, services, user_id, problems)
            user_routes.reset_password(user_id, body, services, user)
        else:
            raise NotFound("页面", change)
    except EngineError as exc:
        problems = problems_of(exc, ("new_password",))
        return _account_page(request, user, services, user_id, problems)
    return RedirectResponse(f"/admin/users/{user_id}?done={change}", 303)


def _set_roles(
    services: ServicesDep, user: Principal, user_id: int, change: str, form: FormData
) -> Problems:
    """A role added in a unit, or one removed, through the API's PUT /users/{id}/memberships
    (which checks the unit's kind and ends the person's sessions)."""
    current = [
        {"org_unit_id": m.org_unit_id, "role": m.role}
        for m in user_routes.user_public(admin.account(services.engine, user, user_id)).memberships
    ]
    picked = {"org_unit_id": form_int(form, "org_unit_id"), "role": _text(form, "role")}
    if change == "add_role":
        wanted = [*current, picked]
    else:
        wanted = [m for m in current if m != picked]
        if not wanted:
            return Problems(general=["每个账号至少保留一个角色；不再使用的账号请停用"])
    try:
        body = MembershipsUpdate.model_validate({"memberships": wanted})
    except ValidationError:
        problems = Problems()
        if not picked["org_unit_id"]:
            problems.by_field["org_unit_id"] = _USER_MESSAGES["org_unit_id"]
        if picked["role"] not in {value for value, _ in ROLES}:
            problems.by_field["role"] = _USER_MESSAGES["role"]
        return problems or Problems(general=["角色不正确"])
    try:
        user_routes.set_memberships(user_id, body, services, user)
    except EngineError as exc:
        return Problems(general=[exc.message_zh])
    return Problems()
