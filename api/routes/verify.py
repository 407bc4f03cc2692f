"""Public verification of signed documents: the page a document's QR code opens, the same as
JSON, and a check of an uploaded PDF. No login: whoever holds the document may check it; the
verification id's MAC keeps everyone else out."""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import anyio
import anyio.to_thread
import jinja2
from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from api.documents import DocumentService
from api.documents.core import ResolvedDocument
from api.errors import DocumentNotFound, problem_responses
from api.routes.documents import (
    KIND_LABELS,
    UPLOAD_BODY,
    DocumentsDep,
    document_workers,
    read_pdf_upload,
)
from api.schemas import DocumentVerification, SignatureCheck, VerificationPublic
from documents import (
    DocumentError,
    SignatureReport,
    StoreError,
    Verdict,
    VerificationError,
    VerificationReport,
    verify,
)
from engine.calendar import SHANGHAI as BEIJING

# Stored kinds the verifier words its verdict for (a scan has no electronic signatures).
DOCUMENT_KINDS = ("agreement", "ruling", "case_file")

router = APIRouter(prefix="/documents/verify", tags=["文书核验"])
page_router = APIRouter(tags=["文书核验"])

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
PublicId = Annotated[str, PathParam(max_length=120, description="文书二维码中的核验码")]

# Signatures appended after a signature are expected; anything else is a change.
_UNCHANGED = {"NONE": "无改动", "LTA_UPDATES": "仅补充了验证数据", "FORM_FILLING": "仅追加了签名"}
_CHANGED = {"ANNOTATIONS": "添加了批注", "OTHER": "内容被修改"}
PAPER_SIGNERS = {"party": "当事人", "mediator": "调解员", "seal": "人民调解委员会印章"}
# The id is in the URL: keep it out of caches, search engines and Referer headers.
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}

_log = logging.getLogger(__name__)


def signature_check(report: SignatureReport) -> SignatureCheck:
    intact = report.intact and report.valid
    level = report.modification_level
    changed = not intact or level not in _UNCHANGED
    if not intact:
        changed_zh = "签名所覆盖的内容已被改动"
    else:
        changed_zh = _UNCHANGED.get(level) or _CHANGED.get(level, "无法判断")
    return SignatureCheck(
        field=report.field,
        label=report.label,
        signer_name=report.signer_name,
        expected_name=report.expected_name,
        role=report.role.value if report.role else None,
        role_label=report.role.label_zh if report.role else None,
        signed_at=report.signing_time.astimezone(BEIJING) if report.signing_time else None,
        intact=intact,
        trusted=report.trusted,
        matches_slot=report.matches_slot,
        modification_level=level,
        changed_after=changed,
        changed_after_zh=changed_zh,
        development_certificate=report.development_certificate,
        ok=report.ok,
        summary_zh=report.summary_zh,
    )


def verification_public(report: VerificationReport, sha256: str) -> VerificationPublic:
    verdict = report.verdict
    return VerificationPublic(
        verdict=verdict.value,
        verdict_zh=verdict.label_zh,
        ok=report.ok,
        complete=report.complete,
        sha256=sha256,
        headline_zh=report.headline_zh,
        summary_zh=report.summary_zh,
        problems=list(report.problems_zh),
        order_found=[f"{s.label}{s.signer_name}" for s in report.signatures],
        order_planned=[s.display for s in report.plan],
        signatures=[signature_check(s) for s in report.signatures],
        unsigned=[s.display for s in report.unsigned],
        modified_after_last_signature=report.modified_after_last_signature,
        last_modification_level=report.last_modification_level,
    )


