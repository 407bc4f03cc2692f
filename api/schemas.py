"""Request and response models of the HTTP API (the Case family: CaseCreate, CasePublic, ...).

Inputs are strict (`extra="forbid"`) and bounded, so bad input is a 422 naming the field and
never reaches the database; integers stay within what every backend and JSON client holds.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from mediation.intake import ApplicationForm, Origin, PartyRole
from mediation.vocabulary import Role

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


class MembershipsUpdate(_In):
    memberships: list[MembershipIn] = Field(min_length=1, max_length=20)

    @field_validator("memberships")
    @classmethod
    def _no_system_role(cls, value: list[MembershipIn]) -> list[MembershipIn]:
        if any(m.role == Role.system for m in value):
            raise ValueError("“系统”角色不能分配给用户")
        return value


class PasswordReset(_In):
    new_password: str = Field(min_length=8, max_length=128)


class PasswordChange(_In):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


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


class RepresentativeCreate(_In):
    """A party's 法定代理人 (R-MINOR), recorded as a person: name, ID number, relation."""

    name: str = Field(min_length=1, max_length=64)
    id_number: str = Field(min_length=1, max_length=30)
    relation: str = Field(min_length=1, max_length=20, description="与当事人的关系，如父亲、母亲")


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
    legal_representative: RepresentativeCreate | None = Field(
        default=None, description="未满十八周岁的当事人须登记法定代理人（R-MINOR）"
    )


class CaseCreate(_In):
    """受理登记 with its parties, in one request."""

    spec_id: Identifier = "standard"
    spec_version: int | None = Field(
        default=None,
        ge=1,
        description="流程版本；不填时为最新版本（新案件应使用最新版本，旧版本仅为延续其已有行为）",
    )
    committee_id: RowId
    category_code: str = Field(min_length=1, max_length=40)
    summary: str = Field(min_length=1, max_length=4000)
    origin: Origin
    application_form: ApplicationForm | None = Field(
        default=None,
        description="申请方式（R-APPLY）：written 书面申请、oral 口头申请；当事人申请的案件必填",
    )
    risk_level: str = Field(min_length=1, max_length=20)
    parties: list[PartyCreate] = Field(min_length=2, max_length=50)
    org_unit_id: RowId | None = None
    grid_id: RowId | None = Field(
        default=None,
        description="所属网格（您辖区内的网格）；不填时按当事人住址匹配网格（仅作建议，"
        "可用 POST /org-units/grid-match 先查看匹配结果）",
    )
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


# --- documents -----------------------------------------------------------------------------


def _plain_text(value: str) -> str:
    """No NUL and no lone surrogates: neither survives a PDF or a database."""
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("文本含有无法处理的字符")
    return value


PlainText = Annotated[str, AfterValidator(_plain_text)]
DocumentKind = Literal["agreement", "agreement_scan", "ruling", "confirmation_application"]
SignerKind = Literal["party", "mediator", "seal"]


class TermIn(_In):
    """One obligation of the agreement (R-AGREEMENT-FIELDS): who owes whom what, by when."""

    obligor: RowId = Field(description="义务人（本案当事人 party_id）")
    obligee: RowId = Field(description="权利人（本案当事人 party_id）")
    content: PlainText = Field(min_length=1, max_length=500, description="履行内容")
    amount: (
        Annotated[int, Field(ge=0, le=MAX_SAFE_INT)]
        | Annotated[float, Field(ge=0, le=MAX_SAFE_INT)]
        | None
    ) = Field(default=None, description="金额（元）")
    method: PlainText = Field(
        min_length=1, max_length=200, description="履行方式（如银行转账、现金支付、当面交付）"
    )
    place: PlainText = Field(min_length=1, max_length=200, description="履行地点")
    due_date: date = Field(description="履行期限（不得早于签署之日）")


class ResponsibilityIn(_In):
    """One party's responsibility for the dispute (人民调解法第29条第二项)."""

    party_id: RowId = Field(description="当事人（本案当事人 party_id）")
    responsibility: PlainText = Field(
        min_length=1, max_length=2000, description="该当事人的责任；无责任的写“不承担责任”"
    )


class AgreementDraft(_In):
    """The structured agreement to render (协议书), at the case version the caller saw."""

    trigger: Literal["draft_agreement", "revise_agreement"] = "draft_agreement"
    facts: PlainText = Field(min_length=1, max_length=5000, description="纠纷事实")
    issues: PlainText | list[Annotated[PlainText, Field(min_length=1, max_length=500)]] = Field(
        min_length=1, max_length=2000, description="争议事项：逐项列出，或以分号、换行分隔"
    )
    responsibilities: list[ResponsibilityIn] = Field(
        min_length=1, max_length=50, description="各方责任：每位当事人一项"
    )
    terms: list[TermIn] = Field(min_length=1, max_length=50, description="协议条款")
    expected_version: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="您看到的案件版本；也可用 If-Match 请求头"
    )

    def payload(self) -> dict[str, Any]:
        """What the engine's draft action takes (the same checks run on it again there)."""
        return self.model_dump(mode="json", exclude={"trigger", "expected_version"})


class SignRequest(_In):
    """An electronic signature on the latest version: a party, the mediator or the seal."""

    signer: SignerKind
    party_id: RowId | None = Field(default=None, description="签署的当事人（signer 为 party 时）")
    mark: Literal["signature", "thumbprint", "seal"] = Field(
        default="signature",
        description="当事人的签署方式：签名、按指印，或单位当事人盖章",
    )
    signature_png_base64: str | None = Field(
        default=None,
        max_length=2_000_000,
        description="手写签名图片（PNG，Base64）；不提供时以姓名作为签名外观",
    )
    expected_version: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="您看到的案件版本；也可用 If-Match 请求头"
    )


