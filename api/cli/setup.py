"""Set-up and operation of one installation: init, demo, serve, backup, restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._common import console, fail, settings_now


def init() -> None:
    """初始化数据目录与数据库（应用迁移、生成密钥、写入纠纷类型）。可重复运行。"""
    from sqlmodel import Session

    from api import migrate
    from api.wiring import build_engine, make_sa_engine
    from engine.errors import EngineError

    settings = settings_now()
    check_document_environment()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.documents_dir.mkdir(mode=0o700, exist_ok=True)
    settings.documents_dir.chmod(0o700)  # the documents carry full ID numbers (R-PII)
    from api.keys import load_document_key

    load_document_key(settings.resolved_document_store_key_file, "文书加密密钥")
    # made here rather than on first start or first document, so that a second API machine
    # can be given the same keys/ folder right after init (README: several API machines)
    from api.documents.public_ids import document_key_file
    from api.keys import load_token_key

    load_token_key(settings.resolved_token_key_file)
    load_document_key(document_key_file(settings))
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


def check_document_environment() -> None:
    """Agreements need the CJK font and HarfBuzz subsetting: stop now, not at signing time."""
    from api.documents.core import check_environment
    from documents import DocumentError

    try:
        check_environment(settings_now().document_font_family)
    except DocumentError as exc:
        raise fail(f"文书环境检查未通过：{exc.message_zh}", exc.code) from exc


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
    from mediation.models.cases import Category

    settings = settings_now()
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


def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
    workers: Annotated[int, typer.Option(help="工作进程数")] = 1,
) -> None:
    """启动 HTTP 服务（/docs 为接口文档，/healthz 为健康检查）。"""
    from api.server import serve as serve_app

    check_document_environment()
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
    settings = settings_now()
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


def restore_command(
    source: Annotated[Path, typer.Argument(help="备份文件")],
    passphrase: Annotated[
        str | None, typer.Option(envvar="FENGQIAO_BACKUP_PASSPHRASE", help="密钥的加密口令")
    ] = None,
) -> None:
    """恢复到空的数据目录和空数据库；核对每个校验和、审计链和文书摘要后才报告成功。"""
    from api.backup import BackupError, restore, verify_restored
    from api.wiring import make_sa_engine

    settings = settings_now()
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
