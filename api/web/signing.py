"""Signing the agreement on the screen: each party reads it and signs with a finger or a mouse
(signature_pad), a thumbprint photo (按指印) or, for an organisation, its seal; kiosk mode
hands one tablet from party to party, the page clearing between them; then the mediator and
the committee's seal. Categories excluded from e-signatures (R-ESIGN-EXCLUDE) upload the scan
of the wet-signed paper instead. Every step goes through the document service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from api.authz import Principal
from api.documents import DocumentService
from api.otp import sender_for
from api.routes.documents import MAX_UPLOAD, DocumentsDep, _signature_png, document_workers
from api.schemas import SignRequest
from api.services.own_signing import OwnActSigning
from api.services.signing import SigningStatus, photo_as_png, signing_status
from api.web.forms import form_int
from api.web.session import PageRoute, checked_form, page, signed_in
from documents import DocumentError
from documents.signing import Mark
from engine.errors import EngineError, InvalidInput
from engine.records import FireResult

router = APIRouter(route_class=PageRoute, include_in_schema=False)
User = Annotated[Principal, Depends(signed_in)]
Form = Annotated[FormData, Depends(checked_form)]
DATA_URL = "data:image/png;base64,"


def _render(
    request: Request,
    user: Principal,
    status: SigningStatus,
    *,
    party_id: int | None = None,
    kiosk: bool = False,
    ready: bool = False,
    signed: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    signing = status.party(party_id) if party_id else None
    if kiosk and signing is None and ready:
        signing = status.next_party
    return page(
        request,
        user,
        "sign.html",
        f"签署协议 · {status.number}",
        400 if error else 200,
        s=status,
        signing=signing,
        kiosk=kiosk,
        ready=ready,
        signed=signed,
        error=error,
        names={p.party_id: p.name for p in status.parties},
    )


@router.get("/cases/{case_id:int}/sign", response_class=HTMLResponse)
def sign_page(
    request: Request,
    case_id: int,
    user: User,
    documents: DocumentsDep,
    party: Annotated[int | None, Query(ge=1)] = None,
    kiosk: bool = False,
    ready: bool = False,
    signed: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    status = signing_status(documents.engine, user, case_id)
    return _render(request, user, status, party_id=party, kiosk=kiosk, ready=ready, signed=signed)


async def _upload(form: FormData, name: str) -> bytes | None:
    item = form.get(name)
    if not isinstance(item, UploadFile) or not item.filename:
        return None
    data = await item.read()
    if len(data) > MAX_UPLOAD:
        raise InvalidInput("文件太大（不超过 20 MB）", field=name)
    return data or None


def _drawn(form: FormData) -> bytes | None:
    raw = str(form.get("signature", ""))
    if not raw:
        return None
    if not raw.startswith(DATA_URL):
        raise InvalidInput("手写签名须为 PNG 图片", field="signature")
    try:
        body = SignRequest(signer="party", signature_png_base64=raw.removeprefix(DATA_URL))
    except ValidationError as exc:  # over the API's size limit
        raise InvalidInput("手写签名图片太大，请点“重写”后签得小一些", field="signature") from exc
    return _signature_png(body)  # the API's own check of a drawn signature


async def _run(act: Callable[[], FireResult]) -> None:
    """A document write off the event loop, one at a time per process (as the API's)."""
    await anyio.to_thread.run_sync(act, limiter=document_workers("write"))


@router.post("/cases/{case_id:int}/sign/party", response_class=HTMLResponse)
async def sign_party(
    request: Request, case_id: int, user: User, documents: DocumentsDep, form: Form
) -> Response:
    kiosk = form.get("kiosk") == "true"
    party_id = form_int(form, "party_id")
    version = form_int(form, "version")
    status = signing_status(documents.engine, user, case_id)
    signer = status.party(party_id)
    try:
        if signer is None:
            raise InvalidInput("请选择签署的当事人", field="party_id")
        if status.esign_excluded:
            scan = await _upload(form, "scan")
            if scan is None:
                raise InvalidInput("请上传签名并按指印后的协议书扫描件（PDF）", field="scan")
            await _run(
                lambda: documents.sign_on_paper(
                    case_id, user.actor, version, "sign_party", scan, party_id=party_id
                ),
            )
        else:
            if form.get("agree") != "yes":
                raise InvalidInput("请先阅读协议，并勾选“我已阅读并同意”", field="agree")
            photo = await _upload(form, "photo")
            png = photo_as_png(photo, "photo") if photo else _drawn(form)
            if png is None:
                raise InvalidInput("请在方框内签名，或拍照上传指印", field="signature")
            if status.own_act:
                id_number = str(form.get("id_number", "")).strip()
                mark: Mark = "signature"
                if photo:
                    mark = "seal" if signer.kind == "organisation" else "thumbprint"
                await _run(
                    lambda: _kiosk_act(documents, user, case_id, party_id, id_number, png, mark)
                )
            else:
                await _run(
                    lambda: documents.sign_party(
                        case_id, user.actor, version, party_id, signature_png=png
                    ),
                )
    except (EngineError, DocumentError) as exc:
        fresh = signing_status(documents.engine, user, case_id)
        return _render(
            request,
            user,
            fresh,
            party_id=party_id,
            kiosk=kiosk,
            ready=True,
            error=exc.message_zh,
        )
    assert signer is not None  # refused above otherwise
    target = f"/cases/{case_id}/sign?signed={quote(signer.name)}"
    return RedirectResponse(target + ("&kiosk=true" if kiosk else ""), 303)


def _kiosk_act(
    documents: DocumentService,
    user: Principal,
    case_id: int,
    party_id: int,
    id_number: str,
    png: bytes,
    mark: Mark,
) -> FireResult:
    """R-ESIGN on the room's kiosk: the party showed their ID to the mediator, who typed its
    number (checked against the stored one and recorded); the party then signs the version
    they read, under an event certificate made for this act alone."""
    if not id_number:
        raise InvalidInput("请核对当事人出示的身份证件，并录入证件号码", field="id_number")
    own = OwnActSigning(documents, sender_for(documents.settings))
    _, token = own.open_party_act(user, case_id, party_id, "kiosk")
    own.check_id_document(user, token, id_number)
    return own.sign(token, read_and_agreed=True, signature_png=png, mark=mark)


async def _official(
    request: Request,
    case_id: int,
    user: Principal,
    documents: DocumentService,
    form: FormData,
    trigger: str,
) -> Response:
    version = form_int(form, "version")
    status = signing_status(documents.engine, user, case_id)
    try:
        if status.esign_excluded:
            scan = await _upload(form, "scan")
            if scan is None:
                raise InvalidInput("请上传签名盖章后的协议书扫描件（PDF）", field="scan")
            await _run(
                lambda: documents.sign_on_paper(case_id, user.actor, version, trigger, scan),
            )
        elif trigger == "sign_mediator" and status.own_act:
            password = str(form.get("password", ""))
            own = OwnActSigning(documents, sender_for(documents.settings))
            await _run(lambda: own.sign_as_mediator(user, case_id, password))
        elif trigger == "sign_mediator":
            await _run(lambda: documents.sign_mediator(case_id, user.actor, version))
        else:
            await _run(lambda: documents.apply_seal(case_id, user.actor, version))
    except (EngineError, DocumentError) as exc:
        fresh = signing_status(documents.engine, user, case_id)
        return _render(request, user, fresh, error=exc.message_zh)
    if trigger == "apply_seal":
        return RedirectResponse(f"/cases/{case_id}?done=apply_seal#main", 303)
    return RedirectResponse(f"/cases/{case_id}/sign", 303)


@router.post("/cases/{case_id:int}/sign/mediator", response_class=HTMLResponse)
async def sign_mediator(
    request: Request, case_id: int, user: User, documents: DocumentsDep, form: Form
) -> Response:
    return await _official(request, case_id, user, documents, form, "sign_mediator")


@router.post("/cases/{case_id:int}/sign/seal", response_class=HTMLResponse)
async def apply_seal(
    request: Request, case_id: int, user: User, documents: DocumentsDep, form: Form
) -> Response:
    return await _official(request, case_id, user, documents, form, "apply_seal")
