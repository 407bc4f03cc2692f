"""The pages' server time: each main page requested by 16 concurrent signed-in browsers (the
session cookie, keep-alive) against the app under uvicorn, p50 and p95 per page (the target
is p95 < 50 ms). SQLite with one worker; PostgreSQL with two when
FENGQIAO_BENCH_DATABASE_URL is set. Each client reads a case of its own."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.api import Stats, _client, _percentile, _prepare, _serve

CLIENTS = 16
WARMUP_S = 1.0
MEASURE_S = 4.0
PAGES = {
    "工作台 /": "/",
    "案件 /cases": "/cases",
    "案件页 /cases/{id}": "/cases/{case}",
    "办理表单 /cases/{id}/act/record_consent": "/cases/{case}/act/record_consent",
    "新建案件 /cases/new": "/cases/new",
    "统计督办 /statistics (supervisor)": "/statistics",
}
SUPERVISOR_PAGES = frozenset({"/statistics"})


def _page_client(path: str, token: str) -> tuple[Any, Any]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: bench\r\nCookie: fq_session={token}; fq_csrf=bench\r\n\r\n"
    ).encode()

    def check(status: int, body: bytes) -> None:
        del body
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")

    return (lambda: request), check


async def _page(port: int, path: str, token: str, cases: list[int]) -> dict[str, float]:
    stats = Stats()
    start = time.perf_counter() + WARMUP_S
    stop = start + MEASURE_S
    clients = [_page_client(path.format(case=cases[i]), token) for i in range(CLIENTS)]
    await asyncio.gather(*(_client(port, req, res, stats, start, stop) for req, res in clients))
    return {
        "rps": len(stats.latencies) / MEASURE_S,
        "p50_ms": _percentile(stats.latencies, 0.50) * 1000,
        "p95_ms": _percentile(stats.latencies, 0.95) * 1000,
    }


def _measure(backend: str, url: str | None, workers: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env, tokens, cases = _prepare(url, Path(tmp))
        app, port = _serve("api.app:create_app", workers, env)
        try:
            for name, path in PAGES.items():
                user = "supervisor" if path in SUPERVISOR_PAGES else "mediator"
                results[f"{name} ({backend}, {workers}w)"] = asyncio.run(
                    _page(port, path, tokens[user], cases)
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
        f"Pages, {CLIENTS} concurrent signed-in keep-alive clients on loopback, "
        f"{MEASURE_S:.0f} s per page after {WARMUP_S:.0f} s warm-up (target: p95 < 50 ms)",
        "",
        "| page | req/s | p50 ms | p95 ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} |")
    return "\n".join(lines)
