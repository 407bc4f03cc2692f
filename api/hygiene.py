"""Input hygiene at the HTTP boundary, in one place: text that may reach the database, the
logs or a document is refused when it carries control characters or bidirectional-text
controls, and request bodies are limited before anything parses them.

`check_text` is the one rule (schemas, services and the lead's field checks call it);
`HygieneMiddleware` applies it to every query parameter, path and JSON or form body, and
refuses an oversized body while reading it, before any parsing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import RequestTooLarge, engine_error_response
from engine.errors import InvalidInput

__all__ = ["HygieneMiddleware", "check_text", "text_problem"]

# C0 controls but tab, newline and carriage return; DEL; C1 controls
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# bidirectional embeddings, overrides, isolates and marks: nothing Chinese (or Uyghur, whose
# Arabic script is right-to-left by itself) needs them, and they disguise what a name says
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNPAIRED_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_BREAKS = re.compile("[\u2028\u2029]")
_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded")


def text_problem(value: str) -> str | None:
    """Why `value` is not acceptable text (in Chinese), or None when it is."""
    if _CONTROL.search(value):
        return "不能包含控制字符"
    if _BIDI.search(value):
        return "不能包含双向文字控制字符"
    if _UNPAIRED_SURROGATE.search(value):
        return "包含无效的字符编码"
    if _LINE_BREAKS.search(value):
        return "不能包含 Unicode 行分隔符"
    return None


def check_text(value: str, *, field: str) -> str:
    """`value` unchanged when it is acceptable text.

    Raises:
        InvalidInput: control characters (but tab and line breaks), bidi controls,
            unpaired surrogates or Unicode line separators; names the field.
    """
    problem = text_problem(value)
    if problem is not None:
        raise InvalidInput(f"{field} {problem}", field=field)
    return value


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a parsed JSON value, keys included, with where it is."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", key
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}")


class HygieneMiddleware:
    """Refuses bad text in paths, query strings and JSON/form bodies with a 422, and JSON or
    form bodies over `max_body_bytes` with a 413 as soon as the size is known. Uploads
    (PDF, multipart) pass through: their routes enforce their own limits while reading.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_target(scope)
        except InvalidInput as exc:
            await engine_error_response(Request(scope), exc)(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") and "content-length" not in (
            headers
        ):
            await self.app(scope, receive, send)
            return
        if content_type not in _BODY_TYPES:
            await self.app(scope, receive, send)
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
        try:
            self._check_body(bytes(body), content_type)
        except InvalidInput as exc:
            await engine_error_response(Request(scope), exc)(scope, receive, send)
            return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = RequestTooLarge(self.max_body_bytes)
        response = engine_error_response(Request(scope), error)
        response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)

    @staticmethod
    def _check_target(scope: Scope) -> None:
        check_text(unquote(scope.get("path", "")), field="path")
        raw = scope.get("query_string", b"")
        if raw:
            try:
                pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
            except UnicodeDecodeError as exc:
                raise InvalidInput("查询参数不是有效的 UTF-8", field="query") from exc
            for name, value in pairs:
                check_text(name, field="query")
                check_text(value, field=f"query.{name[:40]}")

    @staticmethod
    def _check_body(body: bytes, content_type: str) -> None:
        if not body:
            return
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput("请求内容不是有效的 UTF-8", field="body") from exc
        if content_type == "application/x-www-form-urlencoded":
            for name, value in parse_qsl(text, keep_blank_values=True):
                check_text(name, field="body")
                check_text(value, field=f"body.{name[:40]}")
            return
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            return  # not JSON: the route's own parser answers 422
        for where, value in _strings(parsed, "body"):
            check_text(value, field=where)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # a disconnect, when the client goes away

    return replay
