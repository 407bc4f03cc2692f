"""The `fengqiao` command: set-up, demo data, the server, workflow tools and audit checks.

Every command exits 0 only on success and prints errors in Chinese with a stable code.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, select

from api import migrate
from api.settings import get_settings
from api.wiring import build_engine, load_registry, make_sa_engine
from engine.errors import DefinitionError, EngineError
from engine.graph import to_dot
from engine.models import Category
from engine.registry import Registry
from workflows import HOOKS

app = typer.Typer(
    help="枫桥 Fengqiao — 人民调解工作流引擎", no_args_is_help=True, add_completion=False
)
workflows_app = typer.Typer(help="流程定义：列出、校验、绘图", no_args_is_help=True)
audit_app = typer.Typer(help="审计链校验", no_args_is_help=True)
app.add_typer(workflows_app, name="workflows")
app.add_typer(audit_app, name="audit")

console = Console()
errors = Console(stderr=True)


def fail(message: str, code: str, exit_code: int = 1) -> typer.Exit:
    errors.print(f"[bold red]错误[/]（{code}）：{message}")
    return typer.Exit(exit_code)


@app.command()
def init() -> None:
    """初始化数据目录与数据库（应用迁移、生成密钥、写入纠纷类型）。可重复运行。"""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "documents").mkdir(exist_ok=True)
    engine = make_sa_engine(settings.resolved_database_url)
    try:
        migrate.upgrade(engine)
        from api.seed import seed_categories

        with Session(engine) as session:
            added = seed_categories(session)
        build_engine(settings, create_key=True).db.engine.dispose()
    except EngineError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    finally:
        engine.dispose()
    where = engine.url.render_as_string()
    home = settings.data_dir.resolve()
    console.print(f"[green]已初始化[/] {home}（数据库：{where}，新增纠纷类型 {added} 个）")


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="已有案件时跳过")] = False,
) -> None:
    """写入虚构的示范辖区：街道、社区、网格与中心户、两个品牌调解室、法院、志愿律师和约60件案件。"""
    from api.demo import load_demo

    settings = get_settings()
    engine = make_sa_engine(settings.resolved_database_url)
    try:
        with Session(engine) as session:
            if session.exec(select(Category)).first() is None:
                raise fail("数据库尚未初始化，请先运行 fengqiao init", "not_initialised")
        summary = load_demo(settings, skip_if_present=if_empty)
    except EngineError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    finally:
        engine.dispose()
    console.print(summary)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
    workers: Annotated[int, typer.Option(help="工作进程数")] = 1,
) -> None:
    """启动 HTTP 服务（/docs 为接口文档，/healthz 为健康检查）。"""
    import uvicorn

    console.print(f"枫桥服务：http://{host}:{port}/docs")
    uvicorn.run(
        "api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info"
    )


@workflows_app.command("list")
def workflows_list() -> None:
    """列出已加载的流程定义。"""
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


@workflows_app.command("validate")
def workflows_validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="要校验的 YAML 文件；缺省为全部")
    ] = None,
) -> None:
    """校验流程定义；有误时指出文件、行号和修改建议，退出码非零。"""
    registry = Registry(HOOKS)
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
    if failed:
        raise fail(f"{failed} 个流程定义有误", DefinitionError.code)


def load_registry_files() -> list[Path]:
    from workflows import WORKFLOWS_DIR

    return sorted(WORKFLOWS_DIR.glob("*/v*.yaml"))


@workflows_app.command("graph")
def workflows_graph(
    spec_id: Annotated[str, typer.Argument(help="流程 id，如 standard")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出 SVG 文件")],
    version: Annotated[int | None, typer.Option(help="版本；缺省为最新")] = None,
) -> None:
    """把流程画成 SVG（状态以中文标注）。需要 graphviz（make install 会安装）。"""
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
        [dot, "-Tsvg"], input=to_dot(compiled.spec).encode(), capture_output=True, check=False
    )
    if result.returncode != 0:
        raise fail(result.stderr.decode(errors="replace"), "graphviz_failed")
    output.write_bytes(result.stdout)
    console.print(f"已写入 {output}")


@audit_app.command("verify")
def audit_verify(
    case_ids: Annotated[list[int] | None, typer.Argument(help="案件 id；缺省为全部")] = None,
) -> None:
    """重新计算每个案件的审计哈希链；发现篡改时指出案件和事件，退出码非零。"""
    settings = get_settings()
    try:
        engine = build_engine(settings)
        breaks = engine.verify_audit(case_ids)
        total = len(case_ids) if case_ids else _count_cases(engine)
    except EngineError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    for found in breaks:
        errors.print(f"[red]✗[/] {found.describe()}")
    if breaks:
        raise fail(f"{len(breaks)} 个案件的审计链校验失败", "audit_chain_broken")
    console.print(f"[green]✓[/] {total} 个案件的审计链完整")


def _count_cases(engine: object) -> int:
    from engine.runtime import Engine

    assert isinstance(engine, Engine)
    with engine.db.transaction(write=False) as tx:
        row = tx.one("SELECT count(*) FROM cases")
    return int(row[0]) if row else 0


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
