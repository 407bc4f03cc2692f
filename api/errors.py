"""Errors as RFC 9457 problem+json: one table from the EngineError tree to HTTP statuses.

The API's own failures (authentication, rate limits, preconditions, idempotency) extend the
same tree, so one handler on EngineError answers them all; Starlette finds it along the MRO.

    EngineError (engine/errors.py)
    ├── ... the engine's errors
    └── ApiError
        ├── NotAuthenticated          401  no, expired or forged bearer token
        ├── InvalidCredentials        401  wrong username or password
        ├── Forbidden                 403  the role may not use this route
        ├── PiiNotPermitted           403  an unmasked ID or phone number was asked for
        ├── TooManyLoginAttempts      429  per username and client address
        ├── VersionRequired           428  a write to a case without If-Match or expected_version
        ├── IdempotencyKeyReused      422  the same key with a different request
        ├── IdempotencyInProgress     409  the first request with this key is still running
        ├── GraphUnavailable          503  Graphviz is missing or failed
        ├── DocumentNotFound          404  no such version, or a verification id that fails its MAC
        ├── UploadTooLarge            413  an uploaded PDF over the limit
        ├── RequestTooLarge           413  a JSON or form body over the limit (before parsing)
        └── UnsupportedUpload         415  an upload neither application/pdf nor multipart

The documents package's DocumentError tree (documents/errors.py) is mapped in the same table,
by class: refusals of the signing plan are 409 (the document's state: retry after the earlier
signatory) or 422 (never, for this document); missing fonts or CA are 503, the rest 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.headers import security_headers
from documents.errors import (
    AlreadySigned,
    CertificateError,
    DocumentError,
    ElectronicSignatureExcluded,
    FontUnavailable,
    NotASignatory,
    RenderError,
    SigningError,
    SigningOutOfOrder,
    StoreError,
    SubsetterUnavailable,
    TemplateDataError,
    VerificationError,
)
from engine.errors import (
    CalendarDataError,
    CaseNotFound,
    ConcurrentUpdate,
    DefinitionError,
    EngineError,
    GuardRejected,
    InvalidInput,
    NotFound,
    OutOfScope,
    ReasonRequired,
    RoleNotPermitted,
    ServiceStepRefused,
    TransitionNotAllowed,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ApiError(EngineError):
    code = "api_error"
    title_zh = "请求失败"


class NotAuthenticated(ApiError):
    code = "not_authenticated"
    title_zh = "未登录或登录已过期"

    def __init__(self, message_zh: str = "请先登录") -> None:
        super().__init__(message_zh)


class InvalidCredentials(ApiError):
    code = "invalid_credentials"
    title_zh = "用户名或密码错误"

    def __init__(self) -> None:
        super().__init__("用户名或密码错误")


class Forbidden(ApiError):
    code = "forbidden"
    title_zh = "无权访问"

    def __init__(self, message_zh: str, *, required_roles: list[str] | None = None) -> None:
        super().__init__(message_zh, required_roles=required_roles)


class PiiNotPermitted(ApiError):
    code = "pii_not_permitted"
    title_zh = "无权查看完整证件号码或手机号码"

    def __init__(self, case_id: int) -> None:
        super().__init__(
            f"查看案件 {case_id} 当事人的完整身份证号码、手机号码，"
            "须为本案调解员或受理其司法确认申请的法院",
            case_id=case_id,
        )


class TooManyLoginAttempts(ApiError):
    code = "too_many_login_attempts"
    title_zh = "登录尝试过于频繁"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"登录失败次数过多，请 {retry_after} 秒后再试", retry_after=retry_after)
        self.retry_after = retry_after


class VersionRequired(ApiError):
    code = "version_required"
    title_zh = "缺少案件版本"

    def __init__(self) -> None:
        super().__init__("修改案件须在 If-Match 请求头或 expected_version 中给出您看到的案件版本")


class IdempotencyKeyReused(ApiError):
    code = "idempotency_key_reused"
    title_zh = "幂等键已用于其他请求"

    def __init__(self, key: str) -> None:
        super().__init__(f"幂等键“{key}”已用于内容不同的请求，请为新请求使用新的幂等键", key=key)


class IdempotencyInProgress(ApiError):
    code = "idempotency_in_progress"
    title_zh = "相同请求正在处理"

    def __init__(self, key: str) -> None:
        super().__init__(f"使用幂等键“{key}”的请求仍在处理中，请稍后重试", key=key)


class GraphUnavailable(ApiError):
    code = "graph_unavailable"
    title_zh = "无法生成流程图"

    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)


class DocumentNotFound(ApiError):
    code = "document_not_found"
    title_zh = "文书不存在"

    def __init__(self, key: str) -> None:
        super().__init__("未找到该文书：核验码有误，或文书不存在", key=key)


class OwnActRequired(ApiError):
    """R-ESIGN: a signature the flow requires as the signer's own act, asked for by another."""

    code = "own_act_required"
    title_zh = "须由签署人本人签署"

    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)


