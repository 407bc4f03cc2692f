"""The engine's one error tree: every failure has a stable machine `code` and a Chinese message.

    EngineError
    ├── DefinitionError          a workflow spec is broken (file, line, what to change)
    ├── CaseNotFound             no such case, or not visible to this actor
    ├── TransitionNotAllowed     the trigger does not exist from the case's state
    ├── RoleNotPermitted         the actor's roles may not fire this trigger
    ├── OutOfScope               the case is outside the actor's org units and assignments
    ├── GuardRejected            a guard refused; names the guard and says why
    ├── ReasonRequired           the transition needs a written reason
    ├── ConcurrentUpdate         the case changed since the caller read it (carries the version)
    ├── ServiceStepRefused       the step belongs to a host service; names the route to use
    ├── InvalidInput             bad data from a caller; names the field (a host adds its
    │   │                        own kinds: mediation/errors.py, R-ID and R-PHONE)
    │   └── PayloadInvalid       a payload breaks its transition's declared fields (each named)
    ├── NotFound                 a referenced row (org unit, user, category, party) is missing
    └── CalendarDataError        a holiday data file is malformed

The API maps this tree to HTTP in one table (api/errors.py); nothing here knows about HTTP.
"""

from __future__ import annotations

from typing import Any, ClassVar


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    code: ClassVar[str] = "engine_error"
    title_zh: ClassVar[str] = "操作失败"

    def __init__(self, message_zh: str, **fields: Any) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.fields: dict[str, Any] = fields

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view for problem+json bodies and CLI output."""
        return {"code": self.code, "title": self.title_zh, "detail": self.message_zh, **self.fields}


class DefinitionError(EngineError):
    code = "definition_invalid"
    title_zh = "流程定义有误"

    def __init__(
        self, message_zh: str, *, file: str, line: int | None = None, hint: str | None = None
    ) -> None:
        where = f"{file}:{line}" if line is not None else file
        text = f"{where}: {message_zh}" + (f"（建议：{hint}）" if hint else "")
        super().__init__(text, file=file, line=line, hint=hint)
        self.file = file
        self.line = line
        self.hint = hint


class CaseNotFound(EngineError):
    code = "case_not_found"
    title_zh = "案件不存在"

    def __init__(self, case_id: int) -> None:
        super().__init__(f"案件 {case_id} 不存在", case_id=case_id)
        self.case_id = case_id


class NotFound(EngineError):
    code = "not_found"
    title_zh = "对象不存在"

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key} 不存在", kind=kind, key=str(key))


class TransitionNotAllowed(EngineError):
    code = "transition_not_allowed"
    title_zh = "当前状态不能执行该操作"

    def __init__(self, trigger: str, state: str, available: list[str], hint: str | None) -> None:
        message = f"当前状态“{state}”下不能执行“{trigger}”"
        if hint:
            message += f"，您是否想执行“{hint}”？"
        super().__init__(message, trigger=trigger, state=state, available=available, hint=hint)
        self.trigger = trigger


class RoleNotPermitted(EngineError):
    code = "role_not_permitted"
    title_zh = "无权执行该操作"

    def __init__(self, trigger: str, allowed_roles: list[str], allowed_labels: list[str]) -> None:
        super().__init__(
            f"“{trigger}”只能由以下角色执行：{'、'.join(allowed_labels)}",
            trigger=trigger,
            allowed_roles=allowed_roles,
        )


class OutOfScope(EngineError):
    code = "out_of_scope"
    title_zh = "案件不在您的管辖范围内"

    def __init__(self, case_id: int | None = None, *, unit_id: int | None = None) -> None:
        subject = f"案件 {case_id}" if case_id is not None else f"组织 {unit_id}"
        super().__init__(f"{subject} 不在您的管辖范围内", case_id=case_id, unit_id=unit_id)
        self.case_id = case_id


class GuardRejected(EngineError):
    code = "guard_rejected"
    title_zh = "条件不满足"

    def __init__(self, trigger: str, guard: str, reason_zh: str) -> None:
        super().__init__(reason_zh, trigger=trigger, guard=guard)
        self.guard = guard
        self.reason_zh = reason_zh


class ReasonRequired(EngineError):
    code = "reason_required"
    title_zh = "需要填写理由"

    def __init__(self, trigger: str) -> None:
        super().__init__(f"执行“{trigger}”必须填写理由", trigger=trigger)


class ConcurrentUpdate(EngineError):
    code = "concurrent_update"
    title_zh = "案件已被他人修改"

    def __init__(self, case_id: int, expected_version: int, current_version: int | None) -> None:
        super().__init__(
            f"案件 {case_id} 已被修改（您看到的版本 {expected_version}，"
            f"当前版本 {current_version}），请刷新后重试",
            case_id=case_id,
            expected_version=expected_version,
            current_version=current_version,
        )
        self.current_version = current_version


class InvalidInput(EngineError):
    code = "invalid_input"
    title_zh = "输入有误"

    def __init__(self, message_zh: str, *, field: str | None = None) -> None:
        super().__init__(message_zh, field=field)
        self.field = field


class PayloadInvalid(InvalidInput):
    """Every problem of a payload against the transition's declared fields, at once."""

    code = "payload_invalid"
    title_zh = "填写的内容有误"

    def __init__(self, trigger: str, errors: list[dict[str, str]]) -> None:
        message = "；".join(e["message"] for e in errors[:5])
        if len(errors) > 5:
            message += f"；另有 {len(errors) - 5} 处"
        super().__init__(message, field=errors[0]["field"] if errors else None)
        self.fields["errors"] = errors
        self.fields["trigger"] = trigger
        self.errors = errors


class ServiceStepRefused(EngineError):
    """The generic actions door does not perform steps that belong to a service (rendering
    and signing the agreement, the court's ruling): they would leave no document behind."""

    code = "performed_by_service"
    title_zh = "该步骤须通过专门的服务办理"

    def __init__(
        self, trigger: str, service: str, label: str, service_label: str | None = None
    ) -> None:
        """`service_label`: what the host calls the service (Requirements.service_labels)."""
        super().__init__(
            f"“{label}”须通过{service_label or service}办理，不能直接执行",
            trigger=trigger,
            service=service,
        )
        self.trigger = trigger
        self.service = service


class CalendarDataError(EngineError):
    code = "calendar_data_invalid"
    title_zh = "节假日数据有误"
