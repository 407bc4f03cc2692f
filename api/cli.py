"""The `fengqiao` command: set-up, demo data, the server, workflow tools and audit checks.

Every command exits 0 only on success and prints errors in Chinese with a stable code.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.settings import get_settings

if TYPE_CHECKING:
    from api.outbox import OutboxDispatcher
    from api.settings import Settings
    from engine.runtime import Engine

app = typer.Typer(
    help="枫桥 Fengqiao — 人民调解工作流引擎", no_args_is_help=True, add_completion=False
)
workflows_app = typer.Typer(help="流程定义：列出、校验、绘图", no_args_is_help=True)
audit_app = typer.Typer(help="审计链校验", no_args_is_help=True)
outbox_app = typer.Typer(help="通知发件箱：查看与重试", no_args_is_help=True)
timers_app = typer.Typer(help="期限与回访定时器：查看与重试", no_args_is_help=True)
calendar_app = typer.Typer(help="法定节假日与调休数据", no_args_is_help=True)
documents_app = typer.Typer(
    help="文书：核验签名、导出协议书与裁定书、导出卷宗", no_args_is_help=True
)
app.add_typer(workflows_app, name="workflows")
app.add_typer(audit_app, name="audit")
app.add_typer(outbox_app, name="outbox")
app.add_typer(timers_app, name="timers")
app.add_typer(calendar_app, name="calendar")
app.add_typer(documents_app, name="documents")

console = Console()
errors = Console(stderr=True)


def fail(message: str, code: str, exit_code: int = 1) -> typer.Exit:
    errors.print(f"[bold red]错误[/]（{code}）：{message}")
    return typer.Exit(exit_code)


@app.command()
def init() -> None:
    """初始化数据目录与数据库（应用迁移、生成密钥、写入纠纷类型）。可重复运行。"""
    from sqlmodel import Session

    from api import migrate
    from api.wiring import build_engine, make_sa_engine
    from engine.errors import EngineError

    settings = get_settings()
    _check_document_environment()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.documents_dir.mkdir(mode=0o700, exist_ok=True)
    settings.documents_dir.chmod(0o700)  # the documents carry full ID numbers (R-PII)
    from api.keys import load_document_key

    load_document_key(settings.resolved_document_store_key_file, "文书加密密钥")
    from api.checkpoints import load_signing_key

    load_signing_key(settings.resolved_audit_key_file, create=True)
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


def _check_document_environment() -> None:
    """Agreements need the CJK font and HarfBuzz subsetting: stop now, not at signing time."""
    from api.documents import check_environment
    from documents import DocumentError

    try:
        check_environment(get_settings().document_font_family)
    except DocumentError as exc:
        raise fail(f"文书环境检查未通过：{exc.message_zh}", exc.code) from exc


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="已有案件时跳过")] = False,
    with_documents: Annotated[
        bool,
        typer.Option(
            "--documents/--no-documents",
            help="为已签署的案件生成并签署真实的调解协议书（默认）；--no-documents 更快",
        ),
    ] = True,
) -> None:
    """写入虚构的示范辖区：街道、社区、网格与中心户、两个品牌调解室、法院、志愿律师和约60件案件。"""
    from sqlmodel import Session, select

    from api.demo import load_demo
    from api.wiring import make_sa_engine
    from documents import DocumentError
    from engine.errors import EngineError
    from engine.models import Category

    settings = get_settings()
    engine = make_sa_engine(settings.resolved_database_url)
    try:
        with Session(engine) as session:
            if session.exec(select(Category)).first() is None:
                raise fail("数据库尚未初始化，请先运行 fengqiao init", "not_initialised")
        summary = load_demo(settings, skip_if_present=if_empty, with_documents=with_documents)
    except (EngineError, DocumentError) as exc:
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
    from api.server import serve as serve_app

    _check_document_environment()
    console.print(f"枫桥服务：http://{host}:{port}/docs")
    try:
        status = serve_app(
            "api.app:create_app",
            host=host,
            port=port,
            workers=workers,
            factory=True,
            log_level="info",
        )
    except OSError as exc:
        raise fail(f"无法监听 {host}:{port}：{exc.strerror or exc}", "listen_failed") from exc
    raise typer.Exit(status)


@workflows_app.command("list")
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


@workflows_app.command("validate")
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


@workflows_app.command("graph")
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
        [dot, "-Tsvg"], input=to_dot(compiled.spec).encode(), capture_output=True, check=False
    )
    if result.returncode != 0:
        raise fail(result.stderr.decode(errors="replace"), "graphviz_failed")
    output.write_bytes(result.stdout)
    console.print(f"已写入 {output}")


@audit_app.command("verify")
def audit_verify(
    case_ids: Annotated[list[int] | None, typer.Argument(help="案件 id；缺省为全部")] = None,
    full: Annotated[
        bool, typer.Option("--full", help="从头重算全部事件（默认从上次核验通过的检查点增量校验）")
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="并行进程数；缺省为 CPU 核数")
    ] = None,
) -> None:
    """重新计算每个案件的审计哈希链，核对案件记录与最后一条事件、最新的签名检查点；发现篡改时指出案件和事件，退出码非零。"""
    from api import audit_verify as verifying
    from api.checkpoints import CheckpointError
    from api.progress import bar
    from engine.errors import EngineError

    try:
        with bar("校验审计链", "个案件") as (set_total, advance):
            result, checkpoint = verifying.run(
                get_settings(),
                case_ids=case_ids or None,
                full=full,
                workers=workers,
                on_total=set_total,
                progress=advance,
            )
    except EngineError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    except CheckpointError as exc:
        raise fail(exc.message_zh, "audit_checkpoint_invalid") from exc
    for found in result.breaks:
        errors.print(f"[red]✗[/] {found.describe()}")
    if result.breaks:
        raise fail(f"{len(result.breaks)} 个案件的审计链校验失败", "audit_chain_broken")
    if checkpoint is None:
        console.print(
            "[yellow]![/] 尚无签名检查点：只校验了哈希链本身（运行 fengqiao audit checkpoint）"
        )
    else:
        console.print(
            f"[green]✓[/] 与 {checkpoint.created_at:%Y-%m-%d %H:%M:%S} UTC 的签名检查点一致"
            f"（{len(checkpoint.heads)} 条链，根 {checkpoint.root[:16]}…）"
        )
    if result.baseline is not None:
        console.print(
            f"增量校验：自 {result.baseline.created_at:%Y-%m-%d %H:%M:%S} UTC 已核验的检查点起"
            f"重算了 {result.events} 条事件（--full 从头重算）"
        )
    console.print(f"[green]✓[/] {result.cases} 个案件的审计链完整")


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """对所有案件审计链的链头签名（Merkle 根），写入检查点目录并通过发件箱发送给接收方。"""
    from api.checkpoints import CheckpointError
    from api.scheduler import checkpointer_from_settings
    from api.wiring import build_engine
    from engine.errors import EngineError

    settings = get_settings()
    engine = build_engine(settings)
    try:
        made = checkpointer_from_settings(settings, engine, create_key=True).make()
    except EngineError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    except CheckpointError as exc:
        raise fail(exc.message_zh, "audit_checkpoint_invalid") from exc
    finally:
        engine.db.engine.dispose()
    console.print(f"已签名 {len(made.heads)} 条审计链的链头，根 {made.root}")
    console.print(f"检查点文件：{made.path}")


@app.command("backup")
def backup_command(
    target: Annotated[Path, typer.Argument(help="备份文件（.tar.gz）")],
    with_keys: Annotated[
        bool, typer.Option("--with-keys", help="同时备份密钥（用口令加密）")
    ] = False,
    passphrase: Annotated[
        str | None, typer.Option(envvar="FENGQIAO_BACKUP_PASSPHRASE", help="密钥的加密口令")
    ] = None,
) -> None:
    """把数据库快照、文书、审计检查点和校验清单写入一个备份文件；密钥仅在 --with-keys 时加密。"""
    from api.backup import BackupError, backup
    from api.wiring import make_sa_engine

    if with_keys and not passphrase:
        raise fail("--with-keys 须同时提供 --passphrase（或 FENGQIAO_BACKUP_PASSPHRASE）", "usage")
    settings = get_settings()
    engine = make_sa_engine(settings.resolved_database_url)
    try:
        manifest = backup(settings, engine, target, passphrase=passphrase if with_keys else None)
    except (BackupError, OSError) as exc:
        raise fail(getattr(exc, "message_zh", str(exc)), "backup_failed") from exc
    finally:
        engine.dispose()
    console.print(
        f"已写入 {target}：{len(manifest['files'])} 个文件，密钥：{'有' if with_keys else '无'}"
    )


@app.command("restore")
def restore_command(
    source: Annotated[Path, typer.Argument(help="备份文件")],
    passphrase: Annotated[
        str | None, typer.Option(envvar="FENGQIAO_BACKUP_PASSPHRASE", help="密钥的加密口令")
    ] = None,
) -> None:
    """恢复到空的数据目录和空数据库；核对每个校验和、审计链和文书摘要后才报告成功。"""
    from api.backup import BackupError, restore, verify_restored
    from api.wiring import make_sa_engine

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_sa_engine(settings.resolved_database_url)
    try:
        report = restore(settings, engine, source, passphrase=passphrase)
        verify_restored(settings, report)
    except BackupError as exc:
        raise fail(exc.message_zh, "restore_failed") from exc
    finally:
        engine.dispose()
    console.print(
        f"[green]✓[/] 已恢复：{sum(report.tables.values())} 行，{report.documents} 份文书文件，"
        f"{report.checkpoints} 个检查点；{report.chains} 条审计链与文书摘要均已核对"
    )
    if report.missing_documents:
        console.print(
            f"[yellow]![/] {len(report.missing_documents)} 份文书有记录但原系统中就没有文件"
        )


def _date_option(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"{name} 须为 YYYY-MM-DD 格式的日期：{value}", "invalid_date") from exc


@app.command()
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
    from engine import queries
    from engine.calendar import SHANGHAI

    engine = build_engine(get_settings())
    last = _date_option(end, "--to") or engine.clock.now().astimezone(SHANGHAI).date()
    first = _date_option(start, "--from") or last.replace(month=1, day=1)
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


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="只运行一次后退出")] = False,
) -> None:
    """运行定时任务：到期的期限与回访、通知投递（可与 serve 并行，多进程不会重复执行）。"""
    import logging

    from api.logs import configure_logging
    from api.scheduler import Ticker, run_blocking
    from api.wiring import build_engine
    from engine.errors import EngineError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = get_settings()
    configure_logging(settings.log_format)
    try:
        engine = build_engine(settings)
    except EngineError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    ticker = Ticker.from_settings(settings, engine)
    if once:
        summary = ticker.tick()
        delivered = summary.outbox.delivered if summary.outbox else 0
        console.print(
            f"到期 {summary.timers.claimed} 项：执行 {summary.timers.fired}，"
            f"跳过 {summary.timers.skipped}，失败 {summary.timers.failed}；通知投递 {delivered} 条"
        )
        engine.db.engine.dispose()
        return
    console.print(f"定时任务已启动，每 {settings.tick_seconds:g} 秒检查一次（Ctrl+C 停止）")
    try:
        run_blocking(ticker, settings.tick_seconds)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        engine.db.engine.dispose()


def _dispatcher() -> tuple[Engine, OutboxDispatcher]:
    from api.scheduler import dispatcher_from_settings
    from api.wiring import build_engine

    settings = get_settings()
    engine = build_engine(settings)
    return engine, dispatcher_from_settings(settings, engine)


@outbox_app.command("list")
def outbox_list(
    status: Annotated[
        str | None, typer.Option(help="pending（待投递）、delivered（已投递）或 dead（投递失败）")
    ] = None,
    limit: Annotated[int, typer.Option(help="最多显示条数")] = 50,
) -> None:
    """列出通知（最新在前），含失败原因。"""
    if status not in (None, "pending", "delivered", "dead"):
        raise fail("status 只能是 pending、delivered 或 dead", "invalid_input", 2)
    engine, dispatcher = _dispatcher()
    table = Table("编号", "案件", "类型", "收件方", "状态", "尝试", "下次尝试", "错误")
    for row in dispatcher.listing(status, limit):
        table.add_row(
            str(row["id"]),
            str(row["case_id"] or ""),
            row["kind"],
            row["recipient"],
            row["status"],
            str(row["attempts"]),
            row["next_attempt_at"].isoformat(timespec="seconds") if row["next_attempt_at"] else "",
            (row["last_error"] or "")[:60],
        )
    console.print(table)
    _dispose(engine)


@outbox_app.command("retry")
def outbox_retry(
    message_ids: Annotated[
        list[int] | None, typer.Argument(help="通知编号；缺省为全部失败通知")
    ] = None,
    deliver: Annotated[bool, typer.Option("--deliver/--no-deliver", help="立即投递")] = True,
) -> None:
    """把投递失败（dead）的通知重新排队，并立即尝试投递。"""
    engine, dispatcher = _dispatcher()
    count = dispatcher.retry(engine.clock.now(), message_ids)
    console.print(f"已重新排队 {count} 条通知")
    if deliver and count:
        if not dispatcher.senders:
            _dispose(engine)
            raise fail("未配置投递渠道（FENGQIAO_WEBHOOK_URL 或 FENGQIAO_SMTP_HOST）", "no_sender")
        report = dispatcher.deliver_due(engine.clock.now(), limit=max(count, 100))
        console.print(
            f"投递成功 {report.delivered} 条，待重试 {report.retrying} 条，失败 {report.dead} 条"
        )
        for error in report.errors:
            errors.print(f"[red]✗[/] {error}")
        if report.retrying or report.dead:
            _dispose(engine)
            raise typer.Exit(1)
    _dispose(engine)


def _dispose(engine: Engine) -> None:
    engine.db.engine.dispose()


@timers_app.command("list")
def timers_list(
    status: Annotated[
        str, typer.Option(help="pending、claimed、failed、done 或 cancelled")
    ] = "pending",
    case_id: Annotated[int | None, typer.Option("--case", help="只看某个案件")] = None,
    limit: Annotated[int, typer.Option(help="最多显示条数")] = 50,
) -> None:
    """列出定时器：到期时间、是否按暂定日历计算、失败原因。"""
    from api.wiring import build_engine
    from engine.calendar import SHANGHAI

    settings = get_settings()
    engine = build_engine(settings)
    where = "status = :status" + (" AND case_id = :case" if case_id else "")
    with engine.db.transaction(write=False) as tx:
        rows = tx.all(
            "SELECT id, case_id, kind, name, due_at, on_expiry, provisional, attempts, last_error "
            f"FROM timers WHERE {where} ORDER BY due_at LIMIT :limit",
            {"status": status, "case": case_id, "limit": limit},
        )
        table = Table(
            "编号", "案件", "类型", "名称", "到期（北京时间）", "到期执行", "暂定", "尝试", "错误"
        )
        for r in rows:
            due = tx.codec.dt_in_required(r[4]).astimezone(SHANGHAI)
            table.add_row(
                str(r[0]),
                str(r[1]),
                str(r[2]),
                str(r[3]),
                due.strftime("%Y-%m-%d %H:%M"),
                str(r[5]),
                "是" if r[6] else "",
                str(r[7]),
                (r[8] or "")[:50],
            )
    console.print(table)
    engine.db.engine.dispose()


@timers_app.command("retry")
def timers_retry(
    timer_ids: Annotated[
        list[int] | None, typer.Argument(help="定时器编号；缺省为全部失败的")
    ] = None,
) -> None:
    """把失败（failed）的定时器重新排队，下一次运行时执行。"""
    from api.wiring import build_engine
    from engine.timers import TimerService

    engine = build_engine(get_settings())
    count = TimerService(engine).retry_failed(timer_ids)
    console.print(f"已重新排队 {count} 个定时器")
    engine.db.engine.dispose()


@calendar_app.command("import")
def calendar_import(
    file: Annotated[Path, typer.Argument(help="某一年的节假日安排 YAML（格式见 README）")],
) -> None:
    """导入国务院公布的某年节假日安排，并重算按暂定日历计算的期限。"""
    from api.wiring import build_engine
    from engine.calendar import parse_year_file
    from engine.errors import EngineError
    from engine.timers import TimerService

    settings = get_settings()
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


@calendar_app.command("list")
def calendar_list() -> None:
    """列出日历已知的年份及数据来源；未知年份的期限按周末计算并标为暂定。"""
    from api.wiring import load_calendar
    from engine.errors import EngineError

    settings = get_settings()
    try:
        calendar = load_calendar(settings.resolved_calendar_dir)
    except EngineError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    table = Table("年份", "来源", "假日", "调休工作日")
    for year in calendar.years_known():
        data = calendar.year(year)
        table.add_row(str(year), data.source, str(len(data.holidays)), str(len(data.workdays)))
    console.print(table)


@documents_app.command("verify")
def documents_verify(
    file: Annotated[Path, typer.Argument(help="要核验的 PDF 文书")],
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="另外信任的根证书（PEM 或 DER），可重复"),
    ] = None,
    allow_incomplete: Annotated[
        bool,
        typer.Option(
            "--allow-incomplete", help="签署中的草稿：已有签名均有效、顺序正确时退出码也为 0"
        ),
    ] = False,
) -> None:
    """核验文书：每个签名的签署人、角色、时间、是否完好、是否受信任，以及整份文书的结论。

    信任本部署的 CA（数据目录下的开发用 CA 或配置的 PKCS#12）及 --trust 指定的证书。
    退出码：0 有效；1 无效（签名损坏、证书不受信任、签名人不符、签署后被修改、无法读取）；
    3 签署未完成（缺少计划中的签名，如草稿或被截掉后面修订的文件）；4 签署顺序不符。
    """
    from cryptography import x509

    from api.documents import trust_roots
    from documents import DocumentError, Verdict, verify
    from documents.verification import beijing_time

    try:
        pdf = file.read_bytes()
    except OSError as exc:
        raise fail(f"无法读取文件 {file}：{exc.strerror}", "file_unreadable") from exc
    try:
        roots: list[x509.Certificate | bytes] = [*trust_roots(get_settings())]
        roots += [path.read_bytes() for path in trust or []]
    except OSError as exc:
        raise fail(f"无法读取证书文件：{exc}", "file_unreadable") from exc
    try:
        report = verify(pdf, roots)
    except DocumentError as exc:
        console.print(f"核验结论：无效。{exc.message_zh}", soft_wrap=True, highlight=False)
        raise fail(exc.message_zh, exc.code) from exc
    except ValueError as exc:
        raise fail(f"证书无法解析：{exc}", "certificate_unreadable") from exc
    yes_no = {True: "[green]是[/]", False: "[red]否[/]"}
    total = len(report.signatures)
    for index, signature in enumerate(report.signatures, start=1):
        when = (
            f"{beijing_time(signature.signing_time)}（北京时间）" if signature.signing_time else "—"
        )
        dev = "（开发用证书）" if signature.development_certificate else ""
        level = signature.modification_level
        lines = [
            f"[bold]签名 {index}/{total}[/]（{signature.field}，{signature.label}）",
            f"  签署人：{signature.signer_name}{dev}",
            f"  角色：{signature.role.label_zh if signature.role else '（未知）'}",
            f"  签署时间：{when}",
            f"  内容完好：{yes_no[signature.intact and signature.valid]}",
            f"  证书受信任：{yes_no[signature.trusted]}",
            f"  与签名栏相符：{yes_no[signature.matches_slot]}",
            f"  签署后改动：{_MODIFICATION_ZH.get(level, level)}",
        ]
        console.print("\n".join(lines), soft_wrap=True, highlight=False)
    console.print(report.headline_zh, soft_wrap=True, highlight=False)
    verdict = report.verdict
    if verdict is Verdict.INCOMPLETE and allow_incomplete:
        return
    if verdict is not Verdict.VALID:
        raise fail(
            f"文书核验结论为“{verdict.label_zh}”", f"document_{verdict.value}", verdict.exit_code
        )


_MODIFICATION_ZH = {
    "NONE": "无",
    "LTA_UPDATES": "仅补充验证数据",
    "FORM_FILLING": "仅后续签名",
    "ANNOTATIONS": "[yellow]添加了批注[/]",
    "OTHER": "[red]内容被修改[/]",
}


# Kinds whose signed versions are stored (the workflow's document kinds; tests keep them equal).
STORED_KINDS = {"agreement": "调解协议书文书", "ruling": "民事裁定书"}


def _latest_stored(settings: Settings, case_id: int, kind: str) -> tuple[int, str] | None:
    """The latest stored version of a case's document, read with the standard library's
    SQLite driver: no SQLAlchemy, no engine, no workflows to load. None when the database is
    not SQLite (the caller then goes through the engine). Exits when the case or the
    document does not exist.
    """
    import sqlite3

    url = settings.resolved_database_url
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            if db.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone() is None:
                raise fail(f"案件 {case_id} 不存在", "case_not_found")
            row = db.execute(
                "SELECT version, sha256 FROM documents WHERE case_id = ? AND kind = ? "
                "ORDER BY version DESC LIMIT 1",
                (case_id, kind),
            ).fetchone()
    except sqlite3.Error:
        return None  # not initialised, locked, …: the engine path says what is wrong
    if row is None:
        what = "协议扫描件" if kind == "agreement_scan" else STORED_KINDS[kind]
        raise fail(f"案件 {case_id} 尚无{what}", "document_not_found")
    return int(row[0]), str(row[1])


@documents_app.command("render")
def documents_render(
    case_id: Annotated[int, typer.Argument(help="案件 id")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出 PDF 文件")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="文书种类：agreement（调解协议书，默认）、ruling（民事裁定书）、application、"
            "registration、transcript、confirmation_application、followup、legal_opinion",
        ),
    ] = "agreement",
    index: Annotated[
        int | None,
        typer.Option(
            "--index", min=1, help="第几次调解笔录 / 回访记录 / 法律意见（从 1 起，默认最新）"
        ),
    ] = None,
    scan: Annotated[
        bool, typer.Option("--scan", help="导出纸质签署的扫描件（婚姻、收养、继承类协议）")
    ] = False,
) -> None:
    """导出案件文书：调解协议书或民事裁定书的最新版本（签名一并导出），或按案件现状生成卷宗中的其他文书（只读，不签署、不存档）。"""
    settings = get_settings()
    if kind in STORED_KINDS or scan:
        if scan and kind != "agreement":
            raise fail("--scan 只适用于调解协议书（--kind agreement）", "invalid_input", 2)
        stored = "agreement_scan" if scan else kind
        found = _latest_stored(settings, case_id, stored)
        if found is not None:  # SQLite: read without building the engine (fast start)
            version, digest = found
            from api.document_store import open_document_store
            from documents.errors import DocumentError as StoreFailed

            try:
                data = open_document_store(settings).get(digest)
            except StoreFailed as exc:
                raise fail(exc.message_zh, exc.code) from exc
            output.write_bytes(data)
            note = f"第 {version} 版，SHA-256 {digest}"
            console.print(f"已写入 {output}（{note}）", soft_wrap=True)
            return
    from api.documents import AGREEMENT, AGREEMENT_SCAN, CASE_FILE_KINDS, RULING, DocumentService
    from api.wiring import build_engine
    from documents import DocumentError
    from engine.errors import EngineError
    from engine.records import Actor

    if kind not in (AGREEMENT, RULING) and kind not in CASE_FILE_KINDS:
        choices = "、".join((AGREEMENT, RULING, *CASE_FILE_KINDS))
        raise fail(f"未知的文书种类“{kind}”，可选：{choices}", "invalid_input", 2)
    if scan and kind != AGREEMENT:
        raise fail("--scan 只适用于调解协议书（--kind agreement）", "invalid_input", 2)
    try:
        engine = build_engine(settings)
    except EngineError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    try:
        service = DocumentService(settings, engine)
        with engine.db.transaction(write=False) as tx:
            if tx.load_case(case_id) is None:
                raise fail(f"案件 {case_id} 不存在", "case_not_found")
        if kind in CASE_FILE_KINDS:
            data = service.render_case_document(case_id, Actor.system(), kind, index=index)
            note = "按案件现状生成，未签署、未存档"
        else:
            stored = AGREEMENT_SCAN if scan else kind
            latest = service.latest(case_id, stored)
            if latest is None:
                what = "协议扫描件" if scan else STORED_KINDS[kind]
                raise fail(f"案件 {case_id} 尚无{what}", "document_not_found")
            data = service.read(latest.sha256)
            note = f"第 {latest.version} 版，SHA-256 {latest.sha256}"
    except (DocumentError, EngineError) as exc:
        raise fail(exc.message_zh, exc.code) from exc
    finally:
        engine.db.engine.dispose()
    output.write_bytes(data)
    console.print(f"已写入 {output}（{note}）", soft_wrap=True)


@documents_app.command("casefile")
def documents_casefile(
    case_id: Annotated[int, typer.Argument(help="案件 id")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出 PDF 文件")],
) -> None:
    """导出案件的卷宗：封面、卷内目录、按规定顺序排列的全部文书（签名原件作为附件），经调解委员会盖章；已结案的案件首次导出时归档，此后不变。"""
    from api.documents import DocumentService
    from api.services.case_file import CaseFileService
    from api.wiring import build_engine
    from documents import DocumentError
    from engine.errors import EngineError
    from engine.records import Actor

    settings = get_settings()
    try:
        engine = build_engine(settings)
    except EngineError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    try:
        with engine.db.transaction(write=False) as tx:
            case = tx.load_case(case_id)
        if case is None:
            raise fail(f"案件 {case_id} 不存在", "case_not_found")
        service = CaseFileService(DocumentService(settings, engine))
        data = service.volume(case_id, Actor.system())
    except (DocumentError, EngineError) as exc:
        raise fail(exc.message_zh, exc.code) from exc
    finally:
        engine.db.engine.dispose()
    output.write_bytes(data)
    state = "已归档" if case.closed_at is not None else "未结案，未归档"
    console.print(f"已写入 {output}（卷宗，{state}）", soft_wrap=True)


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
