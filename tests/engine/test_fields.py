"""Declared fields: every payload is checked against its transition's declaration before any
guard runs; each problem is named by the field's Chinese label; values come out typed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from engine.fields import FieldSpec, FieldType, Option, check_payload, json_schema

TERMS = FieldSpec(
    name="terms",
    label="协议条款",
    type=FieldType.list,
    required=True,
    min_items=1,
    fields=(
        FieldSpec(name="obligor", label="义务人", type="party", required=True),
        FieldSpec(name="amount", label="金额（元）", type=FieldType.money),
        FieldSpec(name="due_date", label="履行期限", type=FieldType.date, required=True),
    ),
)
FIELDS = (
    FieldSpec(name="record", label="调解记录", type=FieldType.long_text, required=True),
    FieldSpec(name="days", label="延长天数", type=FieldType.integer, minimum=1, maximum=90),
    FieldSpec(name="public", label="公开调解", type=FieldType.boolean),
    FieldSpec(name="held_at", label="调解时间", type=FieldType.datetime),
    FieldSpec(name="source", label="同意方式", type=FieldType.choice, vocabulary="sources"),
    FieldSpec(name="attendees", label="参加人员", type=FieldType.list, of=FieldType.text),
    TERMS,
)


def _options(field: FieldSpec) -> Sequence[Option]:
    if field.type is FieldType.choice:
        return [Option("written", "书面"), Option("oral", "口头")]
    return [Option(7, "王秀英"), Option(8, "李建国")]


def _check(payload: dict[str, object]) -> tuple[dict[str, object], dict[str, str]]:
    values, errors = check_payload(
        FIELDS, payload, _options, where="记录调解", rules={"party": "须为本案当事人"}
    )
    return values, {e.field: e.message for e in errors}


GOOD = {
    "record": "双方同意赔偿",
    "terms": [{"obligor": 7, "amount": "300.50", "due_date": "2026-12-01"}],
}


def test_values_come_out_typed() -> None:
    values, errors = _check(
        {
            **GOOD,
            "days": 10,
            "public": True,
            "held_at": "2026-11-30T09:30:00+08:00",
            "source": "oral",
            "attendees": ["王秀英", "李建国"],
        }
    )
    assert errors == {}
    assert values["terms"] == [
        {"obligor": 7, "amount": Decimal("300.50"), "due_date": date(2026, 12, 1)}
    ]
    assert isinstance(values["held_at"], datetime)
    assert values["attendees"] == ["王秀英", "李建国"]


def test_an_unknown_key_is_refused_by_name() -> None:
    _, errors = _check({**GOOD, "bogus": 1})
    assert list(errors) == ["bogus"]
    assert "不接受字段“bogus”" in errors["bogus"]


def test_every_bad_field_is_named_by_its_chinese_label() -> None:
    _, errors = _check(
        {
            "days": 0,
            "public": "yes",
            "held_at": "2026-11-30 09:30",  # no time zone
            "source": "telepathy",
            "terms": [{"obligor": 99, "amount": 1.234, "due_date": "2026-02-30"}],
        }
    )
    assert errors == {
        "record": "请填写“调解记录”",
        "days": "“延长天数”不能小于 1",
        "public": "“公开调解”应为是或否（true/false）",
        "held_at": "“调解时间”应为带时区的时间（如 2026-11-30T09:30:00+08:00）",
        "source": "“同意方式”须为以下之一：written（书面）、oral（口头）",
        "terms.0.obligor": "协议条款第1项：“义务人”须为本案当事人（99 不在可选范围内）",
        "terms.0.amount": "协议条款第1项：“金额（元）”最多保留两位小数",
        "terms.0.due_date": "协议条款第1项：“履行期限”应为日期（如 2026-11-30）",
    }


def test_control_characters_and_overlong_text_are_refused() -> None:
    _, errors = _check({**GOOD, "record": "赔偿\x00"})
    assert errors == {"record": "“调解记录”含有不可见的控制字符"}
    _, errors = _check({**GOOD, "record": "字" * 10_001})
    assert errors == {"record": "“调解记录”不能超过 10000 个字"}


def test_a_list_needs_its_items_and_no_duplicates() -> None:
    _, errors = _check({"record": "x", "terms": []})
    assert errors == {"terms": "“协议条款”至少填写 1 项"}
    _, errors = _check({**GOOD, "attendees": ["王秀英", "王秀英"]})
    assert errors == {"attendees": "“参加人员”中有重复项"}


def test_the_system_tick_is_not_held_to_required() -> None:
    values, errors = check_payload(FIELDS, {}, _options, where="x", people=False)
    assert (values, errors) == ({}, [])


def test_json_schema_has_chinese_titles_kinds_and_options() -> None:
    schema = json_schema(FIELDS, _options)
    assert schema["required"] == ["record", "terms"]
    assert schema["additionalProperties"] is False
    source = schema["properties"]["source"]
    assert (source["title"], source["x-kind"]) == ("同意方式", "choice")
    assert source["oneOf"] == [
        {"const": "written", "title": "书面"},
        {"const": "oral", "title": "口头"},
    ]
    terms = schema["properties"]["terms"]
    assert terms["items"]["properties"]["obligor"]["oneOf"][0] == {"const": 7, "title": "王秀英"}
    assert terms["items"]["properties"]["amount"]["multipleOf"] == 0.01


def test_a_declaration_that_cannot_work_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match="vocabulary"):
        FieldSpec(name="source", label="方式", type=FieldType.choice)
    with pytest.raises(ValidationError, match="fields"):
        FieldSpec(name="terms", label="条款", type=FieldType.list)
    with pytest.raises(ValidationError, match="minimum"):
        FieldSpec(name="x", label="x", type=FieldType.text, minimum=1)
