"""A progress bar for long CLI commands (rich, on stderr, so stdout stays the result)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["bar"]


@contextmanager
def bar(label: str, unit: str) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """Yields (set the total, advance by n). Not shown when stderr is not a terminal."""
    console = Console(stderr=True)
    with Progress(
        TextColumn(f"{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=None)

        def set_total(total: int) -> None:
            progress.update(task, total=total)

        def advance(n: int) -> None:
            progress.advance(task, n)

        yield set_total, advance
