"""What a transition takes: declared fields, vocabularies, and the check every payload passes.

A transition lists its fields in the YAML (`fields:`); the engine checks each payload against
them before any guard runs, whoever calls, and hands actions typed values. Unknown keys are
refused, every bad field is named by its Chinese label, and nothing is written. Reference
fields (a user, an org unit, a document, or a reference type the host declares: mediation's
party and court) are checked against the options the flow's option providers offer for this
case and actor, so a form offers exactly what the engine will accept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from engine.hooks import TransitionContext

IDENTIFIER = r"^[a-z][a-z0-9_]*$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER, max_length=64)]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PRINTABLE = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_TEXT_PATTERN = rf"^{_PRINTABLE}*[^\s\x00-\x1f\x7f]{_PRINTABLE}*$"  # for schema-driven clients


class FieldType(StrEnum):
    """The kinds of value a transition may take; forms draw one widget per kind. Beside these
    a field may name a reference type its host declares (HookSet.options_for with a name)."""

    text = "text"
    long_text = "long_text"
    integer = "integer"
    money = "money"  # yuan with at most two decimals
    number = "number"  # a decimal with at most two places (hours, areas)
    date = "date"
    datetime = "datetime"
    boolean = "boolean"
    choice = "choice"  # a code of a named vocabulary
    user = "user"  # a user in scope holding one of `roles`
    org_unit = "org_unit"  # an org unit of one of `kinds`
    document = "document"  # a recorded version of this case's `document_kind`
    list = "list"  # a list of items: objects with their own `fields`, or values `of` a type


class _K:
    """FieldType members as plain class attributes: an enum member lookup costs ~0.6 µs,
    and the payload check runs on every fire."""

    text = FieldType.text
    long_text = FieldType.long_text
    integer = FieldType.integer
    money = FieldType.money
    number = FieldType.number
    date = FieldType.date
    datetime = FieldType.datetime
    boolean = FieldType.boolean
    choice = FieldType.choice
    user = FieldType.user
    org_unit = FieldType.org_unit
    document = FieldType.document
    list = FieldType.list


REFERENCE_TYPES = frozenset({FieldType.user, FieldType.org_unit, FieldType.document})
# a field's kind: one of the engine's, or the name of a reference type the host declares
FieldKind = Annotated[FieldType | Identifier, Field(union_mode="left_to_right")]


def is_reference(kind: FieldType | str) -> bool:
    """Whether values of this kind name a row picked from the options offered now."""
    return kind in REFERENCE_TYPES or not isinstance(kind, FieldType)


_DEFAULT_MAX_LENGTH: dict[str, int] = {FieldType.text: 200, FieldType.long_text: 10000}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class FieldSpec(_Frozen):
    """One input of a transition, as its YAML declares it."""

    name: Identifier
    label: str = Field(min_length=1)
    type: FieldKind
    help: str | None = None
    required: bool = False
    minimum: float | None = None  # integer, money
    maximum: float | None = None
    max_length: int | None = Field(default=None, gt=0, le=100_000)  # text, long_text
    vocabulary: Identifier | None = None  # choice
    roles: tuple[Identifier, ...] = ()  # user: holding one of these roles
    kinds: tuple[Identifier, ...] = ()  # org_unit: of one of these kinds
    document_kind: Identifier | None = None  # document
    fields: tuple[FieldSpec, ...] = ()  # list of objects: each item's fields
    of: FieldKind | None = None  # list of plain values: their type (text, party...)
    min_items: int = Field(default=0, ge=0)
    max_items: int = Field(default=100, gt=0, le=1000)
    internal: bool = False  # set by the service that performs the step, never by a person

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        kind = self.type
        if kind is FieldType.choice and self.vocabulary is None:
            raise ValueError("choice 字段须指定 vocabulary")
        if kind is not FieldType.choice and self.vocabulary is not None:
            raise ValueError("只有 choice 字段可以指定 vocabulary")
        if kind is FieldType.list and bool(self.fields) == (self.of is not None):
            raise ValueError("list 字段须有 fields（每项的字段）或 of（每项的类型），二者取一")
        if kind is not FieldType.list and (self.fields or self.of is not None):
            raise ValueError("只有 list 字段可以有 fields 或 of")
        if self.of in (FieldType.list, FieldType.choice, FieldType.document):
            raise ValueError("of 不能是 list、choice 或 document")
        if kind is FieldType.document and self.document_kind is None:
            raise ValueError("document 字段须指定 document_kind")
        if self.roles and FieldType.user not in (kind, self.of):
            raise ValueError("只有 user 字段可以指定 roles")
        if self.kinds and FieldType.org_unit not in (kind, self.of):
            raise ValueError("只有 org_unit 字段可以指定 kinds")
        if (self.minimum is not None or self.maximum is not None) and kind not in (
            FieldType.integer,
            FieldType.money,
            FieldType.number,
        ):
            raise ValueError("只有 integer 与 money 字段可以指定 minimum/maximum")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("list 字段的子字段重名")
        return self

    @property
    def text_limit(self) -> int:
        return self.max_length or _DEFAULT_MAX_LENGTH.get(self.type, 200)

    @property
    def item(self) -> FieldSpec:
        """A list's plain item, as a field of its own (for checks, options and schemas)."""
        assert self.of is not None
        return FieldSpec(
            name=self.name, label=self.label, type=self.of, roles=self.roles, kinds=self.kinds
        )


