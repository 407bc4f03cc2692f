"""工作台, the case list with its search, and the case page (parties, timeline, the flow with
the current state, sessions, documents, and what this person may do now)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from api.authz import Principal
from api.deps import Services, ServicesDep
from api.errors import DocumentNotFound
from api.ledger.columns import IMPORT_TRIGGER, IMPORT_TRIGGER_LABEL
from api.routes.cases import case_page
from api.routes.documents import DocumentsDep, case_versions, download_document
from api.schemas import DocumentKind
from api.services import desk, progress
from api.services.attachments import listed as listed_attachments
from api.services.graphs import case_graph_svg
from api.web.session import PageRoute, checked_form, page, signed_in
from engine.records import TriggerOption
from engine.spec import WorkflowSpec
from mediation import queries
from mediation.engine import MediationEngine
from mediation.intake import ORIGIN_LABELS, PARTY_ROLE_LABELS
from mediation.spec import mediation_spec
from mediation.vocabulary import LEVEL_LABELS, ROLE_LABELS
from workflows.scheduling import upcoming_session

router = APIRouter(route_class=PageRoute, include_in_schema=False)
User = Annotated[Principal, Depends(signed_in)]
Form = Annotated[FormData, Depends(checked_form)]

CONSENT_LABELS = {"pending": "待确认", "consented": "同意调解", "refused": "拒绝调解"}

SIGNER_LABELS = {"party": "当事人", "mediator": "调解员", "seal": "调委会印章"}
# Steps a service performs (the flows' `service:`) open that service's page; the rest open
# the form drawn from the action's declared fields.
SERVICE_PAGES = {
    "draft_agreement": "agreement",
    "revise_agreement": "agreement",
    "sign_party": "sign",
    "sign_mediator": "sign",
    "apply_seal": "sign",
    "prepare_confirmation_application": "application",
    "sign_confirmation_application": "application",
}


def action_link(case_id: int, option: TriggerOption) -> str:
    if option.service == "court":
        return f"/court/{case_id}"
    if option.service == "documents":
        return f"/cases/{case_id}/{SERVICE_PAGES.get(option.trigger, 'sign')}"
    return f"/cases/{case_id}/act/{option.trigger}"


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    status: str  # done | current | later


def flow_steps(spec: WorkflowSpec, facts: desk.CaseFacts) -> list[Step]:
    """The flow as a list a phone can show: the states this case has been through, the one it
    is in, and the ordinary ones still ahead (final states only when reached)."""
    visited = {e.dest_state for e in facts.events}
    current = facts.case.state
    steps = []
    for state in spec.states:
        if state.name == current:
            steps.append(Step(state.label, "current"))
        elif state.name in visited:
            steps.append(Step(state.label, "done"))
        elif not state.final and state.outcome is None:
            steps.append(Step(state.label, "later"))
    return steps


def ordered_actions(
    spec: WorkflowSpec, state: str, options: list[TriggerOption]
) -> list[tuple[TriggerOption, str]]:
    """The next step first: service steps and moves forward, then records kept in place, and
    last, drawn as a warning, the ways out that end the mediation (terminate, refuse...)."""
    ending = {s.name for s in spec.states if s.final and s.outcome is not None}

    def rank(option: TriggerOption) -> int:
        if option.dest in ending:
            return 3
        if option.service is not None:
            return 0
        return 1 if option.dest != state else 2

    ranked = sorted(options, key=rank)
    return [(o, "button danger-outline" if o.dest in ending else "button") for o in ranked]


def risk_labels(engine: MediationEngine) -> dict[str, str]:
    """Risk levels as the flows define them (R-RISK: the scale is data)."""
    return {
        r.code: r.label for c in engine.registry.all() for r in mediation_spec(c.spec).risk_levels
    }


def _labels(engine: MediationEngine) -> dict[str, Any]:
    return {
        "levels": {str(k): v for k, v in LEVEL_LABELS.items()},
        "roles": {str(k): v for k, v in ROLE_LABELS.items()},
        "origins": {str(k): v for k, v in ORIGIN_LABELS.items()},
        "party_roles": {str(k): v for k, v in PARTY_ROLE_LABELS.items()},
        "consents": CONSENT_LABELS,
        "risks": risk_labels(engine),
    }


@router.get("/", response_class=HTMLResponse)
def workbench(request: Request, user: User, services: ServicesDep) -> HTMLResponse:
    bench = desk.workbench(services.engine, user)
    return page(request, user, "desk.html", "工作台", bench=bench, **_labels(services.engine))


CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _list(
    request: Request,
    user: Principal,
    services: Services,
    text: str | None,
    overdue: bool,
    cursor: str | None,
) -> HTMLResponse:
    filters = queries.CaseFilters(text=text, overdue=overdue or None)
    result = case_page(services.engine, user.actor, filters, cursor, 20)
    partial = request.headers.get("HX-Request") == "true"
    return page(
        request,
        user,
        "cases.html",
        "案件",
        block="results" if partial else None,
        result=result,
        q=text or "",
        overdue=overdue,
        **_labels(services.engine),
    )


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, user: User, services: ServicesDep) -> HTMLResponse:
    """Every case in one's scope, newest first."""
    return _list(request, user, services, None, False, None)


