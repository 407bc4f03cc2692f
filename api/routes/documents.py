"""A case's documents: the versions of its agreement, each as PDF, drafting it from structured
content, and collecting its signatures in turn (electronic, or on paper with the scan); and the
rest of its case file (卷宗) rendered read-only from what the case records."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.authz import Principal, pii_purpose, visible_case
from api.deps import CurrentPrincipal, IdempotencyKey, IfMatch, Services, ServicesDep
from api.documents import DocumentService
from api.documents.case_papers import CaseFileKind
from api.documents.core import printed_versions
from api.errors import (
    DocumentNotFound,
    VersionRequired,
    problem_responses,
)
from api.idempotency import Claim, StoredReply, fingerprint, run_once
from api.pii import log_reads, party_reads
from api.routes.common import CASE_READ_PROBLEMS, CaseId, etag, fired_fields, parse_etag
from api.schemas import (
    MAX_ID,
    AgreementDraft,
    DocumentActionResponse,
    DocumentKind,
    DocumentVersionPublic,
    RulingRequest,
    SignerKind,
    SigningStep,
    SignRequest,
)
from api.uploads import read_upload
from documents import SigningError
from documents.appearance import handwritten
from engine.errors import InvalidInput
from engine.hooks import DocumentRecord
from engine.records import FireResult
from mediation.records import SignatureRecord
from workflows.kinds import AGREEMENT, AGREEMENT_SCAN, RULING

# one router for the stored documents and the case file, so routes/__init__ stays as it was
router = APIRouter(prefix="/cases/{case_id}", tags=["文书"])

KIND_LABELS = {
    AGREEMENT: "人民调解协议书",
    AGREEMENT_SCAN: "人民调解协议书（纸质签署扫描件）",
    "ruling": "民事裁定书",
    "case_file": "人民调解卷宗",
    "confirmation_application": "司法确认申请书（申请人本人签署）",
}
SIGN_TRIGGERS: dict[str, str] = {
    "party": "sign_party",
    "mediator": "sign_mediator",
    "seal": "apply_seal",
}
MAX_UPLOAD = 20 * 2**20  # a scanned agreement of a few pages; verification uploads too
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_ETAG_HEADER = {"ETag": {"description": "案件版本，用于 If-Match", "schema": {"type": "string"}}}
_WRITE_PROBLEMS = problem_responses(401, 403, 404, 409, 422, 428, 500, 503)
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


async def get_documents(request: Request) -> DocumentService:
    documents: DocumentService = request.app.state.documents
    return documents


DocumentsDep = Annotated[DocumentService, Depends(get_documents)]

_LIMITERS: dict[str, anyio.CapacityLimiter] = {}


def document_workers(purpose: str) -> anyio.CapacityLimiter:
    """Rendering (~0.2 s), signing and verifying are CPU work: one writer thread (the CA and
    the signer keys are created on first use, and SQLite has one writer anyway) and two
    verifier threads, so neither starves the event loop or the case writers."""
    limiter = _LIMITERS.get(purpose)
    if limiter is None:
        limiter = _LIMITERS[purpose] = anyio.CapacityLimiter(1 if purpose == "write" else 2)
    return limiter


async def read_pdf_upload(request: Request) -> bytes:
    """The uploaded PDF, as an application/pdf body or the `file` part of a multipart form.

    Raises:
        UploadTooLarge: over MAX_UPLOAD (checked while reading, not after).
        UnsupportedUpload: another content type.
        InvalidInput: a malformed form, or no file in it.
    """
    upload = await read_upload(
        request,
        limit=MAX_UPLOAD,
        bare="application/pdf",
        missing="请在表单的 file 字段上传 PDF 文件",
    )
    return upload.data


def seen_version(in_body: int | None, if_match: str | None) -> int:
    """The case version the caller saw, from If-Match or the body (they must agree).

    Raises:
        InvalidInput: both are given and differ.
        VersionRequired: neither is given.
    """
    header = parse_etag(if_match) if if_match is not None else None
    if header is not None and in_body is not None and header != in_body:
        raise InvalidInput(
            f"If-Match（{header}）与 expected_version（{in_body}）不一致",
            field="expected_version",
        )
    version = header if header is not None else in_body
    if version is None:
        raise VersionRequired()
    return version


def present_versions(
    documents: DocumentService,
    case_id: int,
    records: list[DocumentRecord],
    linked: list[tuple[str, int | None, int | None]],
    signatures: list[SignatureRecord],
) -> list[DocumentVersionPublic]:
    """Versions with their QR code's verification id and the signing steps that made them.

    `linked` and `signatures` are the same rows (tx.signature_documents / tx.signatures,
    both ordered by id), read in one transaction.
    """
    steps: dict[int, list[SigningStep]] = {}
    for (_, _, document_id), signature in zip(linked, signatures, strict=True):
        if document_id is not None:
            steps.setdefault(document_id, []).append(
                SigningStep(
                    signer_kind=signature.signer_kind,
                    party_id=signature.party_id,
                    user_id=signature.user_id,
                    method=signature.method,
                    signed_at=signature.signed_at,
                )
            )
    result: list[DocumentVersionPublic] = []
    for kind in dict.fromkeys(r.kind for r in records):
        of_kind = [r for r in records if r.kind == kind]
        printed = printed_versions(of_kind, set(steps))
        for record in of_kind:
            public_id = documents.public_id(case_id, kind, printed[record.version])
            result.append(
                DocumentVersionPublic(
                    kind=kind,
                    kind_label=KIND_LABELS.get(kind, kind),
                    version=record.version,
                    sha256=record.sha256,
                    created_at=record.created_at,
                    printed_version=printed[record.version],
                    verification_id=public_id,
                    verify_url=documents.verify_url(public_id),
                    download_url=f"/api/v1/cases/{case_id}/documents/{kind}/{record.version}",
                    signatures=steps.get(record.id, []),
                )
            )
    return sorted(result, key=lambda v: (v.created_at, v.kind, v.version))


def case_versions(
    documents: DocumentService, case_id: int, principal: Principal, kind: str | None = None
) -> list[DocumentVersionPublic]:
    with documents.engine.db.transaction(write=False) as tx:
        visible_case(tx, case_id, principal)
        records = tx.documents(case_id, kind)
        linked = tx.signature_documents(case_id)
        signatures = tx.signatures(case_id)
    return present_versions(documents, case_id, records, linked, signatures)


@router.get("/documents", response_model=list[DocumentVersionPublic], responses=CASE_READ_PROBLEMS)
def list_documents(
    case_id: CaseId,
    documents: DocumentsDep,
    principal: CurrentPrincipal,
    kind: DocumentKind | None = None,
) -> list[DocumentVersionPublic]:
    """Every stored version of the case's documents, oldest first, with its signing steps."""
    return case_versions(documents, case_id, principal, kind)


