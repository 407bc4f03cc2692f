"""create_app: the FastAPI application and its lifespan wiring."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from api.settings import Settings, get_settings
from api.wiring import build_engine
from engine.runtime import Engine


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the app; tests pass their own settings or engine."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = engine or build_engine(settings or get_settings())
        yield
        app.state.engine.db.engine.dispose()

    app = FastAPI(
        title="枫桥 Fengqiao",
        description="人民调解工作流引擎 — people's mediation workflow engine",
        version="0.1.0",
        lifespan=lifespan,
    )

    @app.get("/healthz", tags=["运维"])
    def healthz() -> dict[str, Any]:
        """Liveness and readiness: the database answers and the workflows are loaded."""
        running: Engine = app.state.engine
        with running.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        specs = [f"{c.spec.id}@v{c.spec.version}" for c in running.registry.all()]
        return {"status": "ok", "database": running.db.dialect, "workflows": specs}

    return app
