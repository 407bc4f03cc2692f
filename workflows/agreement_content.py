"""What a mediation agreement says, built from the checked payload: its issues, each
party's responsibility, its terms; and which terms are overdue on a day. Pure functions, no
hooks: the host renders the agreement from the same fields."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from engine.hooks import InvalidInput


def _text(payload: Mapping[str, Any], key: str, label: str) -> str:
    value = payload.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(f"请填写“{label}”", field=key)
    if not isinstance(value, str):
        raise InvalidInput(f"“{label}”应为文字", field=key)
    return value.strip()


def _date_zh(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _required(term: Mapping[str, Any], key: str, label: str, index: int) -> str:
    value = term.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"第{index + 1}条：请填写{label}", field=f"terms.{index}.{key}")
    return value.strip()


def _terms(
    raw: object, party_ids: Collection[int], today: date | None = None
) -> list[dict[str, Any]]:
    """PML Art. 29 (3): who owes whom what, how much, how, where and by when."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("请填写协议条款（至少一条）", field="terms")
    terms: list[dict[str, Any]] = []
    for index, term in enumerate(raw):
        field = f"terms.{index}"
        if not isinstance(term, dict):
            raise InvalidInput("协议条款格式有误", field=field)
        for key, label in (("obligor", "义务人"), ("obligee", "权利人")):
            if term.get(key) not in party_ids:
                raise InvalidInput(
                    f"第{index + 1}条：{label}须为本案当事人", field=f"{field}.{key}"
                )
        if term["obligor"] == term["obligee"]:
            raise InvalidInput(
                f"第{index + 1}条：义务人与权利人不能是同一当事人", field=f"{field}.obligee"
            )
        content = _required(term, "content", "履行内容", index)
        method = _required(term, "method", "履行方式（如银行转账、现金支付、当面交付）", index)
        place = _required(term, "place", "履行地点", index)
        due = term.get("due_date")
        try:
            due_date = date.fromisoformat(due) if isinstance(due, str) else None
        except ValueError:
            due_date = None
        if due_date is None:
            raise InvalidInput(
                f"第{index + 1}条：请填写履行期限（YYYY-MM-DD）", field=f"{field}.due_date"
            )
        if today is not None and due_date < today:
            raise InvalidInput(
                f"第{index + 1}条：履行期限{_date_zh(due_date)}早于签署日期"
                f"{_date_zh(today)}，请重新约定",
                field=f"{field}.due_date",
            )
        amount = term.get("amount")
        if amount is not None and (
            isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0
        ):
            raise InvalidInput(f"第{index + 1}条：金额须为非负数", field=f"{field}.amount")
        terms.append(
            {
                "obligor": term["obligor"],
                "obligee": term["obligee"],
                "content": content,
                "amount": amount,
                "method": method,
                "place": place,
                "due_date": due_date.isoformat(),
            }
        )
    return terms


def _issues(raw: object) -> list[str]:
    """The disputed matters, one per item (a text is split at semicolons and line breaks)."""
    items = raw.replace("；", "\n").replace(";", "\n").split("\n") if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise InvalidInput("“争议事项”应为文字或文字列表", field="issues")
    issues = [i.strip() for i in items if i.strip()]
    if not issues:
        raise InvalidInput("请填写“争议事项”（至少一项）", field="issues")
    return issues


def _responsibilities(raw: object, party_ids: Collection[int]) -> list[dict[str, Any]]:
    """PML Art. 29 (2): each party's responsibility, one entry for every party of the case."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(
            "请逐一写明各方当事人的责任（每位当事人一项：party_id 与 responsibility）",
            field="responsibilities",
        )
    found: dict[int, str] = {}
    for index, item in enumerate(raw):
        field = f"responsibilities.{index}"
        party = item.get("party_id") if isinstance(item, dict) else None
        if not isinstance(party, int) or party not in party_ids:
            raise InvalidInput(f"第{index + 1}项：须为本案当事人", field=f"{field}.party_id")
        if party in found:
            raise InvalidInput(f"第{index + 1}项：该当事人的责任已写明", field=f"{field}.party_id")
        text = item.get("responsibility") if isinstance(item, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(
                f"第{index + 1}项：请写明该当事人的责任（无责任的写“不承担责任”）",
                field=f"{field}.responsibility",
            )
        found[party] = text.strip()
    missing = [p for p in party_ids if p not in found]
    if missing:
        raise InvalidInput(
            f"请写明每位当事人的责任：当事人 {'、'.join(map(str, sorted(missing)))} 未写",
            field="responsibilities",
        )
    return [{"party_id": p, "responsibility": t} for p, t in found.items()]


def agreement_fields(
    payload: Mapping[str, Any], party_ids: Collection[int], *, today: date | None = None
) -> dict[str, Any]:
    """R-AGREEMENT-FIELDS of a draft payload, checked and normalised.

    Pure, so the host's document service renders exactly what this action will store and
    refuses a bad payload with the same message before it renders anything. With `today`
    (the Beijing date of drafting) a performance deadline already past is refused.

    Raises:
        InvalidInput: a field is missing or malformed (named).
    """
    return {
        "facts": _text(payload, "facts", "纠纷事实"),
        "issues": _issues(payload.get("issues")),
        "responsibilities": _responsibilities(payload.get("responsibilities"), party_ids),
        "terms": _terms(payload.get("terms"), party_ids, today),
    }


def plain_number(number: Decimal | None) -> int | float | None:
    """A checked decimal as JSON keeps it in the case data: 300 stays 300, 12.5 stays 12.5."""
    if number is None:
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def overdue_terms(agreement: Mapping[str, Any], today: date) -> list[str]:
    """The terms whose deadline falls before `today`, as the refusal to sign names them."""
    late = []
    for index, term in enumerate(agreement.get("terms", [])):
        due = date.fromisoformat(term["due_date"])
        if due < today:
            late.append(f"第{index + 1}条（{_date_zh(due)}）")
    return late
