"""A one-route app for tests/api/test_server.py: it answers with its worker's process id."""

from __future__ import annotations

import os

from fastapi import FastAPI, Request


def pid_app() -> FastAPI:
    app = FastAPI()

    @app.get("/pid")
    async def pid() -> int:
        return os.getpid()

    @app.get("/client")
    async def client(request: Request) -> str:
        return request.client.host if request.client else ""

    return app
