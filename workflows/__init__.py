"""The mediation flows: YAML specs under <key>/vN.yaml and the named guards and actions they use."""

from pathlib import Path

from workflows import (
    actions,
    confirmation,
    guards,
    invitations,
    minors,
    objections,
    options,
    scheduling,
)
from workflows.hookset import HOOKS

WORKFLOWS_DIR = Path(__file__).resolve().parent

__all__ = [
    "HOOKS",
    "WORKFLOWS_DIR",
    "actions",
    "confirmation",
    "guards",
    "invitations",
    "minors",
    "objections",
    "options",
    "scheduling",
]
