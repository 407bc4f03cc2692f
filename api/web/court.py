"""The court's pages (R-JC-*): the clerk's queue with the days left of each legal deadline
(3 days to accept, 15 + 10 to review, 30 at most), acceptance, and the judge's review page
with the agreement and its verification verdict; confirming or rejecting issues the 民事裁定书,
signed with the court's key by the document service, and downloadable."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from api.authz import COURT_ROLES, Principal, require_roles
from api.deps import Services, ServicesDep
from api.routes.documents import DocumentsDep, case_versions, document_workers
from api.routes.verify import verify_public_id
from api.schemas import DocumentVerification
from api.services import desk
from api.web.forms import Problems, form_int, problems_of
from api.web.session import PageRoute, checked_form, page, signed_in
from documents import DocumentError
from engine.errors import EngineError

router = APIRouter(route_class=PageRoute, include_in_schema=False)
User = Annotated[Principal, Depends(signed_in)]
Form = Annotated[FormData, Depends(checked_form)]
OUTCOMES = {"confirmed": "裁定调解协议有效", "rejected": "裁定驳回申请"}


def rejection_grounds(services: Services) -> dict[str, str]:
    """SPC-I Art. 358's grounds, as the flows' vocabulary labels them."""
    return services.engine.registry.vocabularies["rejection_grounds"].labels()


@router.get("/court", response_class=HTMLResponse)
def queue(request: Request, user: User, services: ServicesDep) -> HTMLResponse:
    require_roles(user, COURT_ROLES, "查看司法确认申请")
    bench = desk.Workbench(court=desk.court_queue(services.engine, user))
    return page(request, user, "court.html", "司法确认申请", bench=bench)


def _review(
    request: Request,
    user: Principal,
    services: ServicesDep,
    documents: DocumentsDep,
    case_id: int,
    problems: Problems | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    facts = desk.case_facts(services.engine, user, case_id)
    versions = case_versions(documents, case_id, user)
    verdicts: dict[str, DocumentVerification] = {}
    latest = {v.kind: v for v in versions}  # oldest first: the last of each kind wins
    for kind, version in latest.items():
        verdicts[kind] = verify_public_id(documents, version.verification_id)
    problems = problems or Problems()
    return page(
        request,
        user,
        "review.html",
        f"司法确认审查 · {facts.case.number}",
        400 if problems else 200,
        facts=facts,
        c=facts.case,
        latest=latest,
        verdicts=verdicts,
        grounds=rejection_grounds(services),
        outcomes=OUTCOMES,
        names={p.party_id: p.name for p in facts.parties},
        agreement=dict(facts.case.data.get("agreement", {})),
        errors=problems.by_field,
        general=problems.general,
        values=values or {},
        judge="judge" in user.roles,
    )


@router.get("/court/{case_id:int}", response_class=HTMLResponse)
def review(
    request: Request, case_id: int, user: User, services: ServicesDep, documents: DocumentsDep
) -> HTMLResponse:
    require_roles(user, COURT_ROLES, "审查司法确认申请")
    return _review(request, user, services, documents, case_id)


@router.post("/court/{case_id:int}/ruling", response_class=HTMLResponse)
async def rule(
    request: Request,
    case_id: int,
    user: User,
    services: ServicesDep,
    documents: DocumentsDep,
    form: Form,
) -> Response:
    require_roles(user, COURT_ROLES, "作出裁定")
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    outcome = values.get("outcome", "")
    number = values.get("ruling_number", "").strip()
    reasoning = values.get("reasoning", "").strip()
    ground = values.get("ground") or None
    version = form_int(form, "version")
    problems = Problems()
    if outcome not in OUTCOMES:
        problems.by_field["outcome"] = "请选择裁定结果"
    if not number:
        problems.by_field["ruling_number"] = "请填写裁定书案号"
    if not reasoning:
        problems.by_field["reasoning"] = "请写明裁定理由"
    if outcome == "rejected" and ground not in rejection_grounds(services):
        problems.by_field["ground"] = "驳回申请须选择驳回理由"
    if not problems:

        def act() -> None:
            documents.issue_ruling(
                case_id,
                user.actor,
                version,
                outcome="confirmed" if outcome == "confirmed" else "rejected",
                ruling_number=number,
                reasoning=reasoning,
                ground=ground if outcome == "rejected" else None,
            )

        try:
            await anyio.to_thread.run_sync(act, limiter=document_workers("write"))
        except DocumentError as exc:
            problems = Problems(general=[exc.message_zh])
        except EngineError as exc:
            problems = problems_of(exc, ["outcome", "ruling_number", "reasoning", "ground"])
        else:
            return RedirectResponse(f"/court/{case_id}?ruled=1", 303)
    return await anyio.to_thread.run_sync(
        lambda: _review(request, user, services, documents, case_id, problems, values)
    )
