"""Checking ledger rows one by one against what registration requires (R-REGISTER, R-ID,
R-PHONE, R-CATEGORIES, R-SOURCE, R-APPLY, R-MINOR) and the importer's scope: every problem
named with its row and column, none thrown, so a file's errors are listed all at once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from api.ledger.columns import (
    BY_KEY,
    FORM_WORDS,
    LEVEL_WORDS,
    OUTCOME_WORDS,
    PARTY_SEPARATORS,
    PERFORMANCE_WORDS,
    LedgerResult,
    Problem,
)
from api.ledger.read import RowError, parse_date, text
from engine.machine import CompiledSpec
from engine.records import Actor, OrgUnitRow
from mediation import validation
from mediation.intake import COURT_ORIGINS, ORIGIN_LABELS, Origin
from mediation.repository import MediationTx
from mediation.spec import mediation_spec

_NUMBER = re.compile(r"^[（(]\s*(\d{4})\s*[）)].*第\s*(\d+)\s*号$")
_SPLIT = re.compile("[" + re.escape(PARTY_SEPARATORS) + "]")
_LIMITS = {"summary": 4000, "name": 100, "address": 200, "mediator": 64, "notes": 1000}
_REPRESENTATIVE_LIMITS = {"name": 64, "relation": 20}  # as RepresentativeIntake


@dataclass(frozen=True, slots=True)
class Representative:
    """A party's 法定代理人 (R-MINOR), recorded as a person: name, checked ID, relation."""

    name: str
    id_number: str
    relation: str  # 父亲、母亲、监护人...


@dataclass(frozen=True, slots=True)
class PartyRow:
    role: str  # applicant | respondent
    name: str
    id_number: str | None
    sex: str | None
    birth_date: date | None
    phone: str | None
    address: str
    representative: Representative | None = None


@dataclass(slots=True)
class CaseRow:
    """A row that passed every check: what the writer stores for it."""

    row: int
    number: str | None  # None: numbered at import
    year: int
    seq: int | None
    registered: date
    office_id: int
    office_abbr: str
    org_unit_id: int
    grid_id: int | None
    category_code: str
    origin: str
    application_form: str | None
    risk_level: str
    parties: list[PartyRow]
    summary: str
    outcome: LedgerResult
    resolved_level: str | None
    agreement_date: date | None
    closed_date: date | None
    performance: str | None
    mediator: str
    notes: str


@dataclass
class Context:
    """What every row is checked against, read once per import."""

    compiled: CompiledSpec
    actor: Actor
    today: date
    headers: dict[str, str]
    default_unit: OrgUnitRow | None
    categories: dict[str, str]  # code or name → code
    units: dict[str, OrgUnitRow]  # committee or room, by name and by short name
    grids: dict[str, list[OrgUnitRow]]
    by_id: dict[int, OrgUnitRow] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        tx: MediationTx,
        compiled: CompiledSpec,
        actor: Actor,
        today: date,
        headers: dict[str, str],
        default_unit: str | None,
    ) -> Context:
        from mediation import queries

        rows = queries.org_units(tx)
        by_id = {u.id: u for u in rows}
        units: dict[str, OrgUnitRow] = {}
        grids: dict[str, list[OrgUnitRow]] = {}
        for unit in rows:
            if unit.kind in ("committee", "room"):
                units.setdefault(unit.name, unit)
                if unit.short_name:
                    units.setdefault(unit.short_name, unit)
            elif unit.kind == "grid":
                grids.setdefault(unit.name, []).append(unit)
        categories: dict[str, str] = {}
        for category in tx.active_categories():
            categories[category.code] = category.code
            categories.setdefault(category.name, category.code)
        context = cls(compiled, actor, today, headers, None, categories, units, grids, by_id)
        if default_unit:
            context.default_unit = context.unit_named(default_unit)
        return context

    def unit_named(self, value: str) -> OrgUnitRow | None:
        if value.isdigit() and int(value) in self.by_id:
            return self.by_id[int(value)]
        return self.units.get(value)


