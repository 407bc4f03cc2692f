"""`fengqiao audit`: verify the hash chains, sign checkpoints."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli._common import console, errors, fail, settings_now

app = typer.Typer(help="审计链校验", no_args_is_help=True)


@app.command("verify")
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
                settings_now(),
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
            f"（{checkpoint.cases} 条链，根 {checkpoint.root[:16]}…）"
        )
    if result.baseline_at is not None:
        console.print(
            f"增量校验：自 {result.baseline_at:%Y-%m-%d %H:%M:%S} UTC 已核验的检查点起"
            f"重算了 {result.events} 条事件（--full 从头重算）"
        )
    console.print(f"[green]✓[/] {result.cases} 个案件的审计链完整")


@app.command("checkpoint")
def audit_checkpoint() -> None:
    """对所有案件审计链的链头签名（Merkle 根），写入检查点目录并通过发件箱发送给接收方。"""
    from api.checkpoints import CheckpointError
    from api.scheduler import checkpointer_from_settings
    from api.wiring import build_engine
    from engine.errors import EngineError

    settings = settings_now()
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
