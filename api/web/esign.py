"""The signer's own page (R-ESIGN): /s/<secret>, opened from a personal signing link on the
party's phone or on the room's kiosk. The party reads the agreement, proves who they are with
a code sent to their phone (or the mediator already checked their ID document), then signs
with a finger. No account, no personal data in the address; the link works once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.otp import sender_for
from api.routes.documents import DocumentsDep
from api.services.own_signing import OwnActSigning, SigningAct
from api.web.session import PageRoute, checked_form, page
from api.web.signing import _drawn
from documents import DocumentError
from engine.errors import EngineError

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]
_PRIVATE = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}


def _page(
    request: Request,
    token: str,
    act: SigningAct | None,
    status: int = 200,
    *,
    error: str | None = None,
    sent_to: str | None = None,
    done: bool = False,
) -> Response:
    response = page(
        request,
        None,
        "esign.html",
        "本人签署司法确认申请书"
        if act and act.document_kind == "confirmation_application"
        else "本人签署调解协议",
        status,
        act=act,
        token=token,
        error=error,
        sent_to=sent_to,
        done=done,
    )
    response.headers.update(_PRIVATE)
    return response


def _own(documents: DocumentsDep) -> OwnActSigning:
    return OwnActSigning(documents, sender_for(documents.settings))


def _usable(own: OwnActSigning, token: str) -> SigningAct | None:
    try:
        act = own.act(token[:64])
    except EngineError:
        return None
    if act.used or own.engine.clock.now() >= act.expires_at:
        return None
    return act


@router.get("/s/{token}", response_class=HTMLResponse)
def esign_page(
    request: Request, token: str, documents: DocumentsDep, done: bool = False
) -> Response:
    own = _own(documents)
    if done:
        return _page(request, token, None, done=True)
    act = _usable(own, token)
    return _page(request, token, act, 200 if act else 404)


@router.get("/s/{token}/document.pdf")
def esign_document(token: str, documents: DocumentsDep) -> Response:
    act = _usable(_own(documents), token)
    if act is None:
        return RedirectResponse(f"/s/{token}", 303)
    return Response(
        documents.read(act.document_sha256),
        media_type="application/pdf",
        headers={
            **_PRIVATE,
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'inline; filename="{act.document_kind}.pdf"',
        },
    )


@router.post("/s/{token}/code", response_class=HTMLResponse)
async def send_code(request: Request, token: str, documents: DocumentsDep, form: Form) -> Response:
    del form
    own = _own(documents)
    try:
        sent_to = await run_in_threadpool(own.send_code, token[:64])
    except EngineError as exc:
        return _page(request, token, _usable(own, token), 400, error=exc.message_zh)
    return _page(request, token, _usable(own, token), sent_to=sent_to)


@router.post("/s/{token}/verify", response_class=HTMLResponse)
async def check_code(request: Request, token: str, documents: DocumentsDep, form: Form) -> Response:
    own = _own(documents)
    code = str(form.get("code", "")).strip()[:8]
    try:
        await run_in_threadpool(own.check_code, token[:64], code)
    except EngineError as exc:
        return _page(request, token, _usable(own, token), 400, error=exc.message_zh)
    return RedirectResponse(f"/s/{token}", 303)


@router.post("/s/{token}", response_class=HTMLResponse)
async def sign(request: Request, token: str, documents: DocumentsDep, form: Form) -> Response:
    own = _own(documents)
    try:
        png = _drawn(form)
        await run_in_threadpool(
            lambda: own.sign(
                token[:64], read_and_agreed=form.get("agree") == "yes", signature_png=png
            )
        )
    except (EngineError, DocumentError) as exc:
        return _page(request, token, _usable(own, token), 400, error=exc.message_zh)
    return RedirectResponse(f"/s/{token}?done=true", 303)