class VocabularyOption(_Frozen):
    code: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1)
    help: str | None = None


class Vocabulary(_Frozen):
    """A named list of codes and their Chinese labels, kept as a data file a deployment may
    relabel (workflows/vocabularies/<name>.yaml)."""

    name: Identifier
    label: str = Field(min_length=1)
    options: tuple[VocabularyOption, ...] = Field(min_length=1)

    def labels(self) -> dict[str, str]:
        return {o.code: o.label for o in self.options}


@dataclass(frozen=True, slots=True)
class Option:
    """One value a person may pick for a choice or reference field, with its label."""

    value: str | int
    label: str


OptionProvider = Callable[["TransitionContext", FieldSpec], Sequence[Option]]
# Why one value of a reference field is not among its options (None: no particular reason).
RefusalExplainer = Callable[["TransitionContext", FieldSpec, Any], str | None]


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str  # dotted path: "terms.0.due_date"
    message: str  # Chinese, names the field by its label
    type: str  # stable: missing, unknown, type, range, length, choice, reference


class _Checker:
    """Checks one payload against its fields, collecting every problem."""

    def __init__(
        self,
        options: Callable[[FieldSpec], Sequence[Option]],
        *,
        people: bool,
        refusal: Callable[[FieldSpec, Any], str | None] | None = None,
        rules: Mapping[str, str] | None = None,
    ) -> None:
        self.options = options
        self.refusal = refusal
        self.rules = rules or {}
        self.people = people  # the system tick is not held to `required`
        self.errors: list[FieldError] = []

    def fail(self, path: str, message: str, kind: str) -> Any:
        """Record a problem; returns None, the value a bad field leaves behind."""
        self.errors.append(FieldError(path, message, kind))
        return None

    def check(
        self, fields: Sequence[FieldSpec], payload: Mapping[str, Any], prefix: str, where: str
    ) -> dict[str, Any]:
        declared = {f.name: f for f in fields}
        for key in payload:
            if key not in declared:
                known = "、".join(declared) or "无"
                self.fail(f"{prefix}{key}", f"{where}不接受字段“{key}”（可用：{known}）", "unknown")
        values: dict[str, Any] = {}
        for spec in fields:
            path = f"{prefix}{spec.name}"
            raw = payload.get(spec.name)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if spec.required and self.people and not spec.internal:
                    self.fail(path, f"请填写“{spec.label}”", "missing")
                continue
            value = self.value(spec, raw, path)
            if value is not None:
                values[spec.name] = value
        return values

    def value(self, spec: FieldSpec, raw: Any, path: str) -> Any:
        label = spec.label
        kind = spec.type
        if kind in (_K.text, _K.long_text):
            if not isinstance(raw, str):
                return self.fail(path, f"“{label}”应为文字", "type")
            text = raw.strip()
            if _CONTROL.search(text):
                return self.fail(path, f"“{label}”含有不可见的控制字符", "type")
            if len(text) > spec.text_limit:
                return self.fail(path, f"“{label}”不能超过 {spec.text_limit} 个字", "length")
            return text
        if kind is _K.integer:
            if isinstance(raw, bool) or not isinstance(raw, int):
                return self.fail(path, f"“{label}”应为整数", "type")
            return self.bounded(spec, raw, path)
        if kind in (_K.money, _K.number):
            try:
                if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                    raise InvalidOperation
                amount = Decimal(str(raw))
            except InvalidOperation:
                unit = "金额（元）" if kind is _K.money else "数字"
                return self.fail(path, f"“{label}”应为{unit}", "type")
            if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
                return self.fail(path, f"“{label}”最多保留两位小数", "type")
            if amount < 0:
                return self.fail(path, f"“{label}”不能为负数", "range")
            return self.bounded(spec, amount, path)
        if kind is _K.date:
            if not (isinstance(raw, str) and _is_date(raw)):
                return self.fail(path, f"“{label}”应为日期（如 2026-11-30）", "type")
            return date.fromisoformat(raw)
        if kind is _K.datetime:
            moment = _datetime(raw)
            if moment is None:
                return self.fail(
                    path, f"“{label}”应为带时区的时间（如 2026-11-30T09:30:00+08:00）", "type"
                )
            return moment
        if kind is _K.boolean:
            if not isinstance(raw, bool):
                return self.fail(path, f"“{label}”应为是或否（true/false）", "type")
            return raw
        if kind is _K.list:
            return self.items(spec, raw, path)
        # choice and references: the value must be one of the options offered now
        allowed = self.options(spec)
        values = {o.value for o in allowed}
        if kind is not _K.choice and (isinstance(raw, bool) or not isinstance(raw, int)):
            return self.fail(path, f"“{label}”应为编号（整数）", "type")
        if raw not in values:
            if kind is _K.choice:
                listed = "、".join(f"{o.value}（{o.label}）" for o in allowed)
                return self.fail(path, f"“{label}”须为以下之一：{listed}", "choice")
            why = self.refusal(spec, raw) if self.refusal is not None else None
            return self.fail(
                path,
                f"“{label}”{self.rule(kind)}（{why or f'{raw} 不在可选范围内'}）",
                "reference",
            )
        return raw

    def rule(self, kind: FieldType | str) -> str:
        """What a value of a reference kind must be, in the people's words."""
        return self.rules.get(kind) or _REFERENCE_RULES.get(kind) or "须为可选范围内的值"

    def bounded(self, spec: FieldSpec, value: Any, path: str) -> Any:
        if spec.minimum is not None and value < spec.minimum:
            return self.fail(path, f"“{spec.label}”不能小于 {_number(spec.minimum)}", "range")
        if spec.maximum is not None and value > spec.maximum:
            return self.fail(path, f"“{spec.label}”不能大于 {_number(spec.maximum)}", "range")
        return value

    def items(self, spec: FieldSpec, raw: Any, path: str) -> Any:
        if not isinstance(raw, list):
            return self.fail(path, f"“{spec.label}”应为列表", "type")
        if len(raw) < spec.min_items:
            return self.fail(path, f"“{spec.label}”至少填写 {spec.min_items} 项", "length")
        if len(raw) > spec.max_items:
            return self.fail(path, f"“{spec.label}”至多 {spec.max_items} 项", "length")
        if spec.of is not None:
            plain = spec.item
            values = [self.value(plain, item, f"{path}.{i}") for i, item in enumerate(raw)]
            if len({repr(v) for v in values}) != len(values):
                return self.fail(path, f"“{spec.label}”中有重复项", "type")
            return values
        items: list[Any] = []
        for index, item in enumerate(raw):
            where = f"{spec.label}第{index + 1}项"
            if not isinstance(item, dict):
                self.fail(f"{path}.{index}", f"{where}格式有误", "type")
                continue
            before = len(self.errors)
            checked = self.check(spec.fields, item, f"{path}.{index}.", "本项")
            self.errors[before:] = [
                FieldError(e.field, f"{where}：{e.message}", e.type) for e in self.errors[before:]
            ]
            items.append(checked)
        return items


