"""Small 台账 workbooks built in the test, in the layout offices keep (docs: README 台账)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook, load_workbook

from tests.world import APPLICANT_ID, RESPONDENT_ID

HEADERS = (
    "序号",
    "案件编号",
    "登记日期",
    "调解组织",
    "纠纷类别",
    "案件来源",
    "申请方式",
    "申请人",
    "申请人身份证号码",
    "申请人联系电话",
    "被申请人",
    "被申请人身份证号码",
    "纠纷简要情况",
    "调解结果",
    "协议日期",
    "结案日期",
    "履行情况",
)


def row(**changes: Any) -> dict[str, Any]:
    """A good row: a neighbours' dispute registered at the 枫源 committee, mediated to an
    agreement that was performed."""
    values: dict[str, Any] = {
        "序号": 1,
        "案件编号": "",
        "登记日期": "2025-03-01",
        "调解组织": "枫源村人民调解委员会",
        "纠纷类别": "邻里",
        "案件来源": "当事人申请",
        "申请方式": "书面申请",
        "申请人": "王秀英",
        "申请人身份证号码": APPLICANT_ID,
        "申请人联系电话": "13812341234",
        "被申请人": "李建国",
        "被申请人身份证号码": RESPONDENT_ID,
        "纠纷简要情况": "相邻房屋滴水纠纷",
        "调解结果": "调解成功",
        "协议日期": "2025/3/5",
        "结案日期": "2025年3月6日",
        "履行情况": "已履行",
    }
    values.update(changes)
    return values


def workbook(
    rows: Iterable[dict[str, Any]],
    headers: Sequence[str] = HEADERS,
    title: str | None = "枫源村人民调解委员会 2025 年台账",
) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if title is not None:
        sheet.append([title])
    sheet.append(list(headers))
    for values in rows:
        sheet.append([values.get(h, "") for h in headers])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_back(content: bytes) -> list[dict[str, Any]]:
    """An exported workbook's rows as dicts by header."""
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    headers = [str(h) for h in rows[0]]
    return [dict(zip(headers, r, strict=True)) for r in rows[1:]]
