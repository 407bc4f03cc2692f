"""Mediation's own kinds of bad input, in the engine's error tree (engine/errors.py): the same
stable codes, answered as any InvalidInput is."""

from __future__ import annotations

from engine.errors import InvalidInput


class InvalidIdNumber(InvalidInput):
    code = "invalid_id_number"
    title_zh = "身份证号码有误"

    def __init__(self, message_zh: str, *, reason: str, field: str | None = None) -> None:
        super().__init__(message_zh, field=field)
        self.fields["reason"] = reason
        self.reason = reason


class InvalidPhoneNumber(InvalidInput):
    code = "invalid_phone_number"
    title_zh = "手机号码有误"
