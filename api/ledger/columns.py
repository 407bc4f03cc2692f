"""The 人民调解案件登记台账 layout the import reads and the export writes: one row per case,
headers in Chinese matched by name (any order), parties in delimited cells, and the stable
codes of every problem a row can have."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SHEET_TITLE = "人民调解案件登记台账"
PARTY_SEPARATORS = "、；;\n"  # several parties of one side in one cell, same order per cell


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    width: int = 14


COLUMNS: tuple[Column, ...] = (
    Column("serial", "序号", width=6),
    Column("number", "案件编号", aliases=("案号", "编号"), width=24),
    Column("registered", "登记日期", True, ("受理日期", "登记时间"), 12),
    Column("unit", "调解组织", False, ("调解委员会", "所属单位", "调解组织/所属单位"), 28),
    Column("grid", "网格", width=16),
    Column("category", "纠纷类别", True, ("纠纷类型",), 12),
    Column("origin", "案件来源", True, (), 16),
    Column("application_form", "申请方式", width=10),
    Column("risk", "风险等级", width=12),
    Column("applicants", "申请人", True, ("当事人姓名", "申请人姓名"), 16),
    Column("applicant_ids", "申请人身份证号码", False, ("身份证号码",), 22),
    Column("applicant_phones", "申请人联系电话", False, ("联系电话",), 14),
    Column("applicant_addresses", "申请人住址", False, ("住址",), 24),
    # R-MINOR: a party's 法定代理人, per party in the same order ("、" between; a party
    # without one left empty, e.g. "、张建华"), required for a party under age
    Column("applicant_representatives", "申请人法定代理人", False, ("申请人法定代理人姓名",), 12),
    Column("applicant_representative_ids", "申请人法定代理人身份证号码", width=22),
    Column(
        "applicant_representative_relations",
        "申请人法定代理人关系",
        False,
        ("申请人法定代理人与当事人关系",),
        10,
    ),
    Column("respondents", "被申请人", True, ("对方当事人", "被申请人姓名"), 16),
    Column("respondent_ids", "被申请人身份证号码", False, ("对方当事人身份证号码",), 22),
    Column("respondent_phones", "被申请人联系电话", False, ("对方当事人联系电话",), 14),
    Column("respondent_addresses", "被申请人住址", False, ("对方当事人住址",), 24),
    Column(
        "respondent_representatives", "被申请人法定代理人", False, ("被申请人法定代理人姓名",), 12
    ),
    Column("respondent_representative_ids", "被申请人法定代理人身份证号码", width=22),
    Column(
        "respondent_representative_relations",
        "被申请人法定代理人关系",
        False,
        ("被申请人法定代理人与当事人关系",),
        10,
    ),
    Column("summary", "纠纷简要情况", True, ("纠纷简要情况及调解过程", "简要案情"), 40),
    Column("outcome", "调解结果", width=12),
    Column("resolved_level", "化解层级", width=10),
    Column("agreement_date", "协议日期", False, ("协议生效日期",), 12),
    Column("closed_date", "结案日期", width=12),
    Column("performance", "履行情况", width=10),
    Column("mediator", "调解员", width=10),
    Column("notes", "备注", width=20),
)
BY_KEY = {c.key: c for c in COLUMNS}
BY_HEADER = {name: c for c in COLUMNS for name in (c.header, *c.aliases)}


class LedgerResult(StrEnum):
    """调解结果 as a ledger records it, and the flow state a case imported with it is in."""

    open = "open"
    successful = "successful"
    failed = "failed"
    refused = "refused"
    inadmissible = "inadmissible"


OUTCOME_LABELS = {
    LedgerResult.open: "调解中",
    LedgerResult.successful: "调解成功",
    LedgerResult.failed: "调解不成",
    LedgerResult.refused: "当事人拒绝调解",
    LedgerResult.inadmissible: "不予受理",
}
OUTCOME_WORDS = {
    **{label: o for o, label in OUTCOME_LABELS.items()},
    "": LedgerResult.open,
    "成功": LedgerResult.successful,
    "已调解成功": LedgerResult.successful,
    "不成功": LedgerResult.failed,
    "调解不成功": LedgerResult.failed,
    "调解终止": LedgerResult.failed,
    "终止": LedgerResult.failed,
    "拒绝调解": LedgerResult.refused,
    "办理中": LedgerResult.open,
}
OUTCOME_STATES = {
    LedgerResult.open: None,  # the flow's initial state (受理登记)
    LedgerResult.successful: "closed",
    LedgerResult.failed: "terminated",
    LedgerResult.refused: "withdrawn",
    LedgerResult.inadmissible: "inadmissible",
}
STATE_OUTCOMES = {state: o for o, state in OUTCOME_STATES.items() if state is not None}
PERFORMANCE_WORDS = {"已履行": "performed", "部分履行": "partly", "未履行": "not"}
PERFORMANCE_LABELS = {code: word for word, code in PERFORMANCE_WORDS.items()}
FORM_WORDS = {"书面申请": "written", "书面": "written", "口头申请": "oral", "口头": "oral"}
FORM_LABELS = {"written": "书面申请", "oral": "口头申请"}
LEVEL_WORDS = {"网格": "grid", "社区": "community", "村": "community", "街道": "street"}
LEVEL_WORDS |= {"乡镇": "street", "镇": "street", "区": "street", "县": "street"}
LEVEL_LABELS = {"grid": "网格", "community": "社区", "street": "街道"}

# what imported cases carry: cases.data["ledger_import"] and the audit event's trigger
IMPORT_TRIGGER = "ledger_import"
IMPORT_TRIGGER_LABEL = "台账导入"


class Problem(StrEnum):
    """Stable codes of the problems a ledger file or row can have (the `code` of each error)."""

    file_unreadable = "ledger_file_unreadable"
    header_missing = "ledger_header_missing"
    header_unknown = "ledger_header_unknown"
    header_duplicate = "ledger_header_duplicate"
    empty = "ledger_empty"
    required = "ledger_value_required"
    date_invalid = "ledger_date_invalid"
    date_order = "ledger_date_order"
    category_unknown = "ledger_category_unknown"
    origin_unknown = "ledger_origin_unknown"
    origin_unsupported = "ledger_origin_unsupported"
    form_invalid = "ledger_application_form_invalid"
    risk_unknown = "ledger_risk_unknown"
    unit_unknown = "ledger_unit_unknown"
    unit_not_committee = "ledger_unit_not_committee"
    unit_out_of_scope = "ledger_unit_out_of_scope"
    grid_unknown = "ledger_grid_unknown"
    party_count = "ledger_party_count_mismatch"
    id_invalid = "ledger_id_number_invalid"
    id_masked = "ledger_id_number_masked"
    id_mismatch = "ledger_id_number_conflict"
    minor = "ledger_minor_needs_representative"
    representative_incomplete = "ledger_representative_incomplete"
    representative_minor = "ledger_representative_is_minor"
    phone_invalid = "ledger_phone_invalid"
    outcome_unknown = "ledger_outcome_unknown"
    outcome_conflict = "ledger_outcome_conflict"
    level_unknown = "ledger_level_unknown"
    performance_unknown = "ledger_performance_unknown"
    number_invalid = "ledger_number_invalid"
    number_duplicate = "ledger_number_duplicate"
    number_exists = "ledger_number_exists"
    too_long = "ledger_value_too_long"
