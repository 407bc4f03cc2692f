"""`fengqiao ledger`: import a 人民调解案件登记台账 from Excel, export one for a unit and period."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli._common import console, date_option, errors, fail, settings_now

if TYPE_CHECKING:
    from rich.progress import TaskID

    from api.ledger import RowError
    from engine.records import Actor
    from mediation.engine import MediationEngine

app = typer.Typer(help="台账导入与导出（Excel）", no_args_is_help=True)

SHOWN_ERRORS = 200  # a table longer than this is cut; the count is always given


def _actor(engine: MediationEngine, username: str | None) -> Actor:
    """The user the import or export is done as (their roles and scope); without one, the
    console operator as the system actor (every unit)."""
    from api.authz import build_principal
    from engine.records import Actor
    from mediation import queries

    if username is None:
        return Actor.system()
    with engine.db.transaction(write=False) as tx:
        user_id = queries.user_id_any_case(tx, username)
        if user_id is None:
            raise fail(f"用户“{username}”不存在", "not_found")
        return build_principal(tx, user_id).actor


def _print_problems(title: str, problems: list[RowError], style: str) -> None:
    from rich.table import Table

    table = Table("行", "列", "问题", "代码", title=title, title_style=style)
    for problem in problems[:SHOWN_ERRORS]:
        table.add_row(str(problem.row or ""), problem.column, problem.message, problem.code)
    errors.print(table)
    if len(problems) > SHOWN_ERRORS:
        errors.print(f"……另有 {len(problems) - SHOWN_ERRORS} 处未列出")


@contextmanager
def _stages() -> Iterator[Callable[[str, int | None, int], None]]:
    """One progress display with a bar per stage of the import (检查, 写入), on stderr."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,
    ) as shown:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, total: int | None, advance: int) -> None:
            if stage not in tasks:
                tasks[stage] = shown.add_task(f"{stage}台账" if stage == "检查" else "写入案件")
            shown.update(tasks[stage], total=total, advance=advance)

        yield progress


@app.command("import")
def ledger_import(
    file: Annotated[Path, typer.Argument(help="台账文件（.xlsx）", exists=True, dir_okay=False)],
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="“调解组织”列为空时使用的调委会或调解室（名称或 id）"),
    ] = None,
    good_rows_only: Annotated[
        bool, typer.Option("--good-rows-only", help="只导入无误的行，列出有误的行")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查，不写入")] = False,
    user: Annotated[
        str | None, typer.Option("--user", help="以该用户的身份和辖区导入；缺省为系统（全部单位）")
    ] = None,
) -> None:
    """导入人民调解案件登记台账：逐行检查（身份证校验位、日期、纠纷类别、调解组织及辖区、案号重复），列出每处错误的行和列；默认全部无误才导入。"""
    from api.ledger import LedgerRejected, import_ledger
    from api.wiring import build_engine

    engine = build_engine(settings_now())
    actor = _actor(engine, user)
    try:
        with _stages() as progress:
            report = import_ledger(
                engine,
                actor,
                file,
                file_name=file.name,
                default_unit=unit,
                good_rows_only=good_rows_only,
                dry_run=dry_run,
                progress=progress,
            )
    except LedgerRejected as exc:
        if exc.warnings:
            _print_problems("提示", exc.warnings, "yellow")
        _print_problems(f"台账有误（{len(exc.problems)} 处）", exc.problems, "bold red")
        raise fail(exc.message_zh, exc.code) from exc
    finally:
        engine.db.engine.dispose()
    if report.warnings:
        _print_problems("提示", report.warnings, "yellow")
    if report.errors:
        _print_problems(f"未导入的行（{len(report.errors)} 处错误）", report.errors, "bold red")
    if dry_run:
        console.print(f"[green]✓[/] 检查完毕：{report.imported} 行无误，可以导入（未写入）")
        return
    imported = f"导入 {report.imported} 件案件（共 {report.rows} 行）"
    console.print(f"[green]✓[/] 已从 {file.name} {imported}")
    if report.errors:
        raise typer.Exit(1)  # some rows were left out: not a full success


@app.command("export")
def ledger_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="输出文件（.xlsx）")],
    unit: Annotated[
        str | None, typer.Option("--unit", help="单位（名称或 id），含其下级；缺省为全部")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="登记日期自（YYYY-MM-DD）")] = None,
    end: Annotated[str | None, typer.Option("--to", help="登记日期至（含）")] = None,
    full_numbers: Annotated[
        bool,
        typer.Option(
            "--full-numbers", help="导出完整身份证号码和电话（须管理员 --user，逐条记录）"
        ),
    ] = False,
    user: Annotated[
        str | None, typer.Option("--user", help="以该用户的身份和辖区导出；缺省为系统")
    ] = None,
) -> None:
    """导出某单位某期间的人民调解案件登记台账（与导入格式相同；身份证号码、电话默认遮蔽）。"""
    from api.ledger import Period, export_ledger
    from api.progress import bar
    from api.wiring import build_engine
    from engine.calendar import SHANGHAI

    engine = build_engine(settings_now())
    actor = _actor(engine, user)
    last = date_option(end, "--to") or engine.clock.now().astimezone(SHANGHAI).date()
    first = date_option(start, "--from") or last.replace(month=1, day=1)
    try:
        with bar("导出台账", "件") as (set_total, advance):

            def progress(total: int | None, step: int) -> None:
                if total is not None:
                    set_total(total)
                advance(step)

            content = export_ledger(
                engine,
                actor,
                unit,
                Period(first, last),
                full_numbers=full_numbers,
                progress=progress,
            )
    finally:
        engine.db.engine.dispose()
    output.write_bytes(content)
    console.print(f"[green]✓[/] 已导出 {first} 至 {last} 的台账：{output}")
