"""create_app: the FastAPI application and its lifespan wiring."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy import select

import documents
from api import errors, web
from api.auth import LoginLimiter, TokenSigner, parse_networks
from api.authz import PrincipalCache
from api.coalesce import ReadCoalescer
from api.deps import Services
from api.documents import DocumentService
from api.headers import SecurityHeadersMiddleware
from api.hygiene import HygieneMiddleware
from api.keys import load_token_key
from api.logs import configure_logging
from api.routes import include_all, verify
from api.scheduler import Ticker, start_background
from api.services.actions import trigger_schemas
from api.settings import Settings, get_settings
from api.wiring import build_engine, load_registry
from mediation import queries
from mediation.engine import MediationEngine
from mediation.queries import CaseExtra
from mediation.records import MediationCase


def build_services(settings: Settings, engine: MediationEngine | None = None) -> Services:
    """Everything the routes share for the app's lifetime, from settings."""
    engine = engine or build_engine(settings)
    return Services(
        settings=settings,
        engine=engine,
        signer=TokenSigner(
            load_token_key(settings.resolved_token_key_file),
            lifetime_seconds=settings.token_minutes * 60,
        ),
        limiter=LoginLimiter(
            engine,
            settings.login_max_failures,
            settings.login_window_seconds,
            max_per_username=settings.login_max_failures_per_username,
        ),
        principals=PrincipalCache(settings.actor_cache_seconds),
        case_reads=ReadCoalescer(partial(read_cases, engine)),
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )


def read_cases(
    engine: MediationEngine, case_ids: Collection[int]
) -> dict[int, tuple[MediationCase, CaseExtra]]:
    # one statement, no transaction around it: one round trip to PostgreSQL
    with engine.db.transaction(write=False, snapshot=False) as tx:
        return queries.cases_with_extra(tx, case_ids)


FIRE_PATH = "/api/v1/cases/{case_id}/actions"


def document_fire_payloads(schema: dict[str, Any], triggers: dict[str, dict[str, Any]]) -> None:
    """The generic actions route documents each trigger's payload: one schema per trigger,
    discriminated by `trigger`, drawn from the flows' field declarations."""
    components = schema["components"]["schemas"]
    refs: dict[str, str] = {}
    for trigger, trigger_schema in triggers.items():
        name = f"Fire_{trigger}"
        components[name] = trigger_schema
        refs[trigger] = f"#/components/schemas/{name}"
    body = schema["paths"][FIRE_PATH]["post"]["requestBody"]["content"]["application/json"]
    body["schema"] = {
        "oneOf": [{"$ref": ref} for ref in refs.values()],
        "discriminator": {"propertyName": "trigger", "mapping": refs},
    }


def create_app(settings: Settings | None = None, engine: MediationEngine | None = None) -> FastAPI:
    """Build the app; tests pass their own settings or engine."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings or get_settings(), engine)
        configure_logging(services.settings.log_format)
        documents.preload()  # before the request and tick threads import them at once
        app.state.services = services
        app.state.engine = services.engine
        app.state.documents = DocumentService(services.settings, services.engine)
        scheduler = None
        if services.settings.scheduler_in_server and engine is None:
            # timers and the outbox tick inside the server unless a separate worker runs them
            ticker = Ticker.from_settings(services.settings, services.engine)
            scheduler = start_background(ticker, services.settings.tick_seconds)
        yield
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        services.engine.db.engine.dispose()

    app = FastAPI(
        title="枫桥 Fengqiao",
        description=(
            "人民调解工作流引擎 — people's mediation workflow engine. "
            "错误均以 RFC 9457 application/problem+json 返回，带稳定的 `code`。"
        ),
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by api.web with local assets and no inline script
        redoc_url=None,
    )
    errors.install(app)
    app.add_middleware(
        HygieneMiddleware, max_body_bytes=(settings or get_settings()).max_json_bytes
    )
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: on the hygiene refusals too
    include_all(app)
    app.include_router(verify.page_router)  # /verify/{id}: the QR code's page, outside /api/v1
    web.install(app)  # pages for people, their static files, /docs and /redoc

    @app.get("/healthz", tags=["运维"])
    def healthz() -> dict[str, Any]:
        """Liveness and readiness: the database answers and the workflows are loaded."""
        running: MediationEngine = app.state.engine
        with running.db.engine.connect() as connection:
            connection.execute(select(1))
        specs = [f"{c.spec.id}@v{c.spec.version}" for c in running.registry.all()]
        return {"status": "ok", "database": running.db.dialect, "workflows": specs}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            problem = errors.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(problem.pop("$defs", {}))
            components["Problem"] = problem
            running = getattr(app.state, "engine", None)
            registry = running.registry if running is not None else load_registry()
            document_fire_payloads(schema, trigger_schemas(registry))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
