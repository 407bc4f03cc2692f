"""Checking a PDF someone holds: upload it and read the verdict in plain words (the same check
as POST /api/v1/documents/verify; nothing is stored)."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData, UploadFile

from api.routes.documents import MAX_UPLOAD, DocumentsDep, document_workers
from api.routes.verify import verify_bytes
from api.schemas import VerificationPublic
from api.web.session import PageRoute, checked_form, page
from documents import VerificationError

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]


def plain_verdict(result: VerificationPublic) -> tuple[str, str]:
    """(css class, one sentence anyone can act on)."""
    if result.ok and result.complete:
        return "ok", "这份文件是真的：所有签名都有效，签署以后没有被改动过。"
    if result.ok:
        return "warn", "已有的签名有效，但还有人没签：" + "、".join(
            result.unsigned
        ) + "。文件尚未生效。"
    if not result.signatures:
        return "warn", "这份文件没有电子签名，无法核验。纸质文件请核对原件上的签名和印章。"
    if result.modified_after_last_signature or any(not s.intact for s in result.signatures):
        return "bad", "这份文件在签署以后被改动过，内容不可信，请不要采信。"
    return "bad", "这份文件的签名有问题（证书不受信任或签署顺序不对），请不要采信。"


@router.get("/verify", response_class=HTMLResponse)
def upload_form(request: Request) -> HTMLResponse:
    return page(
        request, None, "verify_upload.html", "核验文书", result=None, verdict=None, error=None
    )


@router.post("/verify", response_class=HTMLResponse)
async def upload(request: Request, documents: DocumentsDep, form: Form) -> HTMLResponse:
    item = form.get("file")
    error = None
    result = None
    if not isinstance(item, UploadFile) or not item.filename:
        error = "请选择要核验的 PDF 文件"
    else:
        data = await item.read()
        if len(data) > MAX_UPLOAD:
            error = "文件太大（不超过 20 MB）"
        elif not data.startswith(b"%PDF-"):
            error = "这不是 PDF 文件，请选择文书的 PDF 文件"
        else:
            try:
                result = await anyio.to_thread.run_sync(
                    verify_bytes, documents, data, limiter=document_workers("verify")
                )
            except VerificationError as exc:
                error = exc.message_zh
    verdict = plain_verdict(result) if result else None
    return page(
        request,
        None,
        "verify_upload.html",
        "核验文书",
        400 if error else 200,
        result=result,
        verdict=verdict,
        error=error,
    )
