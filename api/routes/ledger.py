"""The 台账 over HTTP: upload an Excel ledger to import (422 with every row's problems when it
has any), download the ledger of a unit and period. Roles: mediators (their committee),
supervisors (their subtree) and administrators (everything)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import CurrentPrincipal, EngineDep
from api.errors import problem_responses
from api.uploads import read_upload
from engine.calendar import SHANGHAI

router = APIRouter(prefix="/ledger", tags=["台账"])

MAX_LEDGER = 64 * 2**20  # a 100,000-row ledger is about 10 MB
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


class LedgerProblem(BaseModel):
    row: int
    column: str
    message: str
    code: str


class LedgerImportPublic(BaseModel):
    rows: int
    imported: int
    dry_run: bool
    case_ids: list[int]
    numbers: list[str]
    skipped: list[LedgerProblem]  # rows left out (good_rows_only)
    warnings: list[LedgerProblem]


async def _read_upload(request: Request) -> tuple[bytes, str]:
    """The `file` part of a multipart form (or a bare .xlsx body) and its file name.

    Raises:
        UploadTooLarge, UnsupportedUpload, InvalidInput.
    """
    upload = await read_upload(
        request, limit=MAX_LEDGER, bare=XLSX, missing="请在表单的 file 字段上传台账（.xlsx）"
    )
    return upload.data, upload.filename or "upload.xlsx"


@router.post(
    "/import",
    response_model=LedgerImportPublic,
    openapi_extra=UPLOAD_BODY,
    responses=problem_responses(401, 403, 413, 415, 422),
)
async def import_ledger(
    request: Request,
    engine: EngineDep,
    principal: CurrentPrincipal,
    unit: Annotated[
        str | None, Query(max_length=100, description="“调解组织”列为空时的调委会（名称或 id）")
    ] = None,
    good_rows_only: Annotated[bool, Query(description="只导入无误的行，列出有误的行")] = False,
    dry_run: Annotated[bool, Query(description="只检查，不写入")] = False,
) -> LedgerImportPublic:
    """Import a 人民调解案件登记台账 (.xlsx); any problem: 422 listing each row and column."""
    from api.ledger import import_ledger as run_import
    from api.ledger.service import require_ledger_role

    require_ledger_role(principal.actor, "导入台账")
    content, name = await _read_upload(request)

    def work() -> Any:
        return run_import(
            engine,
            principal.actor,
            content,
            file_name=name,
            default_unit=unit,
            good_rows_only=good_rows_only,
            dry_run=dry_run,
            read_aside="forkserver",  # never fork a server's threads (api.ledger.read)
        )

    report = await anyio.to_thread.run_sync(work)
    return LedgerImportPublic(
        rows=report.rows,
        imported=report.imported,
        dry_run=report.dry_run,
        case_ids=report.case_ids,
        numbers=report.numbers,
        skipped=[LedgerProblem(**_problem(e)) for e in report.errors],
        warnings=[LedgerProblem(**_problem(w)) for w in report.warnings],
    )


def _problem(error: Any) -> dict[str, Any]:
    return {"row": error.row, "column": error.column, "message": error.message, "code": error.code}


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}, **problem_responses(401, 403, 404, 422)},
)
async def export_ledger(
    engine: EngineDep,
    principal: CurrentPrincipal,
    unit: Annotated[str | None, Query(max_length=100, description="单位（名称或 id）")] = None,
    start: Annotated[date | None, Query(alias="from", description="登记日期自（含）")] = None,
    end: Annotated[date | None, Query(alias="to", description="登记日期至（含）")] = None,
) -> Response:
    """The 台账 of a unit (and the units under it) for a period, as .xlsx; numbers masked."""
    from api.ledger import Period
    from api.ledger import export_ledger as run_export

    last = end or engine.clock.now().astimezone(SHANGHAI).date()
    first = start or last.replace(month=1, day=1)
    content = await anyio.to_thread.run_sync(
        lambda: run_export(engine, principal.actor, unit, Period(first, last))
    )
    name = quote(f"人民调解案件登记台账_{first}_{last}.xlsx")
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )
