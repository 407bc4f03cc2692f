"""A one-route app for tests/api/test_server.py: it answers with its worker's process id."""

from __future__ import annotations

import os

from fastapi import FastAPI


def pid_app() -> FastAPI:
    app = FastAPI()

    @app.get("/pid")
    async def pid() -> int:
        return os.getpid()

    return app
