"""Reading a ledger workbook: the header row matched by name, then each row's cells as text
or dates, streamed (openpyxl's read-only mode) so a 100,000-row file is never all in memory."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from api.ledger.columns import BY_HEADER, BY_KEY, SHEET_TITLE, Column, Problem

HEADER_SEARCH_ROWS = 5  # a title line or two may sit above the header row
_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_DATE_DIGITS = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem: the sheet row (1-based, as Excel shows it), the column's header as the
    file spells it ("" for the whole row or file), a Chinese message and a stable code."""

    row: int
    column: str
    message: str
    code: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; `field` and `type` repeat column and code in the shape every other
        problem's `errors` list has (api/errors.py FieldProblem)."""
        return {
            "row": self.row,
            "column": self.column,
            "message": self.message,
            "code": self.code,
            "field": self.column,
            "type": self.code,
        }


class LedgerUnreadable(Exception):
    """The file is no workbook, or has no header row we recognise."""

    def __init__(self, problems: list[RowError]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass
class Sheet:
    """The header found and the rows under it."""

    header_row: int
    headers: dict[str, str]  # column key → header as spelled in the file
    positions: dict[str, int]  # column key → 0-based cell index
    warnings: list[RowError] = field(default_factory=list)
    rows: Iterator[tuple[int, dict[str, Any]]] = field(default_factory=lambda: iter(()))
    total: int | None = None  # data rows, when the sheet says (max_row)


def open_sheet(source: Path | IO[bytes]) -> Sheet:
    """The ledger sheet of a workbook (the one titled 人民调解案件登记台账, else the first).

    Raises:
        LedgerUnreadable: not an .xlsx workbook, no header row, or a required column missing.
    """
    from openpyxl import load_workbook

    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # zip, XML and format errors alike: no workbook we can read
        message = f"无法读取 Excel 文件（须为 .xlsx 格式）：{exc}"
        raise LedgerUnreadable([RowError(0, "", message, Problem.file_unreadable)]) from exc
    sheet = book[SHEET_TITLE] if SHEET_TITLE in book.sheetnames else book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    for index, cells in enumerate(rows, start=1):
        if index > HEADER_SEARCH_ROWS:
            break
        names = [_text(c) for c in cells]
        if sum(1 for n in names if n in BY_HEADER) >= 3:
            found = _match_header(index, names)
            maximum = sheet.max_row
            found.total = None if maximum is None else max(0, maximum - index)
            found.rows = _data_rows(rows, index, found.positions, book)
            return found
    book.close()
    raise LedgerUnreadable(
        [
            RowError(
                0,
                "",
                f"前 {HEADER_SEARCH_ROWS} 行中找不到表头（如：登记日期、纠纷类别、申请人）",
                Problem.header_missing,
            )
        ]
    )


def _match_header(row: int, names: list[str]) -> Sheet:
    headers: dict[str, str] = {}
    positions: dict[str, int] = {}
    problems: list[RowError] = []
    warnings: list[RowError] = []
    for position, name in enumerate(names):
        if not name:
            continue
        column = BY_HEADER.get(name)
        if column is None:
            warnings.append(
                RowError(row, name, f"未知的列“{name}”，导入时忽略", Problem.header_unknown)
            )
            continue
        if column.key in positions:
            problems.append(
                RowError(
                    row,
                    name,
                    f"列“{name}”与“{headers[column.key]}”重复（同为{column.header}）",
                    Problem.header_duplicate,
                )
            )
            continue
        headers[column.key] = name
        positions[column.key] = position
    for column in BY_KEY.values():
        if column.required and column.key not in positions:
            problems.append(_missing(row, column))
    if problems:
        raise LedgerUnreadable(problems)
    return Sheet(row, headers, positions, warnings)


def _missing(row: int, column: Column) -> RowError:
    return RowError(row, column.header, f"缺少必需的列“{column.header}”", Problem.header_missing)


def _data_rows(
    rows: Iterator[tuple[Any, ...]], header_row: int, positions: dict[str, int], book: Any
) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        for number, cells in enumerate(rows, start=header_row + 1):
            values = {
                key: (cells[at] if at < len(cells) else None) for key, at in positions.items()
            }
            if all(v is None or _text(v) == "" for v in values.values()):
                continue  # blank rows between and below the data
            yield number, values
    finally:
        book.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def text(value: Any) -> str:
    """A cell as the text people typed (numbers without a trailing .0)."""
    return _text(value)


def parse_date(value: Any) -> date | None:
    """An Excel date, a date serial, or text 2025-03-01 / 2025/3/1 / 2025年3月1日 / 2025.3.1 /
    20250301; None when it is none of these."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000101 <= value <= 29991231 and float(value).is_integer():
            return parse_date(str(int(value)))
        if 1 <= value < 2958466:
            from openpyxl.utils.datetime import from_excel

            found = from_excel(value)
            return found.date() if isinstance(found, datetime) else None
        return None
    raw = _text(value)
    match = _DATE_TEXT.match(raw) or _DATE_DIGITS.match(raw)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
