"""`fengqiao stats`: the R-STATS figures for a unit and period."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from api.cli._common import console, date_option, fail, settings_now


def stats(
    unit: Annotated[int | None, typer.Option("--unit", help="组织 id；缺省为全部")] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="受理日期自（YYYY-MM-DD），缺省为当年1月1日")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="受理日期至（含），缺省为今天")] = None,
) -> None:
    """调解统计（R-STATS）：受理、调解成功率、化解率、各层级化解占比、办理工作日、履行率。"""
    from api.services.statistics import (
        CHILD_COLUMNS,
        EARLIEST,
        LATEST,
        breakdown,
        child_row,
        figure_rows,
    )
    from api.wiring import build_engine
    from engine.calendar import SHANGHAI
    from mediation import queries

    engine = build_engine(settings_now())
    last = date_option(end, "--to") or engine.clock.now().astimezone(SHANGHAI).date()
    first = date_option(start, "--from") or last.replace(month=1, day=1)
    if first > last:
        raise fail("统计起始日期不能晚于截止日期", "invalid_input")
    if first < EARLIEST or last > LATEST:
        raise fail(f"统计日期须在 {EARLIEST} 至 {LATEST} 之间", "invalid_input")
    with engine.db.transaction(write=False) as tx:
        row = queries.org_unit(tx, unit) if unit is not None else None
        if unit is not None and row is None:
            raise fail(f"组织 {unit} 不存在", "not_found")
        report, parts = breakdown(tx, engine, row, None, first, last)
    engine.db.engine.dispose()
    title = f"{row.name if row else '全部'}：{first} 至 {last} 受理的案件"
    table = Table("指标", "数值", title=title)
    for figure in figure_rows(report):
        table.add_row(figure.label, figure.value)
    console.print(table)
    if parts:
        lower = Table(*CHILD_COLUMNS)
        for unit_row, part in parts:
            lower.add_row(*child_row(unit_row, part))
        console.print(lower)
