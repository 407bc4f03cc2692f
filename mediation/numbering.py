"""Case numbers such as （2026）枫调字第0001号 (R-NUMBER): the pattern a deployment configures,
filled with the year, the committee's short name and its sequence number (the engine's
counter per office and year, engine/numbering.py)."""

from __future__ import annotations

from engine.errors import DefinitionError

DEFAULT_PATTERN = "（{year}）{committee_abbr}调字第{seq:04d}号"


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