class _Row:
    """One row's cells and the problems found in them."""

    def __init__(self, context: Context, number: int, cells: dict[str, Any]) -> None:
        self.context = context
        self.number = number
        self.cells = cells
        self.errors: list[RowError] = []

    def fail(self, key: str, message: str, code: Problem) -> None:
        header = self.context.headers.get(key, BY_KEY[key].header)
        self.errors.append(RowError(self.number, header, message, code))

    def text(self, key: str, limit: int | None = None) -> str:
        raw = self.cells.get(key)
        value = "" if raw is None else raw.strip() if isinstance(raw, str) else text(raw)
        if value and value[0] == "'":
            value = value[1:]  # the export's guard against formulas
        if limit is not None and len(value) > limit:
            self.fail(key, f"内容过长（不超过 {limit} 个字符）", Problem.too_long)
        return value

    def required(self, key: str, limit: int | None = None) -> str:
        value = self.text(key, limit)
        if not value:
            self.fail(key, f"“{BY_KEY[key].header}”不能为空", Problem.required)
        return value

    def date(self, key: str, *, required: bool = False) -> date | None:
        raw = self.cells.get(key)
        if raw is None or text(raw) == "":
            if required:
                self.fail(key, f"“{BY_KEY[key].header}”不能为空", Problem.required)
            return None
        found = parse_date(raw)
        if found is None:
            self.fail(
                key,
                f"日期“{text(raw)}”无法识别（可写 2025-03-01、2025/3/1 或 2025年3月1日）",
                Problem.date_invalid,
            )
        elif found > self.context.today:
            self.fail(key, f"日期 {found} 晚于今天", Problem.date_order)
            return None
        return found


def check_row(context: Context, number: int, cells: dict[str, Any]) -> CaseRow | list[RowError]:
    """The row as a case to store, or every problem it has."""
    row = _Row(context, number, cells)
    spec = context.compiled.spec
    registered = row.date("registered", required=True)
    office, unit, grid = _units(row)
    category = row.required("category")
    category_code = context.categories.get(category) if category else None
    if category and category_code is None:
        listed = "、".join(sorted({n for n, c in context.categories.items() if n != c}))
        row.fail(
            "category",
            f"纠纷类别“{category}”不在类别表中，可选：{listed}",
            Problem.category_unknown,
        )
    origin = _origin(row, mediation_spec(spec).origins)
    form = row.text("application_form")
    application_form = FORM_WORDS.get(form) if form else None
    if form and application_form is None:
        row.fail("application_form", "申请方式须为“书面申请”或“口头申请”", Problem.form_invalid)
    elif origin == Origin.party_application and application_form is None and not form:
        row.fail("application_form", "当事人申请的案件须注明书面申请或口头申请", Problem.required)
    risk_level = _risk(row)
    parties = _parties(row, "applicant", registered) + _parties(row, "respondent", registered)
    summary = row.required("summary", _LIMITS["summary"])
    outcome, resolved, agreement, closed, performance = _outcome(row, registered)
    number_text, year, seq = _number(row, registered)
    mediator = row.text("mediator", _LIMITS["mediator"])
    notes = row.text("notes", _LIMITS["notes"])
    if row.errors:
        return row.errors
    assert registered is not None
    assert office is not None
    assert unit is not None
    assert category_code is not None
    assert origin is not None
    assert risk_level is not None
    if resolved is None and outcome is LedgerResult.successful:
        parent = context.by_id.get(office.parent_id or 0)
        resolved = "grid" if grid is not None else _level_of(parent)
    return CaseRow(
        row=number,
        number=number_text,
        year=year,
        seq=seq,
        registered=registered,
        office_id=office.id,
        office_abbr=office.short_name or office.name[:2],
        org_unit_id=unit.id if unit.kind == "room" or grid is None else grid.id,  # as open_case
        grid_id=grid.id if grid is not None else None,
        category_code=category_code,
        origin=origin.value,
        application_form=application_form,
        risk_level=risk_level,
        parties=parties,
        summary=summary,
        outcome=outcome,
        resolved_level=resolved,
        agreement_date=agreement,
        closed_date=closed,
        performance=performance,
        mediator=mediator,
        notes=notes,
    )


def _level_of(unit: OrgUnitRow | None) -> str:
    return {"street": "street", "district": "street"}.get(unit.kind if unit else "", "community")


def _units(row: _Row) -> tuple[OrgUnitRow | None, OrgUnitRow | None, OrgUnitRow | None]:
    """The numbering committee, the unit handling the case (the committee or its room) and
    the grid, each checked against the importer's scope."""
    context = row.context
    name = row.text("unit")
    unit = context.unit_named(name) if name else context.default_unit
    if unit is None:
        if name:
            row.fail(
                "unit",
                f"调解组织“{name}”不存在（须为调解委员会或调解室的名称）",
                Problem.unit_unknown,
            )
        else:
            row.fail("unit", "“调解组织”不能为空（或在导入时指定 --unit）", Problem.required)
        return None, None, None
    if unit.kind not in ("committee", "room"):
        row.fail("unit", f"“{unit.name}”不是调解委员会或调解室", Problem.unit_not_committee)
        return None, None, None
    actor = context.actor
    if not actor.all_units and unit.id not in actor.unit_ids:
        row.fail("unit", f"“{unit.name}”不在您的管辖范围内", Problem.unit_out_of_scope)
        return None, None, None
    office = unit
    if unit.kind == "room" and unit.parent_id is not None:  # a room numbers under its committee
        office = context.by_id[unit.parent_id]
    grid = None
    grid_name = row.text("grid")
    if grid_name:
        area = office.path.rstrip("/").rsplit("/", 1)[0] + "/"
        grid = next((g for g in context.grids.get(grid_name, []) if g.path.startswith(area)), None)
        if grid is None:
            row.fail(
                "grid",
                f"网格“{grid_name}”不存在或不在“{office.name}”的辖区内",
                Problem.grid_unknown,
            )
    return office, unit, grid


