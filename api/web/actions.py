"""An action's page: the form drawn from its declared fields, fired through the engine at the
version the person saw; the engine's refusals come back beside the fields in Chinese."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.authz import Principal
from api.deps import ServicesDep
from api.web.forms import FormField, Problems, fields_of, payload_of, problems_of, raw_values
from api.web.session import PageRoute, checked_form, page, signed_in
from engine.errors import CaseNotFound, EngineError, ReasonRequired
from engine.records import CaseRecord, TriggerOption
from engine.runtime import Engine

router = APIRouter(route_class=PageRoute, include_in_schema=False)
User = Annotated[Principal, Depends(signed_in)]
Form = Annotated[FormData, Depends(checked_form)]
REASON = "reason"


def _option(engine: Engine, principal: Principal, case_id: int, trigger: str) -> TriggerOption:
    for option in engine.available_triggers(case_id, principal.actor):
        if option.trigger == trigger:
            return option
    raise CaseNotFound(case_id)  # no such action here: the same page as a missing case


def schema_of(option: TriggerOption) -> dict[str, Any] | None:
    """The action's declared fields as JSON Schema (engine: TriggerOption.schema)."""
    schema: dict[str, Any] | None = getattr(option, "schema", None)
    return schema


def _render(
    request: Request,
    user: Principal,
    case: CaseRecord,
    option: TriggerOption,
    fields: list[FormField],
    *,
    values: dict[str, Any] | None = None,
    problems: Problems | None = None,
    version: int | None = None,
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
        seen = str(form.get("version", ""))
        version = int(seen) if seen.isdigit() else case.version
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