@router.post("/cases", response_class=HTMLResponse)
def case_search(request: Request, user: User, services: ServicesDep, form: Form) -> HTMLResponse:
    """A search is posted, so that a party's name never sits in a URL, a history or a log."""
    text = str(form.get("q", "")).strip()[:100] or None
    cursor = str(form.get("cursor", ""))
    return _list(
        request,
        user,
        services,
        text,
        form.get("overdue") == "true",
        cursor if CURSOR.match(cursor) else None,
    )


@router.get("/cases/{case_id:int}", response_class=HTMLResponse)
def case_detail(
    request: Request,
    case_id: int,
    user: User,
    services: ServicesDep,
    documents: DocumentsDep,
    done: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    facts = desk.case_facts(services.engine, user, case_id)
    versions = case_versions(documents, case_id, user)
    spec = services.engine.registry.get(facts.case.spec_id, facts.case.spec_version).spec
    links = (
        progress.case_links(services.engine, user, case_id)
        if user.has_any(progress.LINK_ROLES)
        else None
    )
    return page(
        request,
        user,
        "case.html",
        f"案件 {facts.case.number}",
        facts=facts,
        c=facts.case,
        versions=versions,
        action_links={a.trigger: action_link(case_id, a) for a in facts.actions},
        trigger_labels={
            "open": "受理登记",
            IMPORT_TRIGGER: IMPORT_TRIGGER_LABEL,
            **{t.trigger: t.label for t in spec.transitions},
        },
        state_labels={s.name: s.label for s in spec.states},
        signer_labels=SIGNER_LABELS,
        party_names={p.party_id: p.name for p in facts.parties},
        done=done,
        links=links,
        next_session=upcoming_session(facts.case.data, services.engine.clock.now()),
        steps=flow_steps(spec, facts),
        allowed=ordered_actions(spec, facts.case.state, [a for a in facts.actions if a.allowed]),
        base_url=services.settings.base_url.rstrip("/"),
        attachments=listed_attachments(documents, case_id),
        **_labels(services.engine),
    )


@router.get("/cases/{case_id:int}/documents/{kind}/{version:int}")
def case_document(
    case_id: int, kind: DocumentKind, version: int, user: User, documents: DocumentsDep
) -> Response:
    """The same download as the API's, for a signed-in browser."""
    return download_document(case_id, kind, version, documents, user)


@router.get("/cases/{case_id:int}/documents/{kind}/latest")
def latest_document(
    case_id: int, kind: DocumentKind, user: User, documents: DocumentsDep
) -> Response:
    """The newest version of a kind: the signing page's “打开协议书”."""
    versions = case_versions(documents, case_id, user, kind)
    if not versions:
        raise DocumentNotFound(f"{case_id}/{kind}")
    return download_document(case_id, kind, versions[-1].version, documents, user)


@router.get("/cases/{case_id:int}/flow.svg")
def case_flow(case_id: int, user: User, services: ServicesDep) -> Response:
    """The case's flow, its state and the path it took highlighted (the API's drawing)."""
    svg = case_graph_svg(services.engine, case_id, user.actor)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})
