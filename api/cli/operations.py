"""The background work and its queues: worker, `fengqiao outbox`, `fengqiao timers`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli._common import console, dispose, errors, fail, settings_now

if TYPE_CHECKING:
    from api.outbox import OutboxDispatcher
    from mediation.engine import MediationEngine

outbox_app = typer.Typer(help="通知发件箱：查看与重试", no_args_is_help=True)
timers_app = typer.Typer(help="期限与回访定时器：查看与重试", no_args_is_help=True)


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
    settings = settings_now()
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


def _dispatcher() -> tuple[MediationEngine, OutboxDispatcher]:
    from api.scheduler import dispatcher_from_settings
    from api.wiring import build_engine

    settings = settings_now()
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
    dispose(engine)


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
            dispose(engine)
            raise fail("未配置投递渠道（FENGQIAO_WEBHOOK_URL 或 FENGQIAO_SMTP_HOST）", "no_sender")
        report = dispatcher.deliver_due(engine.clock.now(), limit=max(count, 100))
        console.print(
            f"投递成功 {report.delivered} 条，待重试 {report.retrying} 条，失败 {report.dead} 条"
        )
        for error in report.errors:
            errors.print(f"[red]✗[/] {error}")
        if report.retrying or report.dead:
            dispose(engine)
            raise typer.Exit(1)
    dispose(engine)


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

    settings = settings_now()
    engine = build_engine(settings)
    with engine.db.transaction(write=False) as tx:
        timers = tx.timers_by_status(status, case_id=case_id or None, limit=limit)
    table = Table(
        "编号", "案件", "类型", "名称", "到期（北京时间）", "到期执行", "暂定", "尝试", "错误"
    )
    for timer in timers:
        table.add_row(
            str(timer.id),
            str(timer.case_id),
            timer.kind,
            timer.name,
            timer.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
            timer.on_expiry,
            "是" if timer.provisional else "",
            str(timer.attempts),
            (timer.last_error or "")[:50],
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

    engine = build_engine(settings_now())
    count = TimerService(engine).retry_failed(timer_ids)
    console.print(f"已重新排队 {count} 个定时器")
    engine.db.engine.dispose()