_REFERENCE_RULES: dict[str, str] = {  # the host's reference types bring their own
    _K.user: "须为本辖区内担任相应角色的在职人员",
    _K.org_unit: "须为您可以选择的单位",
    _K.document: "须为本案已有的文书版本",
}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _is_date(raw: str) -> bool:
    if len(raw) != 10:
        return False
    try:
        date.fromisoformat(raw)
    except ValueError:
        return False
    return True


def _datetime(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def check_payload(
    fields: Sequence[FieldSpec],
    payload: Mapping[str, Any],
    options: Callable[[FieldSpec], Sequence[Option]],
    *,
    where: str,
    people: bool = True,
    refusal: Callable[[FieldSpec, Any], str | None] | None = None,
    rules: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], list[FieldError]]:
    """Check `payload` against `fields`; returns the typed values and every problem found.

    Args:
        fields: the transition's declared fields.
        payload: what the caller sent.
        options: the options offered now for a choice or reference field.
        where: the transition's label, for messages about unknown keys.
        people: False for the system tick, which is not held to `required`.
        refusal: says why a refused reference value is refused, when it can.
        rules: what a value of each host reference type must be (HookSet.reference_rules).
    """
    checker = _Checker(options, people=people, refusal=refusal, rules=rules)
    values = checker.check(fields, payload, "", f"“{where}”")
    return values, checker.errors


