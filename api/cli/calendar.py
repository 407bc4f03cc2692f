"""`fengqiao calendar`: the State Council's holiday data."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli._common import console, fail, settings_now

app = typer.Typer(help="法定节假日与调休数据", no_args_is_help=True)


@app.command("import")
def calendar_import(
    file: Annotated[Path, typer.Argument(help="某一年的节假日安排 YAML（格式见 README）")],
) -> None:
    """导入国务院公布的某年节假日安排，并重算按暂定日历计算的期限。"""
    from api.wiring import build_engine
    from engine.calendar import parse_year_file
    from engine.errors import EngineError
    from engine.timers import TimerService

    settings = settings_now()
    try:
        year = parse_year_file(file)
    except EngineError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    folder = settings.resolved_calendar_dir
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{year.year}.yaml"
    shutil.copyfile(file, target)
    try:
        engine = build_engine(settings)
    except EngineError as exc:
        target.unlink()
        raise fail(exc.message_zh, exc.code) from exc
    moved = TimerService(engine).recompute_provisional()
    engine.db.engine.dispose()
    console.print(
        f"[green]已导入[/] {year.year} 年：{len(year.holidays)} 个假日、"
        f"{len(year.workdays)} 个调休工作日（{target}）；重算暂定期限 {moved} 个"
    )


@app.command("list")
def calendar_list() -> None:
    """列出日历已知的年份及数据来源；未知年份的期限按周末计算并标为暂定。"""
    from api.wiring import load_calendar
    from engine.errors import EngineError

    settings = settings_now()
    try:
        calendar = load_calendar(settings.resolved_calendar_dir)
    except EngineError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    table = Table("年份", "来源", "假日", "调休工作日")
    for year in calendar.years_known():
        data = calendar.year(year)
        table.add_row(str(year), data.source, str(len(data.holidays)), str(len(data.workdays)))
    console.print(table)