class UploadTooLarge(ApiError):
    code = "payload_too_large"
    title_zh = "上传文件过大"

    def __init__(self, limit: int) -> None:
        super().__init__(f"上传的文件不能超过 {limit // 2**20} MB", limit=limit)


class RequestTooLarge(ApiError):
    code = "request_too_large"
    title_zh = "请求内容过大"

    def __init__(self, limit: int) -> None:
        super().__init__(f"请求内容不能超过 {limit} 字节", limit=limit)


class UnsupportedUpload(ApiError):
    code = "unsupported_media_type"
    title_zh = "不支持该上传格式"

    def __init__(self) -> None:
        super().__init__("请以 application/pdf 请求体，或 multipart/form-data 的 file 字段上传 PDF")


Failure = EngineError | DocumentError

# The one table. Looked up along the MRO, so a subclass without a row takes its parent's.
STATUS: dict[type[Failure], int] = {
    EngineError: 500,
    DefinitionError: 500,
    CalendarDataError: 500,
    CaseNotFound: 404,
    NotFound: 404,
    OutOfScope: 403,  # creating in a unit outside one's scope; out-of-scope reads: see below
    RoleNotPermitted: 403,
    TransitionNotAllowed: 409,
    ServiceStepRefused: 409,
    ConcurrentUpdate: 409,
    GuardRejected: 422,
    ReasonRequired: 422,
    InvalidInput: 422,
    ApiError: 400,
    NotAuthenticated: 401,
    InvalidCredentials: 401,
    Forbidden: 403,
    PiiNotPermitted: 403,
    TooManyLoginAttempts: 429,
    VersionRequired: 428,
    IdempotencyKeyReused: 422,
    IdempotencyInProgress: 409,
    GraphUnavailable: 503,
    DocumentNotFound: 404,
    OwnActRequired: 403,
    UploadTooLarge: 413,
    RequestTooLarge: 413,
    UnsupportedUpload: 415,
    DocumentError: 500,
    RenderError: 500,
    TemplateDataError: 500,  # the API validated the data: a missing parameter is our bug
    FontUnavailable: 503,
    SubsetterUnavailable: 503,
    SigningError: 500,
    NotASignatory: 422,
    SigningOutOfOrder: 409,
    AlreadySigned: 409,
    ElectronicSignatureExcluded: 422,
    CertificateError: 503,
    StoreError: 500,
    VerificationError: 422,  # an uploaded file that is no readable PDF
}


def status_for(exc: Failure) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def disguise(exc: Failure) -> Failure:
    """An out-of-scope case answers exactly as a missing one, so existence does not leak."""
    if isinstance(exc, OutOfScope) and exc.case_id is not None:
        return CaseNotFound(exc.case_id)
    return exc


