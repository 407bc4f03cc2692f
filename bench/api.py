"""HTTP throughput and latency: reading a case and firing an action through the real app
under uvicorn, against a bare FastAPI endpoint returning a constant (the limit).

A loopback load generator (asyncio, raw HTTP/1.1 keep-alive, one connection per client)
drives 32 concurrent clients. SQLite with one worker always; PostgreSQL with two workers
when FENGQIAO_BENCH_DATABASE_URL is set, served as `fengqiao serve` serves them
(api/server.py). Each client reads and fires on a case of its own: the reads share no rows,
and the figures measure the write path, not the version conflicts.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi import FastAPI

from api.auth import TokenSigner
from api.keys import load_pii_key, load_token_key
from api.settings import Settings
from api.wiring import build_engine, make_sa_engine
from engine.ports import FixedClock
from mediation.models import METADATA
from tests.net import free_port, listeners
from tests.world import build_world

CLIENTS = 32
WARMUP_S = 1.0
MEASURE_S = 5.0
ROOT = Path(__file__).resolve().parent.parent


def bare_app() -> FastAPI:  # an app factory, as `api.app:create_app` is
    """The limit: FastAPI under the same uvicorn, returning a constant."""
    app = FastAPI()

    @app.get("/constant")
    async def constant() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


async def _client(
    port: int,
    make_request: Any,
    on_response: Any,
    stats: Stats,
    start: float,
    stop: float,
    think: Any = None,
) -> None:
    """One keep-alive connection sending requests until `stop`; with `think` (seconds to
    wait, drawn per request) it is a person who reads each page before the next."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            sent = time.perf_counter()
            if sent >= stop:
                return
            writer.write(make_request())
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            done = time.perf_counter()
            status = int(status_line.split()[1])
            on_response(status, body)
            if sent >= start:
                stats.latencies.append(done - sent)
                if status >= 300:
                    stats.errors += 1
            if think is not None:
                await asyncio.sleep(think())
    finally:
        writer.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def _load(port: int, clients: list[tuple[Any, Any]]) -> dict[str, float]:
    stats = Stats()
    start = time.perf_counter() + WARMUP_S
    stop = start + MEASURE_S
    await asyncio.gather(*(_client(port, req, res, stats, start, stop) for req, res in clients))
    return {
        "rps": len(stats.latencies) / MEASURE_S,
        "p50_ms": _percentile(stats.latencies, 0.50) * 1000,
        "p99_ms": _percentile(stats.latencies, 0.99) * 1000,
        "errors": float(stats.errors),
    }


def _get(path: str, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()


def _ignore(status: int, body: bytes) -> None:
    del status, body


def _reading_client(case_id: int, token: str) -> tuple[Any, Any]:
    request = _get(f"/api/v1/cases/{case_id}", token)
    return (lambda: request), _ignore


def _firing_client(case_id: int, token: str) -> tuple[Any, Any]:
    state = {"version": 1, "n": 0}

    def request() -> bytes:
        state["n"] += 1
        body = json.dumps(
            {
                "trigger": "reassess_risk",
                "expected_version": state["version"],
                "payload": {"risk_level": "yellow" if state["n"] % 2 else "blue"},
                "reason": "风险复核",
            }
        ).encode()
        head = (
            f"POST /api/v1/cases/{case_id}/actions HTTP/1.1\r\nHost: bench\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    def response(status: int, body: bytes) -> None:
        data = json.loads(body)
        if status == 200:
            state["version"] = data["version"]
        elif status == 409 and data.get("current_version"):
            state["version"] = data["current_version"]

    return request, response


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
            return connection.recv(12).startswith(b"HTTP/1.1")
    except OSError:
        return False


def _serve(target: str, workers: int, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """The app under api.server, every worker listening and answering (a connection waiting
    in the backlog of a worker still starting would be served late, skewing the figures)."""
    port = free_port()
    command = [sys.executable, "-m", "bench.serve", target, str(port), str(workers)]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        # each new connection goes to a worker the kernel picks: 20 answers in a row mean
        # every worker has started (a waiting one would have held a request back)
        if listeners(port) >= workers and all(_answers(port) for _ in range(20)):
            return process, port
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the server did not start: {target}")


def _prepare(url: str | None, folder: Path) -> tuple[dict[str, str], dict[str, str], list[int]]:
    """A seeded database, keys on disk, a mediator's and a supervisor's token and a case for
    each client."""
    database_url = url or f"sqlite:///{folder / 'bench.db'}"
    sa_engine = make_sa_engine(database_url)
    if url is not None:
        with sa_engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    METADATA.create_all(sa_engine)
    world = build_world(sa_engine)
    with sa_engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE users SET password_hash = :h"), {"h": PasswordHasher().hash("bench")}
        )
    sa_engine.dispose()
    settings = Settings(data_dir=folder, database_url=database_url)
    load_pii_key(settings.resolved_pii_key_file, create=True)
    engine = build_engine(settings, clock=FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC)))
    actor = world.actors["mediator"]
    cases = [engine.open_case(world.intake(), actor).case_id for _ in range(CLIENTS)]
    engine.db.engine.dispose()
    signer = TokenSigner(load_token_key(settings.resolved_token_key_file), lifetime_seconds=3600)
    env = {"FENGQIAO_DATA_DIR": str(folder), "FENGQIAO_DATABASE_URL": database_url}
    tokens = {name: signer.issue(world.users[name], 0) for name in ("mediator", "supervisor")}
    return env, tokens, cases


def _measure(backend: str, url: str | None, workers: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env, tokens, cases = _prepare(url, Path(tmp))
        token = tokens["mediator"]
        bare, port = _serve("bench.api:bare_app", workers, env)
        try:
            request = _get("/constant")
            results[f"bare endpoint ({backend}, {workers}w)"] = asyncio.run(
                _load(port, [(lambda: request, _ignore)] * CLIENTS)
            )
        finally:
            bare.terminate()
            bare.wait()
        app, port = _serve("api.app:create_app", workers, env)
        try:
            results[f"read a case ({backend}, {workers}w)"] = asyncio.run(
                _load(port, [_reading_client(case, token) for case in cases])
            )
            results[f"fire an action ({backend}, {workers}w)"] = asyncio.run(
                _load(port, [_firing_client(case, token) for case in cases])
            )
        finally:
            app.terminate()
            app.wait()
    return results


def run(postgres_url: str | None = None) -> dict[str, dict[str, float]]:
    results = _measure("SQLite", None, 1)
    if postgres_url:
        results.update(_measure("PostgreSQL", postgres_url, 2))
    return results


def describe(results: dict[str, dict[str, float]]) -> str:
    lines = [
        f"HTTP API, {CLIENTS} concurrent keep-alive clients on loopback, "
        f"{MEASURE_S:.0f} s after {WARMUP_S:.0f} s warm-up",
        "",
        "| workload | req/s | p50 ms | p99 ms | non-2xx | vs bare |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    bare: dict[str, float] = {}
    for name, r in results.items():
        backend = name[name.index("(") :]
        if name.startswith("bare"):
            bare[backend] = r["rps"]
        share = r["rps"] / bare[backend] if bare.get(backend) else 0.0
        lines.append(
            f"| {name} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['errors']:.0f} | {share:.0%} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(describe(run(os.environ.get("FENGQIAO_BENCH_DATABASE_URL"))))