def _origin(row: _Row, allowed: tuple[str, ...]) -> Origin | None:
    value = row.required("origin")
    if not value:
        return None
    for origin, label in ORIGIN_LABELS.items():
        if value in (label, origin.value, label.split("（")[0]):
            if origin in COURT_ORIGINS:
                row.fail(
                    "origin",
                    "法院委派、委托的案件有各自的流程和期限，请在系统中逐案登记，不经台账导入",
                    Problem.origin_unsupported,
                )
                return None
            if allowed and origin.value not in allowed:
                row.fail("origin", f"本流程不受理来源为“{label}”的案件", Problem.origin_unsupported)
                return None
            return origin
    listed = "、".join(ORIGIN_LABELS.values())
    row.fail("origin", f"案件来源“{value}”不在规定范围内，可选：{listed}", Problem.origin_unknown)
    return None


def _risk(row: _Row) -> str | None:
    levels = mediation_spec(row.context.compiled.spec).risk_levels
    value = row.text("risk")
    if not value:
        return levels[0].code  # the lowest: a ledger that keeps no risk level
    for level in levels:
        if value in (level.code, level.label, level.label.split("（")[0], level.label[:1]):
            return level.code
    listed = "、".join(level.label for level in levels)
    row.fail("risk", f"风险等级“{value}”无法识别，可选：{listed}", Problem.risk_unknown)
    return None


def _cells(row: _Row, key: str, count: int) -> list[str]:
    raw = row.text(key)
    values = [v.strip() for v in _SPLIT.split(raw)] if raw else []
    if values and len(values) != count:
        row.fail(
            key,
            f"填写了 {len(values)} 项，与当事人人数 {count} 不符（多名当事人用“、”分隔，顺序一致）",
            Problem.party_count,
        )
        return [""] * count
    return values or [""] * count


def _parties(row: _Row, role: str, registered: date | None) -> list[PartyRow]:
    plural = f"{role}s"
    names = [n for n in _SPLIT.split(row.required(plural)) if n.strip()]
    ids = _cells(row, f"{role}_ids", len(names))
    phones = _cells(row, f"{role}_phones", len(names))
    addresses = _cells(row, f"{role}_addresses", len(names))
    representatives = zip(
        _cells(row, f"{role}_representatives", len(names)),
        _cells(row, f"{role}_representative_ids", len(names)),
        _cells(row, f"{role}_representative_relations", len(names)),
        strict=True,
    )
    age = mediation_spec(row.context.compiled.spec).representation_age or 14
    on = registered or row.context.today
    found = []
    for name, id_raw, phone_raw, address, given in zip(
        names, ids, phones, addresses, representatives, strict=True
    ):
        name = name.strip()
        minor = False
        if len(name) > _LIMITS["name"] or len(address) > _LIMITS["address"]:
            row.fail(plural, f"{name[:20]}：姓名或住址过长", Problem.too_long)
        id_number = sex = birth = None
        if "*" in id_raw:
            row.fail(
                f"{role}_ids",
                f"{name}：身份证号码已遮蔽，无法导入（导出时使用 --full-numbers）",
                Problem.id_masked,
            )
        elif id_raw:
            try:
                parsed = validation.parse_resident_id(id_raw, today=row.context.today)
            except validation.InvalidIdNumber as exc:
                row.fail(f"{role}_ids", f"{name}：{exc.message_zh}", Problem.id_invalid)
            else:
                id_number, sex, birth = parsed.number, parsed.sex, parsed.birth_date
                minor = validation.is_minor(birth, on=on, age=age)
        representative = _representative(row, role, name, given, minor, on, age)
        phone = None
        if phone_raw:
            try:
                phone = validation.normalise_phone(phone_raw)
            except validation.InvalidPhoneNumber as exc:
                row.fail(f"{role}_phones", f"{name}：{exc.message_zh}", Problem.phone_invalid)
        found.append(PartyRow(role, name, id_number, sex, birth, phone, address, representative))
    return found