class FieldProblem(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, with Fengqiao's stable `code` and the error's own fields."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldProblem] | None = None


def problem_response(
    request: Request,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    content = {
        "type": f"urn:fengqiao:problem:{body['code']}",
        "status": status,
        "instance": request.url.path,
        **body,
    }
    return JSONResponse(content, status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def engine_error_response(request: Request, exc: Failure) -> JSONResponse:
    shown = disguise(exc)
    status = status_for(shown)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(shown, TooManyLoginAttempts):
        headers["Retry-After"] = str(shown.retry_after)
    if isinstance(shown, ConcurrentUpdate) and shown.current_version is not None:
        headers["ETag"] = f'"{shown.current_version}"'
    return problem_response(request, status, shown.to_dict(), headers)


_VALIDATION_MESSAGES = {
    "missing": "必填项",
    "extra_forbidden": "不允许的字段",
    "string_type": "须为字符串",
    "string_too_short": "长度不能少于 {min_length} 个字符",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_from_float": "须为整数",
    "float_type": "须为数字",
    "float_parsing": "须为数字",
    "bool_type": "须为是或否",
    "bool_parsing": "须为是或否",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "enum": "须为以下之一：{expected}",
    "literal_error": "须为以下之一：{expected}",
    "dict_type": "须为对象",
    "model_type": "须为对象",
    "model_attributes_type": "须为对象",
    "list_type": "须为数组",
    "tuple_type": "须为数组",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "date_type": "须为日期（YYYY-MM-DD）",
    "date_parsing": "须为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "须为日期（YYYY-MM-DD）",
    "json_invalid": "JSON 格式有误",
    "json_type": "JSON 格式有误",
    "uuid_parsing": "格式不正确",
}


def _field_message(error: dict[str, Any]) -> str:
    template = _VALIDATION_MESSAGES.get(str(error.get("type")))
    if template is None:
        return f"输入有误（{error.get('msg', '')}）"
    ctx = error.get("ctx") or {}
    try:
        return template.format(**{k: str(v) for k, v in ctx.items()})
    except (KeyError, IndexError):
        return template.split("{", 1)[0].rstrip("：") or "输入有误"


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def validation_error_response(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {
            "field": _field_name(tuple(e.get("loc", ()))),
            "message": _field_message(e),
            "type": str(e.get("type", "value_error")),
        }
        for e in exc.errors()
    ]
    first = f"{errors[0]['field']}：{errors[0]['message']}" if errors else ""
    body = {
        "code": "validation_failed",
        "title": "输入有误",
        "detail": f"请求中有 {len(errors)} 处输入有误" + (f"，如 {first}" if first else ""),
        "errors": errors,
    }
    return problem_response(request, 422, body)


_HTTP_CODES = {
    400: ("bad_request", "请求有误"),
    401: ("not_authenticated", "未登录或登录已过期"),
    403: ("forbidden", "无权访问"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    406: ("not_acceptable", "无法提供所要求的格式"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持该请求格式"),
}


def http_error_response(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code, title = _HTTP_CODES.get(exc.status_code, ("http_error", "请求失败"))
    detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else title
    if exc.status_code == 404:
        detail = f"找不到 {request.url.path}"
    body = {"code": code, "title": title, "detail": detail}
    return problem_response(request, exc.status_code, body, dict(exc.headers or {}))


def internal_error_response(request: Request, exc: Exception) -> JSONResponse:
    del exc  # logged by the server; never shown to the caller
    body = {
        "code": "internal_error",
        "title": "服务器内部错误",
        "detail": "服务器内部错误，请稍后重试",
    }
    return problem_response(request, 500, body)


def install(app: FastAPI) -> None:
    """Register the handlers: EngineError and DocumentError (the table), validation, HTTP, and
    the last resort."""

    async def on_engine_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, EngineError | DocumentError)
        return engine_error_response(request, exc)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_error_response(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return http_error_response(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette runs this beyond every middleware: the security headers are added here
        response = internal_error_response(request, exc)
        for name, value in security_headers(request.url.path).items():
            response.headers.setdefault(name, value)
        return response

    app.add_exception_handler(EngineError, on_engine_error)
    app.add_exception_handler(DocumentError, on_engine_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries documenting problem+json answers for the given statuses."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, "错误"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
        }
        for status in statuses
    }


_DESCRIPTIONS = {
    400: "请求有误",
    401: "未登录或登录已过期",
    403: "无权执行该操作",
    404: "不存在或不在您的管辖范围内",
    409: "与案件当前状态或版本冲突",
    412: "版本不符",
    413: "上传文件过大",
    422: "输入有误或条件不满足",
    428: "缺少案件版本",
    415: "不支持该请求格式",
    429: "请求过于频繁",
    500: "服务器内部错误",
    503: "暂时无法提供",
}
