"""Uploads read within a limit: the body is counted while it arrives (a declared length over
the limit is refused before reading), then taken either as a bare body of one media type or
as the `file` part of a multipart form, with the form's other fields."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from api.errors import UnsupportedUpload, UploadTooLarge
from engine.errors import InvalidInput

MULTIPART = "multipart/form-data"
FORM_SLACK = 64 * 2**10  # a form's boundaries, part headers and small fields around the file


@dataclass(frozen=True, slots=True)
class Upload:
    data: bytes
    filename: str | None = None  # None for a bare body
    fields: dict[str, str] = field(default_factory=dict)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_upload(request: Request, *, limit: int, bare: str | None, missing: str) -> Upload:
    """The uploaded file: the body itself when its media type is `bare`, else the `file` part
    of a multipart form (`missing` is the message when the form has none).

    Raises:
        UnsupportedUpload: neither `bare` nor a multipart form.
        UploadTooLarge: the file over `limit` bytes (checked while reading, not after).
        InvalidInput: a malformed form, or no file in it.
    """
    kind = media_type(request)
    if kind != MULTIPART and (bare is None or kind != bare):
        raise UnsupportedUpload()
    ceiling = limit + (FORM_SLACK if kind == MULTIPART else 0)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > ceiling:
        raise UploadTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > ceiling:
            raise UploadTooLarge(limit)
    if kind != MULTIPART:
        return Upload(bytes(body))

    async def replay() -> AsyncGenerator[bytes, None]:
        yield bytes(body)
        yield b""

    parser = MultiPartParser(
        request.headers, replay(), max_files=1, max_fields=10, max_part_size=FORM_SLACK
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidInput(f"上传的表单格式有误：{exc.message}", field="file") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput(missing, field="file")
        data = await upload.read()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        filename = upload.filename
    finally:
        await form.close()
    if len(data) > limit:
        raise UploadTooLarge(limit)
    return Upload(data, filename, fields)
