"""An action's page: the form drawn from its declared fields, fired through the engine at the
version the person saw; the engine's refusals come back beside the fields in Chinese."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.authz import Principal
from api.deps import ServicesDep
from api.routes.documents import DocumentsDep, document_workers
from api.services.actions import ActionOption, describe_actions
from api.web.forms import (
    FormField,
    Problems,
    fields_of,
    form_int,
    payload_of,
    problems_of,
    raw_values,
)
from api.web.session import PageRoute, checked_form, page, signed_in
from documents import DocumentError
from engine.errors import CaseNotFound, EngineError, ReasonRequired
from mediation.engine import MediationEngine
from mediation.records import MediationCase

router = APIRouter(route_class=PageRoute, include_in_schema=False)
User = Annotated[Principal, Depends(signed_in)]
Form = Annotated[FormData, Depends(checked_form)]
REASON = "reason"


def _option(
    engine: MediationEngine, principal: Principal, case_id: int, trigger: str
) -> ActionOption:
    for option in describe_actions(engine, case_id, principal.actor):
        if option.trigger == trigger:
            return option
    raise CaseNotFound(case_id)  # no such action here: the same page as a missing case


def schema_of(option: ActionOption) -> dict[str, Any] | None:
    """The action's declared fields as JSON Schema, with the options this person may pick."""
    return option.schema_


def _render(
    request: Request,
    user: Principal,
    case: MediationCase,
    option: ActionOption,
    fields: list[FormField],
    *,
    values: dict[str, Any] | None = None,
    problems: Problems | None = None,
    version: int | None = None,
    action_url: str | None = None,
) -> HTMLResponse:
    problems = problems or Problems()
    labels = {f.name: f.title for f in fields} | {REASON: "理由"}
    return page(
        request,
        user,
        "action.html",
        f"{option.label} · {case.number}",
        400 if problems else 200,
        case=case,
        option=option,
        fields=fields,
        values=values or {},
        errors=problems.by_field,
        general=problems.general,
        labels=labels,
        version=version or case.version,
        action_url=action_url or f"/cases/{case.id}/act/{option.trigger}",
    )


@router.get("/cases/{case_id:int}/act/{trigger}", response_class=HTMLResponse)
def action_form(
    request: Request, case_id: int, trigger: str, user: User, services: ServicesDep
) -> HTMLResponse:
    engine = services.engine
    case = engine.get_case(case_id, user.actor)
    option = _option(engine, user, case_id, trigger)
    return _render(request, user, case, option, fields_of(schema_of(option)))


@router.post("/cases/{case_id:int}/act/{trigger}", response_class=HTMLResponse)
async def fire_action(
    request: Request, case_id: int, trigger: str, user: User, services: ServicesDep, form: Form
) -> Response:
    engine = services.engine

    def run() -> Response:
        case = engine.get_case(case_id, user.actor)
        option = _option(engine, user, case_id, trigger)
        fields = fields_of(schema_of(option))
        payload = payload_of(fields, form)
        reason = str(form.get(REASON, "")).strip() or None
        version = form_int(form, "version") or case.version
        try:
            engine.fire(case_id, trigger, user.actor, version, payload, reason)
        except ReasonRequired as exc:
            problems = Problems(by_field={REASON: exc.message_zh})
        except EngineError as exc:
            problems = problems_of(exc, [f.name for f in fields])
        else:
            return RedirectResponse(f"/cases/{case_id}?done={trigger}#main", 303)
        current = engine.get_case(case_id, user.actor)
        return _render(
            request,
            user,
            current,
            option,
            fields,
            values=raw_values(form),
            problems=problems,
            version=current.version,  # a stale version was refused: the message says so
        )

    return await run_in_threadpool(run)


DRAFTING = ("revise_agreement", "draft_agreement")


def _drafting(engine: MediationEngine, principal: Principal, case_id: int) -> ActionOption:
    """Drafting or revising, whichever the case's state offers this person."""
    options = describe_actions(engine, case_id, principal.actor)
    found = [o for o in options if o.trigger in DRAFTING]
    allowed = [o for o in found if o.allowed]
    if allowed or found:
        return (allowed or found)[0]
    raise CaseNotFound(case_id)


@router.get("/cases/{case_id:int}/agreement", response_class=HTMLResponse)
def agreement_form(
    request: Request, case_id: int, user: User, services: ServicesDep
) -> HTMLResponse:
    """拟定调解协议: its declared fields (facts, issues, responsibilities, terms), rendered
    to the 调解协议书 by the document service."""
    engine = services.engine
    case = engine.get_case(case_id, user.actor)
    option = _drafting(engine, user, case_id)
    values = (
        _agreement_values(case.data.get("agreement", {})) if option.trigger == DRAFTING[0] else {}
    )
    url = f"/cases/{case_id}/agreement"
    fields = fields_of(schema_of(option))
    return _render(request, user, case, option, fields, values=values, action_url=url)


def _agreement_values(agreement: dict[str, Any]) -> dict[str, Any]:
    """The current draft as form values, to revise it rather than retype it."""
    values: dict[str, Any] = {"facts": str(agreement["facts"])} if "facts" in agreement else {}
    issues = agreement.get("issues")
    if issues:
        values["issues"] = issues if isinstance(issues, str) else "\n".join(issues)
    for name in ("responsibilities", "terms"):
        rows = agreement.get(name)
        if not isinstance(rows, list):
            continue
        for index, row in enumerate(rows):
            for key, value in row.items():
                if value is not None:
                    values[f"{name}.{index}.{key}"] = str(value)
    return values


@router.post("/cases/{case_id:int}/agreement", response_class=HTMLResponse)
async def draft_agreement(
    request: Request,
    case_id: int,
    user: User,
    services: ServicesDep,
    documents: DocumentsDep,
    form: Form,
) -> Response:
    engine = services.engine
    case = engine.get_case(case_id, user.actor)
    option = _drafting(engine, user, case_id)
    fields = fields_of(schema_of(option))
    payload = payload_of(fields, form)
    version = form_int(form, "version") or case.version

    def act() -> None:
        documents.draft_agreement(case_id, user.actor, version, payload, trigger=option.trigger)

    try:
        await anyio.to_thread.run_sync(act, limiter=document_workers("write"))
    except DocumentError as exc:
        problems = Problems(general=[exc.message_zh])
    except EngineError as exc:
        problems = problems_of(exc, [f.name for f in fields])
    else:
        return RedirectResponse(f"/cases/{case_id}?done={option.trigger}#main", 303)
    current = engine.get_case(case_id, user.actor)
    url = f"/cases/{case_id}/agreement"
    return _render(
        request,
        user,
        current,
        option,
        fields,
        values=raw_values(form),
        problems=problems,
        version=current.version,
        action_url=url,
    )
