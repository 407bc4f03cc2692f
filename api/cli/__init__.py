"""The `fengqiao` command: set-up, demo data, the server, workflow tools and audit checks.

One module per command group; each imports its heavy libraries inside the command that needs
them, so `fengqiao --help` and a fast command start at once. Every command exits 0 only on
success and prints errors in Chinese with a stable code.
"""

from __future__ import annotations

import typer

from api.cli import audit, calendar, documents, ledger, operations, setup, stats, workflows
from api.cli._common import friendly
from api.cli.documents import STORED_KINDS

__all__ = ["STORED_KINDS", "app", "main"]

app = typer.Typer(
    help="枫桥 Fengqiao — 人民调解工作流引擎", no_args_is_help=True, add_completion=False
)
app.command()(setup.init)
app.command()(setup.demo)
app.command()(setup.serve)
app.command("backup")(setup.backup_command)
app.command("restore")(setup.restore_command)
app.command()(stats.stats)
app.command()(operations.worker)
app.add_typer(workflows.app, name="workflows")
app.add_typer(audit.app, name="audit")
app.add_typer(operations.outbox_app, name="outbox")
app.add_typer(operations.timers_app, name="timers")
app.add_typer(calendar.app, name="calendar")
app.add_typer(documents.app, name="documents")
app.add_typer(ledger.app, name="ledger")


def _names_engine_errors(group: typer.Typer) -> None:
    """Every command answers an EngineError it did not expect (a broken key file, a database
    that is not initialised) as the ones it did: its Chinese message and stable code."""
    for command in group.registered_commands:
        if command.callback is not None:
            command.callback = friendly(command.callback)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _names_engine_errors(sub.typer_instance)


_names_engine_errors(app)


def main() -> None:  # pragma: no cover - console script entry
    app()
