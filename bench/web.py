"""The pages' time: each main page requested by 16 concurrent signed-in browsers (the session
cookie, keep-alive) against the app under uvicorn, p50 and p95 per page (the target is p95 <
50 ms at 16 concurrent users). SQLite with one worker; PostgreSQL with two when
FENGQIAO_BENCH_DATABASE_URL is set. Each client reads a case of its own.

Two loads per page:
- users: 16 people, each reading a page for 0.5–2 s before the next (as people do); the
  latency they see is the server's time plus any wait behind the others' requests;
- saturated: 16 clients that never pause, so one worker always has 16 requests queued: the
  latency is mostly that queue (16 × the time of one request), a measure of capacity (req/s)
  rather than of what a person waits.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.api import Stats, _client, _percentile, _prepare, _serve

CLIENTS = 16
WARMUP_S = 1.0
MEASURE_S = 4.0
USERS_MEASURE_S = 12.0
THINK_S = (0.5, 2.0)
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


async def _page(
    port: int, path: str, token: str, cases: list[int], *, users: bool
) -> dict[str, float]:
    stats = Stats()
    start = time.perf_counter() + WARMUP_S
    measure = USERS_MEASURE_S if users else MEASURE_S
    stop = start + measure
    clients = [_page_client(path.format(case=cases[i]), token) for i in range(CLIENTS)]
    chance = random.Random(7)
    think = (lambda: chance.uniform(*THINK_S)) if users else None
    await asyncio.gather(
        *(_client(port, req, res, stats, start, stop, think) for req, res in clients)
    )
    return {
        "rps": len(stats.latencies) / measure,
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
                for users in (True, False):
                    load = "users" if users else "saturated"
                    results[f"{name} ({backend}, {workers}w, {load})"] = asyncio.run(
                        _page(port, path, tokens[user], cases, users=users)
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
        f"Pages, {CLIENTS} concurrent signed-in keep-alive clients on loopback after "
        f"{WARMUP_S:.0f} s warm-up: *users* read each page {THINK_S[0]}–{THINK_S[1]} s "
        f"before the next ({USERS_MEASURE_S:.0f} s per page); *saturated* clients never pause "
        f"({MEASURE_S:.0f} s per page; the latency is mostly the queue of 16). Target: p95 < "
        "50 ms at 16 concurrent users.",
        "",
        "| page | req/s | p50 ms | p95 ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} |")
    return "\n".join(lines)
