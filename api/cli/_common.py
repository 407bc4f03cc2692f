"""What every command shares: the consoles, the one way to fail, small parsers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from api.settings import Settings
    from mediation.engine import MediationEngine

console = Console()
errors = Console(stderr=True)


def fail(message: str, code: str, exit_code: int = 1) -> typer.Exit:
    errors.print(f"[bold red]错误[/]（{code}）：{message}")
    return typer.Exit(exit_code)


def date_option(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"{name} 须为 YYYY-MM-DD 格式的日期：{value}", "invalid_date") from exc


def dispose(engine: MediationEngine) -> None:
    engine.db.engine.dispose()


def settings_now() -> Settings:
    """The deployment's settings, imported on first use: pydantic-settings costs a tenth of a
    second that `fengqiao --help` should not pay."""
    from api.settings import get_settings

    return get_settings()


def friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """`command`, answering a failure of ours that escaped it (an EngineError, a
    DocumentError, a broken key file: anything with a stable `code` and a Chinese
    `message_zh`) with `fail`. Read by duck type, so wrapping imports nothing heavy."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except Exception as exc:
            code, message = getattr(exc, "code", None), getattr(exc, "message_zh", None)
            if isinstance(code, str) and isinstance(message, str):
                raise fail(message, code) from exc
            raise

    return run
