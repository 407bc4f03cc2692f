"""What a person may do with a case and what each action takes, for routes and pages alike.

Each action carries its declared fields as JSON Schema (Chinese titles, today's options for
choices and references); steps that belong to a service name the route that performs them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from engine.errors import ServiceStepRefused
from engine.fields import json_schema
from engine.records import Actor
from engine.registry import Registry
from mediation.engine import MediationEngine

PREFIX = "/api/v1"
# The route that performs each service step (a POST on the case).
SERVICE_ROUTES: dict[str, str] = {
    "draft_agreement": "/cases/{case_id}/documents/agreement",
    "revise_agreement": "/cases/{case_id}/documents/agreement",
    "sign_party": "/cases/{case_id}/documents/agreement/signatures",
    "sign_mediator": "/cases/{case_id}/documents/agreement/signatures",
    "apply_seal": "/cases/{case_id}/documents/agreement/signatures",
    "confirm": "/cases/{case_id}/documents/ruling",
    "reject": "/cases/{case_id}/documents/ruling",
}


class ActionOption(BaseModel):
    """One way out of the case's state: may I, why not, and what it takes."""

    trigger: str
    label: str
    dest: str
    dest_label: str
    allowed: bool
    reason_required: bool
    blocked_reasons: list[str]
    service: str | None = Field(
        default=None, description="由该服务办理（documents 文书、court 法院）；通用接口不受理"
    )
    route: str | None = Field(default=None, description="办理该步骤的接口（service 不为空时）")
    schema_: dict[str, Any] = Field(
        default_factory=dict,
        alias="schema",
        serialization_alias="schema",
        description="所需字段的 JSON Schema：title 为中文名称，x-kind 为控件类型，"
        "选项与引用字段以 oneOf 列出您现在可以选择的值",
    )

    model_config = {"populate_by_name": True}


def route_for(
    engine: MediationEngine, trigger: str, service: str | None, case_id: int
) -> str | None:
    """The route that performs a service step, or None when the generic door takes it."""
    if service is None or service in engine.open_services:
        return None
    path = SERVICE_ROUTES.get(trigger)
    return f"POST {PREFIX}{path.format(case_id=case_id)}" if path else None


def describe_actions(engine: MediationEngine, case_id: int, actor: Actor) -> list[ActionOption]:
    """Every action out of the case's state for this actor, with its fields and options."""
    return [
        ActionOption(
            trigger=o.trigger,
            label=o.label,
            dest=o.dest,
            dest_label=o.dest_label,
            allowed=o.allowed,
            reason_required=o.reason_required,
            blocked_reasons=list(o.blocked_reasons),
            service=o.service,
            route=route_for(engine, o.trigger, o.service, case_id),
            schema=o.schema or {},
        )
        for o in engine.available_triggers(case_id, actor, describe=True)
    ]


def with_route(
    engine: MediationEngine, error: ServiceStepRefused, case_id: int
) -> ServiceStepRefused:
    """The refusal of a service step at the generic door, naming the route to use instead."""
    route = route_for(engine, error.trigger, error.service, case_id)
    if route is not None:
        error.fields["route"] = route
        error.message_zh += f"：请使用 {route}"
        error.args = (error.message_zh,)
    return error


def trigger_schemas(registry: Registry) -> dict[str, dict[str, Any]]:
    """One request schema per trigger across every loaded flow, for OpenAPI.

    A trigger declared differently in several places (escalating to a room or to the panel)
    takes the union of their fields; a field is required only where every declaration
    requires it. Internal fields (digests a service sets) are left out.
    """
    merged: dict[str, dict[str, Any]] = {}
    required: dict[str, set[str] | None] = {}
    labels: dict[str, list[str]] = {}
    for compiled in registry.all():
        for transition in compiled.spec.transitions:
            schema = json_schema(transition.fields, None)
            entry = merged.setdefault(transition.trigger, {})
            entry.update(schema["properties"])
            needed = set(schema.get("required", []))
            before = required.get(transition.trigger)
            required[transition.trigger] = needed if before is None else before & needed
            names = labels.setdefault(transition.trigger, [])
            if transition.label not in names:
                names.append(transition.label)
    schemas: dict[str, dict[str, Any]] = {}
    for trigger, properties in sorted(merged.items()):
        payload: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if required[trigger]:
            payload["required"] = sorted(required[trigger] or ())
        schemas[trigger] = {
            "title": "／".join(labels[trigger]),
            "type": "object",
            "properties": {
                "trigger": {"type": "string", "const": trigger},
                "expected_version": {"type": "integer", "minimum": 1},
                "payload": payload,
                "reason": {"type": "string", "maxLength": 2000},
            },
            "required": ["trigger"],
            "additionalProperties": False,
        }
    return schemas
