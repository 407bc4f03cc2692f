"""Shared pieces of the routes: path parameters, ETags, cursors and case presenters."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import Path

from api.errors import problem_responses
from api.schemas import MAX_ID, CasePublic
from engine.errors import InvalidInput
from engine.records import FireResult
from engine.registry import Registry
from mediation.queries import CaseExtra
from mediation.records import MediationCase

CaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="案件编号（内部 ID）")]
UnitId = Annotated[int, Path(ge=1, le=MAX_ID)]

AUTH_PROBLEMS = problem_responses(401, 422)
CASE_READ_PROBLEMS = problem_responses(401, 404, 422)


def etag(version: int) -> str:
    return f'"{version}"'


def parse_etag(value: str) -> int:
    """The case version in an If-Match value: `"3"`, `W/"3"` or `3`.

    Raises:
        InvalidInput: anything else (including `*`: a write must name the version it saw).
    """
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 10:
        raise InvalidInput('If-Match 须为案件的 ETag（版本号），如 "3"', field="If-Match")
    return int(text)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """Raises:
    InvalidInput: the cursor was not one this API issued.
    """
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    kind, _, number = text.partition(":")
    if kind != "id" or not number.isdigit() or len(number) > 10:
        raise InvalidInput("分页游标无效，请从第一页重新获取", field="cursor")
    return int(number)


def state_label(registry: Registry, spec_id: str, version: int, state: str) -> str:
    states = registry.get(spec_id, version).states
    return states[state].label if state in states else state


def fired_fields(registry: Registry, result: FireResult) -> dict[str, Any]:
    """What every action's response says of its transition (FireResponse's fields)."""
    return {
        "case_id": result.case_id,
        "trigger": result.trigger,
        "source": result.source,
        "state": result.state,
        "state_label": state_label(registry, result.spec_id, result.spec_version, result.state),
        "version": result.version,
        "event_hash": result.event_hash,
    }


def case_public(registry: Registry, case: MediationCase, extra: CaseExtra) -> CasePublic:
    return CasePublic(
        id=case.id,
        number=case.number,
        spec_id=case.spec_id,
        spec_version=case.spec_version,
        state=case.state,
        state_label=state_label(registry, case.spec_id, case.spec_version, case.state),
        level=case.level,
        resolved_level=case.resolved_level,
        category_code=case.category_code,
        risk_level=case.risk_level,
        origin=case.origin,
        summary=extra.summary,
        org_unit_id=case.org_unit_id,
        committee_id=case.committee_id,
        grid_id=case.grid_id,
        court_id=case.court_id,
        referring_court_id=case.referring_court_id,
        state_sessions=case.state_sessions,
        overdue=case.overdue,
        data=case.data,
        version=case.version,
        created_at=case.created_at,
        updated_at=extra.updated_at,
        state_entered_at=case.state_entered_at,
        agreement_effective_at=case.agreement_effective_at,
        closed_at=case.closed_at,
    )