@router.get(
    "/documents/{kind}/{version}",
    response_class=Response,
    responses={
        200: {
            "description": "PDF 文书",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(401, 403, 404, 422, 500),
    },
)
def download_document(
    case_id: CaseId,
    kind: DocumentKind,
    version: Annotated[int, Path(ge=1, le=MAX_ID)],
    documents: DocumentsDep,
    principal: CurrentPrincipal,
) -> Response:
    """Download one version of a case document as PDF, exactly as stored (full ID and phone
    numbers: the same roles as reveal=true, and logged)."""
    with documents.engine.db.transaction(write=False) as tx:
        case = visible_case(tx, case_id, principal)
        record = next((r for r in tx.documents(case_id, kind) if r.version == version), None)
        if record is None:
            raise DocumentNotFound(f"{case_id}/{kind}/{version}")
        purpose = pii_purpose(tx, principal, case)  # R-PII: the document is unmasked
        reads = party_reads(tx, case_id)
    data = documents.read(record.sha256)
    where = f"GET /cases/{case_id}/documents/{kind}/{version}"
    log_reads(documents.engine, principal.user_id, case_id, reads, f"{purpose}（{where}）")
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="case-{case_id}-{kind}-v{version}.pdf"',
            "ETag": f'"{record.sha256}"',
            "Cache-Control": "private, no-store",  # it carries ID and phone numbers (R-PII)
            "X-Content-Type-Options": "nosniff",
        },
    )


def _outcome(
    services: Services,
    documents: DocumentService,
    principal: Principal,
    result: FireResult,
    kind: str,
) -> StoredReply:
    versions = case_versions(documents, result.case_id, principal, kind)
    latest = versions[-1]
    response = DocumentActionResponse(
        **fired_fields(services.engine.registry, result), document=latest
    )
    headers = {"ETag": etag(result.version), "Location": latest.download_url}
    return StoredReply(201, response.model_dump(mode="json"), headers)


