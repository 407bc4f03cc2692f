"""Request and response models of the HTTP API (the Case family: CaseCreate, CasePublic, ...).

Inputs are strict (`extra="forbid"`) and bounded, so bad input is a 422 naming the field and
never reaches the database; integers stay within what every backend and JSON client holds.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.intake import Origin, PartyRole
from engine.spec import Role

MAX_ID = 2**31 - 1
MAX_SAFE_INT = 2**53 - 1  # what a JavaScript client (and every JSON parser) holds exactly
MAX_PAYLOAD_DEPTH = 8

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- auth and users ------------------------------------------------------------------------


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="有效期（秒）")


class MembershipIn(_In):
    org_unit_id: RowId
    role: Role


class MembershipPublic(BaseModel):
    org_unit_id: int
    role: str
    role_label: str


class UserCreate(_In):
    username: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,64}$")
    display_name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=128)
    memberships: list[MembershipIn] = Field(min_length=1, max_length=20)

    @field_validator("memberships")
    @classmethod
    def _no_system_role(cls, value: list[MembershipIn]) -> list[MembershipIn]:
        if any(m.role == Role.system for m in value):
            raise ValueError("“系统”角色不能分配给用户")
        return value


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    active: bool
    memberships: list[MembershipPublic]


class Me(UserPublic):
    roles: list[str]
    scope_unit_ids: list[int] = Field(description="可见范围内的组织（已展开下级）")
    all_units: bool


class UserPage(BaseModel):
    items: list[UserPublic]
    next_cursor: str | None


# --- org units -----------------------------------------------------------------------------


class OrgUnitPublic(BaseModel):
    id: int
    kind: str
    name: str
    short_name: str
    parent_id: int | None
    path: str


# --- cases ---------------------------------------------------------------------------------


class PartyCreate(_In):
    """A party as registered; ID (R-ID) and phone (R-PHONE) are checked, then encrypted."""

    kind: Literal["person", "organisation"] = "person"
    role: PartyRole
    name: str = Field(min_length=1, max_length=100)
    id_number: str | None = Field(default=None, max_length=30)
    phone: str | None = Field(default=None, max_length=30)
    address: str = Field(default="", max_length=200)
    sex: Literal["male", "female"] | None = None
    ethnicity: str | None = Field(default=None, max_length=20)
    birth_date: date | None = None
    occupation: str | None = Field(default=None, max_length=50)
    representative: str | None = Field(default=None, max_length=64)
    agent_name: str | None = Field(default=None, max_length=64)
    guardian_name: str | None = Field(default=None, max_length=64)


class CaseCreate(_In):
    """受理登记 with its parties, in one request."""

    spec_id: Identifier = "standard"
    committee_id: RowId
    category_code: str = Field(min_length=1, max_length=40)
    summary: str = Field(min_length=1, max_length=4000)
    origin: Origin
    risk_level: str = Field(min_length=1, max_length=20)
    parties: list[PartyCreate] = Field(min_length=2, max_length=50)
    org_unit_id: RowId | None = None
    referring_court_id: RowId | None = None


class CasePublic(BaseModel):
    id: int
    number: str
    spec_id: str
    spec_version: int
    state: str
    state_label: str
    level: str
    resolved_level: str | None
    category_code: str
    risk_level: str
    origin: str
    summary: str
    org_unit_id: int
    committee_id: int
    grid_id: int | None
    court_id: int | None
    referring_court_id: int | None
    state_sessions: int
    overdue: bool
    data: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime
    state_entered_at: datetime
    agreement_effective_at: datetime | None
    closed_at: datetime | None


class CaseSummary(BaseModel):
    id: int
    number: str
    spec_id: str
    state: str
    state_label: str
    level: str
    category_code: str
    risk_level: str
    origin: str
    summary: str
    org_unit_id: int
    committee_id: int
    court_id: int | None
    overdue: bool
    version: int
    created_at: datetime
    state_entered_at: datetime
    parties: list[str]


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None = Field(description="下一页的游标；为空表示没有更多")


# --- actions and history -------------------------------------------------------------------


def _check_json(value: Any, depth: int = 0) -> None:
    if depth > MAX_PAYLOAD_DEPTH:
        raise ValueError(f"嵌套不能超过 {MAX_PAYLOAD_DEPTH} 层")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            raise ValueError("整数超出范围")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("数值无效")
    elif isinstance(value, str):
        if "\x00" in value:
            raise ValueError("文本不能包含空字符")
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(key, depth + 1)
            _check_json(item, depth + 1)


class FireRequest(_In):
    """Fire one of the case's actions at the version the caller last saw."""

    trigger: Identifier
    expected_version: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="您看到的案件版本；也可用 If-Match 请求头"
    )
    payload: dict[str, Any] = Field(default_factory=dict, description="该操作所需的数据")
    reason: str | None = Field(default=None, max_length=2000)

    @field_validator("payload")
    @classmethod
    def _plain_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_json(value)
        return value

    @field_validator("reason")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("文本不能包含空字符")
        return value


class FireResponse(BaseModel):
    case_id: int
    trigger: str
    source: str
    state: str
    state_label: str
    version: int
    event_hash: str


class ActionOption(BaseModel):
    trigger: str
    label: str
    dest: str
    dest_label: str
    allowed: bool
    reason_required: bool
    blocked_reasons: list[str]


class EventPublic(BaseModel):
    seq: int
    at: datetime
    actor_id: int | None
    actor_name: str
    actor_roles: list[str]
    trigger: str
    source_state: str | None
    dest_state: str
    version: int
    payload: dict[str, Any]
    reason: str | None
    prev_hash: str
    hash: str


# --- parties, sessions, assignments --------------------------------------------------------


class PartyPublic(BaseModel):
    party_id: int
    role: str
    kind: str
    name: str
    sex: str | None
    ethnicity: str | None
    birth_date: date | None
    occupation: str | None
    address: str
    representative: str | None
    guardian_name: str | None
    agent_name: str | None
    consent: str
    consent_at: datetime | None
    notice_acknowledged_at: datetime | None
    id_number: str | None = Field(description="默认脱敏；reveal=true 且有权时为完整号码")
    phone: str | None
    masked: bool


class SessionPublic(BaseModel):
    id: int
    state: str
    level: str
    held_at: datetime
    place: str
    public: bool
    attendees: list[str]
    record: str
    recorder_id: int | None


class AssignmentPublic(BaseModel):
    id: int
    user_id: int
    display_name: str
    role: str
    assigned_at: datetime
    ended_at: datetime | None
    parties_consented_at: datetime | None
    active: bool


# --- workflows -----------------------------------------------------------------------------


class WorkflowSummary(BaseModel):
    id: str
    version: int
    title: str
    initial: str
    states: int
    transitions: int
