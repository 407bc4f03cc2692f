"""The party's progress page (/p/<link>) and the staff's side of it on the case page: a link
and QR code per party, revocable. The page asks for the last four digits of the party's phone
first; a correct answer opens it in that browser for two hours (an encrypted cookie)."""

from __future__ import annotations

import io
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.authz import Principal
from api.deps import ServicesDep
from api.routes.documents import DocumentsDep
from api.services import progress as service
from api.services.notices import acceptance_notice
from api.web.forms import form_int
from api.web.session import PageRoute, checked_form, page, signed_in

router = APIRouter(route_class=PageRoute, include_in_schema=False)
User = Annotated[Principal, Depends(signed_in)]
Form = Annotated[FormData, Depends(checked_form)]
PASS_COOKIE = "fq_progress"
_PRIVATE = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}


def _private(response: Response) -> Response:
    response.headers.update(_PRIVATE)
    return response


def _progress(
    request: Request,
    token: str,
    status: int = 200,
    *,
    view: object = None,
    ask: bool = False,
    error: str | None = None,
) -> Response:
    """The progress page in one of its four shapes: the case, the digits asked for, a wrong
    answer, or the same 404 for a link that is missing, revoked or expired."""
    return _private(
        page(
            request,
            None,
            "progress.html",
            "案件进度",
            status,
            view=view,
            ask=ask,
            error=error,
            token=token,
        )
    )


@router.get("/p/{token}", response_class=HTMLResponse)
def progress_page(request: Request, token: str, services: ServicesDep) -> Response:
    engine = services.engine
    if len(token) > 64:
        return _progress(request, token, 404)
    link_id = service.pass_link(engine, request.cookies.get(PASS_COOKIE))
    view = service.progress(engine, token, link_id) if link_id is not None else None
    if view is not None:
        return _progress(request, token, view=view)
    if not service.usable(engine, token):
        return _progress(request, token, 404)
    return _progress(request, token, ask=True)


@router.post("/p/{token}", response_class=HTMLResponse)
async def check(request: Request, token: str, services: ServicesDep, form: Form) -> Response:
    digits = str(form.get("digits", "")).strip()[:8]
    link_id, error = await run_in_threadpool(
        service.check_digits, services.engine, token[:64], digits
    )
    if link_id is None:
        return _progress(request, token, 400, ask=True, error=error)
    response = RedirectResponse(f"/p/{token}", 303)
    response.set_cookie(
        PASS_COOKIE,
        service.issue_pass(services.engine, link_id),
        max_age=int(service.PASS_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=f"/p/{token}",
    )
    return _private(response)


@router.get("/p/{token}/agreement.pdf")
def agreement(
    request: Request, token: str, services: ServicesDep, documents: DocumentsDep
) -> Response:
    link_id = service.pass_link(services.engine, request.cookies.get(PASS_COOKIE))
    found = service.agreement_digest(services.engine, token[:64], link_id) if link_id else None
    if found is None:
        return RedirectResponse(f"/p/{token}", 303)
    digest, version = found
    return _private(
        Response(
            documents.read(digest),
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="agreement-v{version}.pdf"',
                "Cache-Control": "private, no-store",
            },
        )
    )


@router.post("/cases/{case_id:int}/progress-links")
def create(case_id: int, user: User, services: ServicesDep, form: Form) -> Response:
    service.create_link(services.engine, user, case_id, form_int(form, "party_id"))
    return RedirectResponse(f"/cases/{case_id}#progress-links", 303)


@router.post("/cases/{case_id:int}/progress-links/{link_id:int}/revoke")
def revoke(case_id: int, link_id: int, user: User, services: ServicesDep, form: Form) -> Response:
    del form  # checked
    service.revoke_link(services.engine, user, case_id, link_id)
    return RedirectResponse(f"/cases/{case_id}#progress-links", 303)


@router.get("/cases/{case_id:int}/progress-links/{link_id:int}/notice.pdf")
def notice(case_id: int, link_id: int, user: User, documents: DocumentsDep) -> Response:
    """The party's 受理通知书 with their link's QR code, to print and hand over."""
    pdf = acceptance_notice(documents, user, case_id, link_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="notice-{case_id}-{link_id}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/cases/{case_id:int}/progress-links/{link_id:int}/qr.svg")
def qr(case_id: int, link_id: int, user: User, services: ServicesDep) -> Response:
    links = service.case_links(services.engine, user, case_id)
    link = next((x for x in links if x.id == link_id), None)
    if link is None:
        return Response(status_code=404)
    out = io.BytesIO()
    segno.make(service.link_url(services.settings.base_url, link.token), error="m").save(
        out, kind="svg", scale=6, border=2, xmldecl=False
    )
    return Response(
        out.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"}
    )