async def _write(
    services: Services,
    documents: DocumentService,
    principal: Principal,
    seen: tuple[int | None, str | None],
    idempotency: tuple[str | None, str, str],
    kind: str,
    act: Callable[[int], FireResult],
) -> JSONResponse:
    """One document write: off the event loop and one at a time per process (it renders and
    signs), once per Idempotency-Key. `seen`: the body's expected version and If-Match;
    `idempotency`: the key, the path and the request body it stands for; `act` does the
    work at the version the caller saw; its response names the latest version of `kind`."""
    key, path, request_body = idempotency

    def run() -> JSONResponse:
        expected = seen_version(*seen)

        def work(_: Claim | None) -> StoredReply:
            return _outcome(services, documents, principal, act(expected), kind)

        return run_once(
            services.engine,
            user_id=principal.user_id,
            key=key,
            request_fingerprint=fingerprint("POST", path, f"{request_body}|{expected}"),
            keep=timedelta(hours=services.settings.idempotency_hours),
            work=work,
        )

    return await anyio.to_thread.run_sync(run, limiter=document_workers("write"))


@router.post(
    "/documents/agreement",
    status_code=201,
    response_model=DocumentActionResponse,
    responses={201: {"headers": _ETAG_HEADER}, **_WRITE_PROBLEMS},
)
async def draft_agreement(
    case_id: CaseId,
    body: AgreementDraft,
    services: ServicesDep,
    documents: DocumentsDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Render the agreement from its structured content and record it as the next version."""

    def act(expected: int) -> FireResult:
        return documents.draft_agreement(
            case_id, principal.actor, expected, body.payload(), trigger=body.trigger
        )

    path = f"/cases/{case_id}/documents/agreement"
    idempotency = (idempotency_key, path, body.model_dump_json())
    seen = (body.expected_version, if_match)
    return await _write(services, documents, principal, seen, idempotency, AGREEMENT, act)


def _signature_png(body: SignRequest) -> bytes | None:
    """The handwritten signature image, checked here: a bad upload is the caller's error."""
    if body.signature_png_base64 is None:
        return None
    if body.signer != "party":
        raise InvalidInput("只有当事人签署时可以提供手写签名图片", field="signature_png_base64")
    try:
        png = base64.b64decode(body.signature_png_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("手写签名图片须为 Base64 编码", field="signature_png_base64") from exc
    if not png.startswith(_PNG_MAGIC):
        raise InvalidInput("手写签名图片须为 PNG 格式", field="signature_png_base64")
    try:
        handwritten(png)
    except SigningError as exc:
        raise InvalidInput(exc.message_zh, field="signature_png_base64") from exc
    return png


def _check_party(signer: str, party_id: int | None) -> None:
    if signer == "party" and party_id is None:
        raise InvalidInput("当事人签署须指明 party_id", field="party_id")
    if signer != "party" and party_id is not None:
        raise InvalidInput("只有当事人签署时才需要 party_id", field="party_id")


@router.post(
    "/documents/agreement/signatures",
    status_code=201,
    response_model=DocumentActionResponse,
    responses={201: {"headers": _ETAG_HEADER}, **_WRITE_PROBLEMS},
)
async def sign_agreement(
    case_id: CaseId,
    body: SignRequest,
    services: ServicesDep,
    documents: DocumentsDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Sign the latest version electronically: each party, then the mediator, then the seal."""

    def act(expected: int) -> FireResult:
        _check_party(body.signer, body.party_id)
        png = _signature_png(body)
        actor = principal.actor
        if body.signer == "party":
            assert body.party_id is not None  # _check_party
            return documents.sign_party(
                case_id, actor, expected, body.party_id, signature_png=png, mark=body.mark
            )
        if body.mark != "signature":
            raise InvalidInput("只有当事人可以按指印或盖章代替签名", field="mark")
        if body.signer == "mediator":
            return documents.sign_mediator(case_id, actor, expected)
        return documents.apply_seal(case_id, actor, expected)

    path = f"/cases/{case_id}/documents/agreement/signatures"
    idempotency = (idempotency_key, path, body.model_dump_json())
    seen = (body.expected_version, if_match)
    return await _write(services, documents, principal, seen, idempotency, AGREEMENT, act)


@router.post(
    "/documents/ruling",
    status_code=201,
    response_model=DocumentActionResponse,
    responses={201: {"headers": _ETAG_HEADER}, **_WRITE_PROBLEMS},
)
async def issue_ruling(
    case_id: CaseId,
    body: RulingRequest,
    services: ServicesDep,
    documents: DocumentsDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Rule on the confirmation application: the 民事裁定书 is signed with the court's key."""

    def act(expected: int) -> FireResult:
        return documents.issue_ruling(
            case_id,
            principal.actor,
            expected,
            outcome=body.outcome,
            ruling_number=body.ruling_number,
            reasoning=body.reasoning,
            ground=body.ground,
        )

    path = f"/cases/{case_id}/documents/ruling"
    idempotency = (idempotency_key, path, body.model_dump_json())
    seen = (body.expected_version, if_match)
    return await _write(services, documents, principal, seen, idempotency, RULING, act)


@router.post(
    "/documents/agreement/paper-signatures",
    status_code=201,
    response_model=DocumentActionResponse,
    openapi_extra=UPLOAD_BODY,
    responses={201: {"headers": _ETAG_HEADER}, **problem_responses(413, 415), **_WRITE_PROBLEMS},
)
async def sign_on_paper(
    case_id: CaseId,
    request: Request,
    services: ServicesDep,
    documents: DocumentsDep,
    principal: CurrentPrincipal,
    signer: Annotated[SignerKind, Query(description="签署人：当事人、调解员或印章")],
    party_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    expected_version: Annotated[int | None, Query(ge=1, le=MAX_ID, alias="version")] = None,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Record a wet signature or the physical seal with the uploaded scan (PDF)."""
    scan = await read_pdf_upload(request)

    def act(expected: int) -> FireResult:
        _check_party(signer, party_id)
        trigger = SIGN_TRIGGERS[signer]
        return documents.sign_on_paper(
            case_id, principal.actor, expected, trigger, scan, party_id=party_id
        )

    path = f"/cases/{case_id}/documents/agreement/paper-signatures"
    idempotency = (idempotency_key, path, f"{signer}|{party_id}|{hashlib.sha256(scan).hexdigest()}")
    seen = (expected_version, if_match)
    return await _write(services, documents, principal, seen, idempotency, AGREEMENT_SCAN, act)


_PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "PDF 文书",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get(
    "/case-file.pdf",
    response_class=Response,
    responses={**_PDF_RESPONSE, **problem_responses(401, 404, 422, 500)},
)
async def case_file_volume(
    case_id: CaseId, documents: DocumentsDep, principal: CurrentPrincipal
) -> Response:
    """The case's 卷宗 as one sealed volume; archived write-once when the case is closed."""
    from api.services.case_file import CaseFileService

    pdf = await anyio.to_thread.run_sync(
        CaseFileService(documents).volume,
        case_id,
        principal.actor,
        limiter=document_workers("write"),
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="case-{case_id}-case-file.pdf"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/confirmation-package",
    response_class=Response,
    responses={**_PDF_RESPONSE, **problem_responses(401, 403, 404, 422, 500)},
)
async def confirmation_package(
    case_id: CaseId, documents: DocumentsDep, principal: CurrentPrincipal
) -> Response:
    """The 司法确认申请书 as filed with the court: full ID numbers and phones, read logged."""
    from api.services.jc_package import confirmation_package as build

    pdf = await anyio.to_thread.run_sync(
        partial(build, documents, principal, case_id), limiter=document_workers("write")
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="case-{case_id}-jc-package.pdf"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/case-file/{kind}",
    response_class=Response,
    responses={**_PDF_RESPONSE, **problem_responses(401, 404, 422, 500)},
)
async def render_case_file(
    case_id: CaseId,
    kind: CaseFileKind,
    documents: DocumentsDep,
    principal: CurrentPrincipal,
    index: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Render one case-file document from the case as it stands (read-only, not recorded)."""
    pdf = await anyio.to_thread.run_sync(
        partial(documents.render_case_document, case_id, principal.actor, kind, index=index),
        limiter=document_workers("write"),  # one renderer per process: renders run in turn
    )
    suffix = f"-{index}" if index is not None else ""
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="case-{case_id}-{kind}{suffix}.pdf"',
            "Cache-Control": "private, no-store",  # the case as of now, with party details
            "X-Content-Type-Options": "nosniff",
        },
    )
