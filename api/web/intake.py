"""新建案件: a dispute registered from a phone. Parties are added and removed on the page (an
htmx swap of the parties block; a plain re-render without JavaScript), ID and phone numbers
are checked as they are typed by the server's own rules, and a submission goes through the
API's own registration (one case per form, whatever the double taps)."""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.authz import CASE_OPENING_ROLES, Principal, require_roles
from api.deps import Services, ServicesDep
from api.routes.cases import create_case
from api.schemas import CaseCreate
from api.services import intake as service
from api.web.forms import Problems, problems_of
from api.web.session import PageRoute, checked_form, page, signed_in
from engine.errors import EngineError

router = APIRouter(route_class=PageRoute, include_in_schema=False)
User = Annotated[Principal, Depends(signed_in)]
Form = Annotated[FormData, Depends(checked_form)]
PARTY_FIELDS = ("role", "kind", "name", "id_number", "phone", "address")
MAX_PARTIES = 20
LABELS = {
    "committee_id": "调解委员会",
    "category_code": "纠纷类型",
    "summary": "纠纷简要情况",
    "origin": "案件来源",
    "application_form": "申请方式",
    "risk_level": "风险等级",
    "grid_id": "网格",
    "parties": "当事人",
    "role": "身份",
    "kind": "类别",
    "name": "姓名或名称",
    "id_number": "身份证号码",
    "phone": "手机号码",
    "address": "住址",
}


def _parties(form: FormData | None) -> list[dict[str, str]]:
    if form is None:
        return [{"role": "applicant"}, {"role": "respondent"}]
    rows = []
    for i in range(MAX_PARTIES):
        row = {f: str(form.get(f"parties.{i}.{f}", "")).strip() for f in PARTY_FIELDS}
        if any(row[f] for f in ("name", "id_number", "phone", "address")):
            rows.append(row)
    return rows


def _render(
    request: Request,
    user: Principal,
    services: Services,
    values: dict[str, str],
    parties: list[dict[str, str]],
    problems: Problems | None = None,
    block: str | None = None,
) -> HTMLResponse:
    problems = problems or Problems()
    return page(
        request,
        user,
        "intake.html",
        "新建案件",
        400 if problems else 200,
        block=block,
        options=service.intake_options(services.engine, user),
        values=values,
        parties=parties,
        errors=problems.by_field,
        general=problems.general,
        labels=LABELS,
        key=values.get("idempotency_key") or secrets.token_urlsafe(16),
    )


@router.get("/cases/new", response_class=HTMLResponse)
def intake_form(request: Request, user: User, services: ServicesDep) -> HTMLResponse:
    require_roles(user, CASE_OPENING_ROLES, "登记案件")
    values = {"origin": "grid_report" if "central_household" in user.roles else ""}
    return _render(request, user, services, values, _parties(None))


@router.post("/cases/new/parties", response_class=HTMLResponse)
def change_parties(request: Request, user: User, services: ServicesDep, form: Form) -> HTMLResponse:
    """Add a party row, or remove one: the parties block again (htmx), or the whole page."""
    parties = _parties(form) or [{"role": "applicant"}]
    removed = str(form.get("remove", ""))
    if removed.isdigit() and int(removed) < len(parties) and len(parties) > 1:
        parties.pop(int(removed))
    elif len(parties) < MAX_PARTIES:
        parties.append({"role": "respondent" if len(parties) == 1 else "third_party"})
    block = "parties" if request.headers.get("HX-Request") == "true" else None
    values = {k: str(v) for k, v in form.items() if not k.startswith("parties.")}
    return _render(request, user, services, values, parties, block=block)


@router.post("/cases/new/check", response_class=HTMLResponse)
def check_field(request: Request, user: User, services: ServicesDep, form: Form) -> HTMLResponse:
    """As-you-type check of one party input, by the rules the server applies on submission."""
    for key, raw in form.items():
        value = str(raw)
        if key.endswith(".id_number"):
            message = service.check_id_number(services.engine, value)
            ok = "号码有效" if value.strip() and message is None else ""
        elif key.endswith(".phone"):
            message = service.check_phone(value)
            ok = "号码有效" if value.strip() and message is None else ""
        elif key.endswith(".address"):
            grid = service.grid_for_address(services.engine, user, value) if value.strip() else None
            message = None
            ok = (
                f"该地址属于{grid}"
                if grid
                else ("未找到该地址，请在下方选择网格" if value.strip() else "")
            )
        else:
            continue
        return page(request, None, "check.html", "", message=message, ok=ok)
    return HTMLResponse("")


def _body(form: FormData, parties: list[dict[str, str]]) -> dict[str, Any]:
    def optional(name: str) -> str | None:
        value = str(form.get(name, "")).strip()
        return value or None

    return {
        "committee_id": optional("committee_id"),
        "category_code": optional("category_code"),
        "summary": optional("summary"),
        "origin": optional("origin"),
        "application_form": optional("application_form"),
        "risk_level": optional("risk_level"),
        "grid_id": optional("grid_id"),
        "parties": [{k: v for k, v in p.items() if v} for p in parties],
    }


def _path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts)


@router.post("/cases/new", response_class=HTMLResponse)
async def register(request: Request, user: User, services: ServicesDep, form: Form) -> Response:
    parties = _parties(form)
    key = str(form.get("idempotency_key", ""))[:100] or None
    values = {k: str(v) for k, v in form.items() if not k.startswith("parties.")}

    def run() -> Response:
        problems = Problems()
        try:
            body = CaseCreate.model_validate(_body(form, parties))
            response = create_case(body, services, user, key)
        except (ValidationError, RequestValidationError) as exc:
            for error in exc.errors():
                path = _path(error.get("loc", ()))
                message = str(error.get("msg", "填写有误"))
                field = path.rsplit(".", 1)[-1]
                label = LABELS.get(field, field)
                problems.by_field.setdefault(path or "parties", _zh(message, label))
        except EngineError as exc:
            problems = problems_of(exc, ["parties", *LABELS])
        else:
            case_id = json.loads(bytes(response.body))["id"]
            return RedirectResponse(f"/cases/{case_id}?done=open#main", 303)
        rows = parties or _parties(None)
        return _render(request, user, services, values, rows, problems)

    return await run_in_threadpool(run)


def _zh(message: str, label: str) -> str:
    """Pydantic's English messages, said in Chinese for the usual cases."""
    lowered = message.lower()
    if "at least 2" in lowered:
        return "请至少填写两名当事人"
    if "field required" in lowered or "none is not an allowed" in lowered or "valid" in lowered:
        return f"请填写或选择{label}"
    if "at most" in lowered or "too long" in lowered:
        return f"{label}太长了，请精简"
    return f"{label}填写有误"