def json_schema(
    fields: Sequence[FieldSpec],
    options: Callable[[FieldSpec], Sequence[Option]] | None,
    *,
    include_internal: bool = False,
) -> dict[str, Any]:
    """The fields as a JSON Schema object with Chinese titles; with `options`, each choice and
    reference field lists what may be picked now (`oneOf` of const/title)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for spec in fields:
        if spec.internal and not include_internal:
            continue
        properties[spec.name] = field_schema(spec, options, include_internal=include_internal)
        if spec.required and not spec.internal:
            required.append(spec.name)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


def field_schema(
    spec: FieldSpec,
    options: Callable[[FieldSpec], Sequence[Option]] | None,
    *,
    include_internal: bool = False,
) -> dict[str, Any]:
    """One field's JSON Schema, with `x-kind` naming the widget a form should draw."""
    schema: dict[str, Any] = {"title": spec.label, "x-kind": str(spec.type)}
    if spec.help:
        schema["description"] = spec.help
    kind = spec.type
    if kind in (FieldType.text, FieldType.long_text):
        schema.update(type="string", minLength=1, maxLength=spec.text_limit)
        schema["pattern"] = (
            r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*\S[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
        )
    elif kind is FieldType.integer:
        schema["type"] = "integer"
    elif kind in (FieldType.money, FieldType.number):
        schema.update(type="number", multipleOf=0.01, minimum=0)
    elif kind is FieldType.date:
        schema.update(type="string", format="date")
    elif kind is FieldType.datetime:
        schema.update(type="string", format="date-time")
    elif kind is FieldType.boolean:
        schema["type"] = "boolean"
    elif kind is FieldType.list:
        items = (
            field_schema(spec.item, options)
            if spec.of is not None
            else json_schema(spec.fields, options, include_internal=include_internal)
        )
        schema.update(type="array", items=items, minItems=spec.min_items, maxItems=spec.max_items)
        if spec.of is not None:
            schema["uniqueItems"] = True
    else:
        schema["type"] = "string" if kind is FieldType.choice else "integer"
        if kind is FieldType.choice:
            schema["x-vocabulary"] = spec.vocabulary
        if spec.roles:
            schema["x-roles"] = list(spec.roles)
        if spec.kinds:
            schema["x-kinds"] = list(spec.kinds)
        if options is not None:
            offered = options(spec)
            schema["oneOf"] = [{"const": o.value, "title": o.label} for o in offered]
    if spec.minimum is not None:
        schema["minimum"] = spec.minimum
    if spec.maximum is not None:
        schema["maximum"] = spec.maximum
    return schema
