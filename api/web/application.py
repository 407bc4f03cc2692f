"""The 司法确认申请 page (R-JC-PACKAGE): the supporting papers uploaded (PDF/JPEG/PNG), the
application prepared for the court, and each applicant's own signature — a single-use link to
their phone, or the room's kiosk after the mediator checked the ID document they showed —
before the mediator may file it. The upload form also sits on the case page."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from api.authz import Principal
from api.otp import sender_for
from api.routes.documents import DocumentsDep, document_workers
from api.services import attachments as papers
from api.services import desk
from api.services.jc_application import PREPARE, prepare_application, prepared
from api.services.own_signing import OwnActSigning
from api.web.forms import form_int
from api.web.session import PageRoute, checked_form, page, signed_in
from documents import DocumentError
from engine.errors import EngineError, InvalidInput
from workflows.confirmation import APPLICATION

router = APIRouter(route_class=PageRoute, include_in_schema=False)
User = Annotated[Principal, Depends(signed_in)]
Form = Annotated[FormData, Depends(checked_form)]


def _courts(engine: Any, user: Principal, case_id: int) -> list[tuple[int, str]]:
    """The courts this application may go to (R-JC-COURT), as the step declares them now."""
    described = engine.available_triggers(case_id, user.actor, describe=True)
    option = next((a for a in described if a.trigger == PREPARE and a.allowed), None)
    schema: dict[str, Any] = (option.schema if option else None) or {}
    court = schema.get("properties", {}).get("court_id", {})
    return [(int(o["const"]), str(o.get("title", o["const"]))) for o in court.get("oneOf", [])]


def _render(
    request: Request,
    user: Principal,
    documents: Any,
    case_id: int,
    *,
    error: str | None = None,
    link: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    facts = desk.case_facts(documents.engine, user, case_id)
    application = prepared(documents, case_id, user.actor)
    preparing = next((a for a in facts.actions if a.trigger == PREPARE), None)
    court_name = None
    if application is not None:
        with documents.engine.db.transaction(write=False) as tx:
            unit = tx.org_unit(int(application["court_id"]))
            court_name = str(unit.name) if unit is not None else None
    return page(
        request,
        user,
        "application.html",
        f"司法确认申请 · {facts.case.number}",
        400 if error else status,
        facts=facts,
        c=facts.case,
        application=application,
        preparing=preparing,
        courts=_courts(documents.engine, user, case_id) if preparing else [],
        court_name=court_name,
        attachments=papers.listed(documents, case_id),
        kinds=papers.KINDS,
        names={p.party_id: p.name for p in facts.parties},
        error=error,
        link=link,
        base_url=documents.settings.base_url.rstrip("/"),
    )


@router.get("/cases/{case_id:int}/application", response_class=HTMLResponse)
def application_page(
    request: Request, case_id: int, user: User, documents: DocumentsDep
) -> HTMLResponse:
    return _render(request, user, documents, case_id)


@router.post("/cases/{case_id:int}/attachments", response_class=HTMLResponse)
async def upload_page(
    request: Request, case_id: int, user: User, documents: DocumentsDep, form: Form
) -> Response:
    item = form.get("file")
    try:
        if not isinstance(item, UploadFile) or not item.filename:
            raise InvalidInput("请选择要上传的文件（PDF、JPEG 或 PNG）", field="file")
        data = await item.read()
        party = form_int(form, "party_id")
        await anyio.to_thread.run_sync(
            lambda: papers.upload(
                documents,
                user,
                case_id,
                kind=str(form.get("kind", "")),
                title=str(form.get("title", "")),
                party_id=party or None,
                data=data,
            ),
            limiter=document_workers("write"),
        )
    except EngineError as exc:
        return _render(request, user, documents, case_id, error=exc.message_zh)
    return RedirectResponse(f"/cases/{case_id}/application#h-attachments", 303)


@router.get("/cases/{case_id:int}/attachments/{attachment_id:int}")
def download_page(
    case_id: int, attachment_id: int, user: User, documents: DocumentsDep
) -> Response:
    item, data = papers.read(documents, user, case_id, attachment_id)
    return Response(
        data,
        media_type=item.media_type,
        headers={
            "Content-Disposition": f'inline; filename="attachment-{item.id}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/cases/{case_id:int}/application/prepare", response_class=HTMLResponse)
async def prepare_page(
    request: Request, case_id: int, user: User, documents: DocumentsDep, form: Form
) -> Response:
    facts = desk.case_facts(documents.engine, user, case_id)
    court = form_int(form, "court_id")
    try:
        await anyio.to_thread.run_sync(
            lambda: prepare_application(
                documents,
                user,
                case_id,
                form_int(form, "version"),
                [p.party_id for p in facts.parties],
                court or None,
            ),
            limiter=document_workers("write"),
        )
    except (EngineError, DocumentError) as exc:
        return _render(request, user, documents, case_id, error=exc.message_zh)
    return RedirectResponse(f"/cases/{case_id}/application#h-signatures", 303)


@router.post("/cases/{case_id:int}/application/sign", response_class=HTMLResponse)
async def open_act_page(
    request: Request, case_id: int, user: User, documents: DocumentsDep, form: Form
) -> Response:
    """A link for the applicant's phone, or the kiosk: the mediator typed the number of the
    ID document the applicant showed, and the tablet opens the applicant's own page."""
    own = OwnActSigning(documents, sender_for(documents.settings))
    party_id = form_int(form, "party_id")
    kiosk = form.get("channel") == "kiosk"
    id_number = str(form.get("id_number", "")).strip()[:18]
    try:
        if kiosk and not id_number:
            raise InvalidInput("请核对申请人出示的身份证件，并录入证件号码", field="id_number")
        act, token = await anyio.to_thread.run_sync(
            lambda: own.open_party_act(
                user, case_id, party_id, "kiosk" if kiosk else "link", APPLICATION
            )
        )
        if kiosk:
            await anyio.to_thread.run_sync(lambda: own.check_id_document(user, token, id_number))
    except EngineError as exc:
        return _render(request, user, documents, case_id, error=exc.message_zh)
    if kiosk:
        return RedirectResponse(f"/s/{token}", 303)
    base = documents.settings.base_url.rstrip("/")
    return _render(request, user, documents, case_id, link=(act.signer_name, f"{base}/s/{token}"))
