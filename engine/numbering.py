"""Case numbers such as （2026）枫调字第0001号 (R-NUMBER): unique per committee and year,
gap-free, never reused. The counter row is bumped in the same transaction as the case insert,
so a failed intake rolls its number back and concurrent intakes queue on the counter row."""

from __future__ import annotations

from engine.errors import DefinitionError
from engine.repository import Tx

DEFAULT_PATTERN = "（{year}）{committee_abbr}调字第{seq:04d}号"

_NEXT_SEQ = (
    "INSERT INTO case_counters (office_id, year, last_seq) VALUES (:office_id, :year, 1) "
    "ON CONFLICT (office_id, year) DO UPDATE SET last_seq = case_counters.last_seq + 1 "
    "RETURNING last_seq"
)


def next_sequence(tx: Tx, office_id: int, year: int) -> int:
    """Take the next sequence number for (office, year) inside the caller's transaction."""
    row = tx.row(_NEXT_SEQ, {"office_id": office_id, "year": year})
    assert row is not None
    return int(row["last_seq"])


def format_number(pattern: str, *, year: int, committee_abbr: str, seq: int) -> str:
    """Render a case number.

    Raises:
        DefinitionError: the configured pattern names an unknown field.
    """
    try:
        return pattern.format(year=year, committee_abbr=committee_abbr, seq=seq)
    except (KeyError, IndexError, ValueError) as exc:
        raise DefinitionError(
            f"案号格式“{pattern}”无效：{exc}",
            file="FENGQIAO_CASE_NUMBER_PATTERN",
            hint="可用字段：{year} {committee_abbr} {seq:04d}",
        ) from exc
