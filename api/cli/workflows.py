"""`fengqiao workflows`: list, validate and draw the flows."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli._common import console, errors, fail

app = typer.Typer(help="流程定义：列出、校验、绘图", no_args_is_help=True)


@app.command("list")
def workflows_list() -> None:
    """列出已加载的流程定义。"""
    from api.wiring import load_registry
    from engine.errors import DefinitionError

    try:
        registry = load_registry()
    except DefinitionError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    table = Table("流程", "版本", "名称", "状态数", "转换数", "文件")
    for compiled in registry.all():
        spec = compiled.spec
        table.add_row(
            spec.id,
            str(spec.version),
            spec.title,
            str(len(spec.states)),
            str(len(spec.transitions)),
            str(compiled.file),
        )
    console.print(table)


@app.command("validate")
def workflows_validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="要校验的 YAML 文件；缺省为全部")
    ] = None,
) -> None:
    """校验流程定义；有误时指出文件、行号和修改建议，退出码非零。"""
    from api.wiring import REQUIREMENTS
    from engine.errors import DefinitionError
    from engine.registry import VOCABULARY_DIR, Registry, load_vocabularies
    from workflows import HOOKS, WORKFLOWS_DIR

    try:
        vocabularies = load_vocabularies(WORKFLOWS_DIR / VOCABULARY_DIR)
    except DefinitionError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    registry = Registry(HOOKS, vocabularies, REQUIREMENTS)
    files = paths or sorted(load_registry_files())
    failed = 0
    for file in files:
        try:
            compiled = registry.load_file(file)
        except DefinitionError as exc:
            failed += 1
            errors.print(f"[red]✗[/] {exc.message_zh}")
            continue
        console.print(f"[green]✓[/] {file}（{compiled.spec.title} v{compiled.spec.version}）")
    if not paths and not failed:
        try:
            registry.check_requirements()
        except DefinitionError as exc:
            errors.print(f"[red]✗[/] {exc.message_zh}")
            failed += 1
    if failed:
        raise fail(f"{failed} 个流程定义有误", DefinitionError.code)


def load_registry_files() -> list[Path]:
    from engine.registry import VOCABULARY_DIR
    from workflows import WORKFLOWS_DIR

    return sorted(f for f in WORKFLOWS_DIR.glob("*/v*.yaml") if f.parent.name != VOCABULARY_DIR)


@app.command("graph")
def workflows_graph(
    spec_id: Annotated[str, typer.Argument(help="流程 id，如 standard")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出 SVG 文件")],
    version: Annotated[int | None, typer.Option(help="版本；缺省为最新")] = None,
) -> None:
    """把流程画成 SVG（状态以中文标注）。需要 graphviz（make install 会安装）。"""
    from api.wiring import load_registry
    from engine.errors import DefinitionError
    from engine.graph import to_dot

    try:
        registry = load_registry()
        compiled = registry.get(spec_id, version) if version else registry.latest(spec_id)
    except DefinitionError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    dot = shutil.which("dot")
    if dot is None:
        raise fail(
            "未找到 graphviz 的 dot 命令，请运行 make install 或 apt-get install graphviz",
            "graphviz_missing",
        )
    result = subprocess.run(
        [dot, "-Tsvg"], input=to_dot(compiled).encode(), capture_output=True, check=False
    )
    if result.returncode != 0:
        raise fail(result.stderr.decode(errors="replace"), "graphviz_failed")
    output.write_bytes(result.stdout)
    console.print(f"已写入 {output}")
