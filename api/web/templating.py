"""The pages' Jinja2 environment: autoescaped, strict, with block rendering for htmx partials
(jinja2-fragments renders one block of the same template, so no fragment exists twice)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2_fragments import render_block

from engine.calendar import SHANGHAI as BEIJING

TEMPLATES = Path(__file__).resolve().parent / "templates"


def beijing(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as people here read it: Beijing time, minutes, no seconds."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(BEIJING).strftime(fmt)
    return value.strftime("%Y-%m-%d")


@lru_cache(maxsize=1)
def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value: names, addresses and records come from users
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["beijing"] = beijing
    return env


def render(name: str, context: dict[str, Any], block: str | None = None) -> str:
    """The whole page, or only `block` of it (an htmx partial)."""
    if block is None:
        return templates().get_template(name).render(context)
    return render_block(templates(), name, block, context)