def verify_bytes(
    documents: DocumentService, pdf: bytes, kind: str | None = None
) -> VerificationPublic:
    """Verify any PDF against this deployment's CA.

    Raises:
        VerificationError: not a PDF whose signatures can be read.
    """
    try:
        report = verify(pdf, documents.trust_roots, kind=kind, zone=BEIJING)
    except DocumentError:
        raise
    except Exception as exc:  # pyHanko raises many kinds on hostile input: all mean unreadable
        _log.warning("an uploaded PDF could not be verified", exc_info=exc)  # why, for operators
        raise VerificationError("无法解析该 PDF 文件中的签名") from exc
    return verification_public(report, hashlib.sha256(pdf).hexdigest())


def _failed(sha256: str, reason: str) -> VerificationPublic:
    headline = f"核验结论：无效。{reason}"
    return VerificationPublic(
        verdict=Verdict.INVALID.value,
        verdict_zh=Verdict.INVALID.label_zh,
        ok=False,
        complete=False,
        sha256=sha256,
        headline_zh=headline,
        summary_zh=headline,
        problems=[reason],
        order_found=[],
        order_planned=[],
        signatures=[],
        unsigned=[],
        modified_after_last_signature=False,
        last_modification_level=None,
    )


def verify_public_id(documents: DocumentService, public_id: str) -> DocumentVerification:
    """The stored document a verification id names, verified as it is stored now.

    Raises:
        DocumentNotFound: a malformed or forged id, or nothing stored under it.
    """
    resolved: ResolvedDocument = documents.resolve(public_id)
    digest = resolved.current.sha256
    stored_intact = True
    try:
        kind = resolved.kind if resolved.kind in DOCUMENT_KINDS else None
        checked = verify_bytes(documents, documents.read(digest), kind)
    except StoreError as exc:
        stored_intact = False
        checked = _failed(digest, exc.message_zh)
    except VerificationError as exc:
        checked = _failed(digest, exc.message_zh)
    return DocumentVerification(
        **checked.model_dump(),
        kind=resolved.kind,
        kind_label=KIND_LABELS.get(resolved.kind, resolved.kind),
        case_number=resolved.case_number,
        version=resolved.named.version,
        current_version=resolved.current.version,
        created_at=resolved.current.created_at.astimezone(BEIJING),
        stored_intact=stored_intact,
        superseded_by=resolved.superseded_by,
        paper_signatures=[PAPER_SIGNERS.get(k, k) for k in resolved.paper_signatures],
    )


@router.get(
    "/{public_id}",
    response_model=DocumentVerification,
    responses=problem_responses(404, 422, 500),
)
async def verify_by_id(public_id: PublicId, documents: DocumentsDep) -> DocumentVerification:
    """Verify the stored document a QR code's verification id names (no login needed)."""
    return await anyio.to_thread.run_sync(
        verify_public_id, documents, public_id, limiter=document_workers("verify")
    )


@router.post(
    "",
    response_model=VerificationPublic,
    openapi_extra=UPLOAD_BODY,
    responses=problem_responses(413, 415, 422, 500),
)
async def verify_upload(request: Request, documents: DocumentsDep) -> VerificationPublic:
    """Verify an uploaded PDF's signatures against this deployment's CA; nothing is stored."""
    pdf = await read_pdf_upload(request)
    return await anyio.to_thread.run_sync(
        verify_bytes, documents, pdf, limiter=document_workers("verify")
    )


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value: names and case numbers come from users
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(result: DocumentVerification | None, status: int) -> HTMLResponse:
    html = _templates().get_template("verify.html").render(doc=result)
    return HTMLResponse(html, status, headers=_PAGE_HEADERS)


def _page(documents: DocumentService, public_id: str) -> HTMLResponse:
    try:
        result = verify_public_id(documents, public_id)
    except DocumentNotFound:
        return render_page(None, 404)
    return render_page(result, 200)


@page_router.get("/verify/{public_id}", response_class=HTMLResponse, include_in_schema=False)
async def verify_page(public_id: str, documents: DocumentsDep) -> HTMLResponse:
    """The page a document's QR code opens: who signed, when, and whether it still holds."""
    return await anyio.to_thread.run_sync(
        _page, documents, public_id, limiter=document_workers("verify")
    )
