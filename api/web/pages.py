"""The pages' routes, assembled: each area in its own module, all on PageRoute (HTML errors)."""

from __future__ import annotations

from fastapi import FastAPI

from api.web import (
    actions,
    admin,
    application,
    cases,
    court,
    esign,
    intake,
    lawyers,
    progress,
    signin,
    signing,
    statistics,
    verify,
)


def include(app: FastAPI) -> None:
    for module in (
        signin,
        intake,
        cases,
        actions,
        signing,
        esign,
        application,
        court,
        progress,
        verify,
        statistics,
        lawyers,
        admin,
    ):
        app.include_router(module.router)
