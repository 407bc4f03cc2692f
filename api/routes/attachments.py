"""The supporting papers of a confirmation application (R-JC-PACKAGE) over HTTP, and the
application's own steps: prepared for the court, then opened for each applicant to sign on
their own device (a personal link) — the act itself happens on /s/<secret>."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from api.deps import CurrentPrincipal
from api.errors import problem_responses
from api.otp import sender_for
from api.routes.common import CaseId
from api.routes.documents import DocumentsDep, document_workers
from api.schemas import MAX_ID
from api.services import attachments as papers
from api.services.jc_application import prepare_application
from api.services.own_signing import OwnActSigning
from api.uploads import MULTIPART, media_type, read_upload
from engine.errors import InvalidInput
from workflows.confirmation import APPLICATION

router = APIRouter(prefix="/cases/{case_id}", tags=["文书"])
AttachmentId = Annotated[int, Path(ge=1, le=MAX_ID, description="附件编号")]


class AttachmentPublic(BaseModel):
    id: int
    kind: str = Field(description="identity_proof、property_proof、power_of_attorney 等")
    kind_label: str
    party_id: int | None
    party_name: str | None
    title: str
    media_type: str
    size: int
    sha256: str


class PrepareApplication(BaseModel):
    expected_version: int = Field(ge=1)
    applicants: list[int] = Field(min_length=1, max_length=50)
    court_id: int | None = None


class OpenSigning(BaseModel):
    party_id: int = Field(ge=1)
    document: Literal["agreement", "confirmation_application"] = "agreement"
    channel: Literal["link", "kiosk"] = "link"


class SigningOpened(BaseModel):
    url: str = Field(description="当事人本人签署页（单次有效）")
    signer_name: str
    expires_at: str


def _public(item: papers.Attachment) -> AttachmentPublic:
    return AttachmentPublic(
        id=item.id,
        kind=item.kind,
        kind_label=item.kind_label,
        party_id=item.party_id,
        party_name=item.party_name,
        title=item.title,
        media_type=item.media_type,
        size=item.size,
        sha256=item.sha256,
    )


async def _form(request: Request) -> tuple[dict[str, str], bytes]:
    if media_type(request) != MULTIPART:
        raise InvalidInput("请以 multipart/form-data 上传附件（file 字段）", field="file")
    upload = await read_upload(
        request, limit=papers.MAX_BYTES, bare=None, missing="请选择要上传的文件（PDF、JPEG 或 PNG）"
    )
    return upload.fields, upload.data


async def store_upload(
    request: Request, documents: Any, principal: Any, case_id: int
) -> papers.Attachment:
    """Parse the form and store the file (shared by the API and the case page)."""
    fields, data = await _form(request)
    party = fields.get("party_id", "").strip()
    if party and not party.isdigit():
        raise InvalidInput("当事人编号应为数字", field="party_id")
    return await anyio.to_thread.run_sync(
        partial(
            papers.upload,
            documents,
            principal,
            case_id,
            kind=fields.get("kind", ""),
            title=fields.get("title", ""),
            party_id=int(party) if party else None,
            data=data,
        ),
        limiter=document_workers("write"),
    )


@router.post(
    "/attachments",
    status_code=201,
    responses=problem_responses(401, 403, 404, 413, 422, 500),
)
async def upload_attachment(
    request: Request, case_id: CaseId, documents: DocumentsDep, principal: CurrentPrincipal
) -> AttachmentPublic:
    """Upload a supporting paper (PDF/JPEG/PNG, ≤ 10 MB): fields kind, title, party_id, file."""
    return _public(await store_upload(request, documents, principal, case_id))


@router.get("/attachments", responses=problem_responses(401, 404, 500))
async def list_attachments(
    case_id: CaseId, documents: DocumentsDep, principal: CurrentPrincipal
) -> list[AttachmentPublic]:
    """The case's supporting papers (titles and kinds; contents only by download)."""
    found = await anyio.to_thread.run_sync(partial(papers.for_case, documents, principal, case_id))
    return [_public(a) for a in found]


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses=problem_responses(401, 403, 404, 500),
)
async def download_attachment(
    case_id: CaseId,
    attachment_id: AttachmentId,
    documents: DocumentsDep,
    principal: CurrentPrincipal,
) -> Response:
    """One supporting paper, for the case's mediator or the court applied to (read logged)."""
    item, data = await anyio.to_thread.run_sync(
        partial(papers.read, documents, principal, case_id, attachment_id)
    )
    return Response(
        data,
        media_type=item.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="attachment-{item.id}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post(
    "/documents/confirmation-application",
    responses=problem_responses(401, 403, 404, 409, 422, 500),
)
async def prepare_confirmation_application(
    case_id: CaseId, body: PrepareApplication, documents: DocumentsDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Prepare the 司法确认申请书 for the court; each applicant then signs it themselves."""
    result = await anyio.to_thread.run_sync(
        partial(
            prepare_application,
            documents,
            principal,
            case_id,
            body.expected_version,
            body.applicants,
            body.court_id,
        ),
        limiter=document_workers("write"),
    )
    return {"case_id": case_id, "version": result.version, "state": result.state}


@router.post("/signing-acts", status_code=201, responses=problem_responses(401, 404, 422, 500))
async def open_signing(
    case_id: CaseId,
    body: OpenSigning,
    documents: DocumentsDep,
    principal: CurrentPrincipal,
) -> SigningOpened:
    """Open a party's own act of signing (R-ESIGN): a single-use link to give to that party."""
    own = OwnActSigning(documents, sender_for(documents.settings))
    document = APPLICATION if body.document == "confirmation_application" else "agreement"
    act, token = await anyio.to_thread.run_sync(
        partial(own.open_party_act, principal, case_id, body.party_id, body.channel, document)
    )
    base = documents.settings.base_url.rstrip("/")
    return SigningOpened(
        url=f"{base}/s/{token}", signer_name=act.signer_name, expires_at=act.expires_at.isoformat()
    )