class RulingRequest(_In):
    """The court's ruling on a confirmation application (R-JC-TRACK), signed with its key."""

    outcome: Literal["confirmed", "rejected"]
    ruling_number: str = Field(min_length=1, max_length=60, description="裁定书案号")
    reasoning: str = Field(min_length=1, max_length=5000, description="裁定理由")
    ground: str | None = Field(
        default=None, max_length=40, description="驳回理由代码（outcome 为 rejected 时必填）"
    )
    expected_version: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="您看到的案件版本；也可用 If-Match 请求头"
    )


class SigningStep(BaseModel):
    """A signature recorded on the case, by the step that produced a document version."""

    signer_kind: str
    party_id: int | None
    user_id: int | None
    method: str
    signed_at: datetime


class DocumentVersionPublic(BaseModel):
    kind: str
    kind_label: str
    version: int
    sha256: str
    created_at: datetime
    printed_version: int = Field(description="本版本二维码所对应的版本（拟定或修订稿）")
    verification_id: str = Field(description="本版本二维码中的核验码")
    verify_url: str
    download_url: str
    signatures: list[SigningStep] = Field(description="生成本版本的签署记录")


class DocumentActionResponse(FireResponse):
    document: DocumentVersionPublic


class SignatureCheck(BaseModel):
    field: str
    label: str = Field(description="签名栏，如“申请人”")
    signer_name: str
    expected_name: str
    role: str | None
    role_label: str | None
    signed_at: datetime | None = Field(description="签署时间（北京时间）")
    intact: bool = Field(description="签名后内容完好，签名值有效")
    trusted: bool = Field(description="证书由受信任的机构签发")
    matches_slot: bool = Field(description="签署人与签名栏相符")
    modification_level: str
    changed_after: bool = Field(description="签署后除追加签名外，文书是否被改动")
    changed_after_zh: str
    development_certificate: bool
    ok: bool
    summary_zh: str


class VerificationPublic(BaseModel):
    verdict: Literal["valid", "invalid", "incomplete", "out_of_order"] = Field(
        description="核验结论：有效 / 无效 / 签署未完成 / 签署顺序不符"
    )
    verdict_zh: str
    ok: bool = Field(description="有效：计划的签名齐备、顺序正确、签名人相符，签署后未被修改")
    complete: bool = Field(description="全部签署人均已签署")
    sha256: str
    headline_zh: str = Field(description="核验结论及其理由（不含逐个签名）")
    summary_zh: str
    problems: list[str] = Field(description="结论为无效时的问题")
    order_found: list[str] = Field(description="签名的实际顺序（签名栏与签署人）")
    order_planned: list[str] = Field(description="签署计划的顺序")
    signatures: list[SignatureCheck]
    unsigned: list[str] = Field(description="尚待签署的签名栏")
    modified_after_last_signature: bool
    last_modification_level: str | None


class DocumentVerification(VerificationPublic):
    """A stored document found by the verification id of its QR code."""

    kind: str
    kind_label: str
    case_number: str
    version: int = Field(description="核验码所对应的版本")
    current_version: int = Field(description="由该版本签署而来的最新版本（即核验的版本）")
    created_at: datetime
    stored_intact: bool = Field(description="存档文件与登记的摘要一致")
    superseded_by: int | None = Field(description="已被之后的修订稿取代时，修订稿的版本")
    paper_signatures: list[str] = Field(description="纸质签署的签署人（婚姻、收养、继承类）")


# --- statistics ----------------------------------------------------------------------------


class UnitStatistics(BaseModel):
    """One org unit's headline figures, for drilling down a level."""

    unit: OrgUnitPublic
    received: int = Field(description="受理数")
    mediated: int = Field(description="调解数（成功 + 调解不成）")
    successful: int = Field(description="调解成功数")
    success_rate: float | None = Field(description="调解成功率 = 成功 ÷ 调解")
    resolution_rate: float | None = Field(description="化解率 = 成功 ÷ 受理")


class StatisticsPublic(BaseModel):
    """R-STATS over the cases registered in the period, as they stand now."""

    unit: OrgUnitPublic | None = Field(description="统计范围；为空表示本人可见的全部")
    start: date = Field(description="受理日期自（含）")
    end: date = Field(description="受理日期至（含）")
    received: int = Field(description="受理数")
    successful: int = Field(description="调解成功数（达成书面或口头协议）")
    failed: int = Field(description="调解不成数")
    not_mediated: int = Field(description="未进入调解数（拒绝调解、不予受理）")
    in_progress: int = Field(description="办理中")
    mediated: int = Field(description="调解数（成功 + 调解不成）")
    success_rate: float | None = Field(description="调解成功率 = 成功 ÷ 调解")
    resolution_rate: float | None = Field(description="化解率 = 成功 ÷ 受理")
    resolved_at: dict[str, int] = Field(
        description="在各层级化解的件数（grid/community/street/court）"
    )
    resolved_share: dict[str, float | None] = Field(description="在各层级化解的占比")
    average_working_days: float | None = Field(description="平均办理工作日（受理至协议生效或终止）")
    overdue: int = Field(description="超期件数")
    visited: int = Field(description="已回访的成功案件数")
    performed: int = Field(description="最近一次回访已履行的件数")
    performance_rate: float | None = Field(description="履行率 = 已履行 ÷ 已回访")
    satisfaction: dict[str, int] = Field(description="最近一次回访的满意度分布")
    confirmation: dict[str, int] = Field(
        description="司法确认：申请、确认有效、驳回、不予受理、撤回的件数（每案每种结果计一次）"
    )
    by_category: dict[str, int] = Field(description="按纠纷类型")
    by_risk: dict[str, int] = Field(description="按风险等级")
    children: list[UnitStatistics] = Field(description="下一级组织的分项")