def _representative(
    row: _Row,
    role: str,
    party: str,
    given: tuple[str, str, str],
    minor: bool,
    on: date,
    age: int,
) -> Representative | None:
    """The party's 法定代理人 from the row's three cells (name, ID, relation): all three or
    none, the ID checked (R-ID) and of an adult; required when the party's ID shows them
    under `age` on the day the case was registered (R-MINOR). A party of age may have one
    too (an adult who cannot act alone)."""
    name, id_raw, relation = given
    column, ids = f"{role}_representatives", f"{role}_representative_ids"
    label = "申请人" if role == "applicant" else "被申请人"
    if not (name or id_raw or relation):
        if minor:
            where = column if column in row.context.headers else f"{role}_ids"
            row.fail(
                where,
                f"{party} 登记时未满{age}周岁，须在“{label}法定代理人”“{label}法定代理人身份证"
                f"号码”“{label}法定代理人关系”三列填写其法定代理人",
                Problem.minor,
            )
        return None
    missing = [
        what
        for value, what in ((name, "姓名"), (id_raw, "身份证号码"), (relation, "与当事人的关系"))
        if not value
    ]
    if missing:
        row.fail(
            column,
            f"{party} 的法定代理人须填写{'、'.join(missing)}（姓名、身份证号码、关系三项齐全）",
            Problem.representative_incomplete,
        )
        return None
    if len(name) > _REPRESENTATIVE_LIMITS["name"]:
        row.fail(column, f"{party} 的法定代理人姓名过长", Problem.too_long)
        return None
    if len(relation) > _REPRESENTATIVE_LIMITS["relation"]:
        relations = f"{role}_representative_relations"
        row.fail(relations, f"{party} 与法定代理人的关系过长（不超过 20 个字符）", Problem.too_long)
        return None
    if "*" in id_raw:
        row.fail(ids, f"{party} 的法定代理人{name}：身份证号码已遮蔽，无法导入", Problem.id_masked)
        return None
    try:
        parsed = validation.parse_resident_id(id_raw, today=row.context.today)
    except validation.InvalidIdNumber as exc:
        row.fail(ids, f"{party} 的法定代理人{name}：{exc.message_zh}", Problem.id_invalid)
        return None
    if validation.is_minor(parsed.birth_date, on=on, age=age):
        row.fail(
            ids,
            f"{party} 的法定代理人{name}本人登记时未满{age}周岁",
            Problem.representative_minor,
        )
        return None
    return Representative(name, parsed.number, relation)


def _outcome(
    row: _Row, registered: date | None
) -> tuple[LedgerResult, str | None, date | None, date | None, str | None]:
    word = row.text("outcome")
    outcome = OUTCOME_WORDS.get(word)
    if outcome is None:
        listed = "、".join(k for k in OUTCOME_WORDS if k)
        row.fail("outcome", f"调解结果“{word}”无法识别，可选：{listed}", Problem.outcome_unknown)
        outcome = LedgerResult.open
    level_word = row.text("resolved_level")
    resolved = LEVEL_WORDS.get(level_word) if level_word else None
    if level_word and resolved is None:
        row.fail("resolved_level", "化解层级须为网格、社区或街道", Problem.level_unknown)
    agreement = row.date("agreement_date", required=outcome is LedgerResult.successful)
    closed = row.date(
        "closed_date", required=outcome not in (LedgerResult.open, LedgerResult.successful)
    )
    performance_word = row.text("performance")
    performance = PERFORMANCE_WORDS.get(performance_word) if performance_word else None
    if performance_word and performance is None:
        row.fail("performance", "履行情况须为已履行、部分履行或未履行", Problem.performance_unknown)
    conflict = Problem.outcome_conflict
    if outcome is LedgerResult.open and (agreement or closed or performance or level_word):
        row.fail("outcome", "调解中的案件不应有协议日期、结案日期、化解层级或履行情况", conflict)
    elif outcome is not LedgerResult.successful and (agreement or performance or level_word):
        row.fail("outcome", "只有调解成功的案件才有协议日期、化解层级和履行情况", conflict)
    if outcome is LedgerResult.successful and closed is None:
        closed = agreement
    if registered is not None:
        for key, value in (("agreement_date", agreement), ("closed_date", closed)):
            if value is not None and value < registered:
                row.fail(key, f"{value} 早于登记日期 {registered}", Problem.date_order)
    if agreement and closed and closed < agreement:
        row.fail("closed_date", f"结案日期 {closed} 早于协议日期 {agreement}", Problem.date_order)
    return outcome, resolved, agreement, closed, performance


def _number(row: _Row, registered: date | None) -> tuple[str | None, int, int | None]:
    value = row.text("number").replace(" ", "")
    year = registered.year if registered else 0
    if not value:
        return None, year, None
    match = _NUMBER.match(value)
    if match is None or len(value) > 64:
        row.fail(
            "number",
            f"案件编号“{value}”格式不对（应如“（2025）枫源调字第0012号”），或留空由系统编号",
            Problem.number_invalid,
        )
        return None, year, None
    return value, int(match[1]), int(match[2])
