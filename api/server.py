"""Serving the app with several worker processes that each get a fair share of connections.

uvicorn's own `--workers` share one listening socket, and whichever process wakes first
accepts every connection waiting in the backlog: 32 keep-alive clients connecting together
landed 31/1 or 32/0 on two workers (bench/api.py), so one core served while the other idled.
Here each worker binds its own socket with SO_REUSEPORT and the kernel spreads the incoming
connections over them. Where SO_REUSEPORT is missing, uvicorn's workers are used as before.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.context import SpawnProcess
from types import FrameType
from typing import Any

import uvicorn

# a worker that dies this soon after its start (port taken, app failing to build) is not
# restarted: the same thing would happen again
FAILED_START_SECONDS = 5.0
_log = logging.getLogger("fengqiao.server")
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _bound_socket(host: str, port: int, *, share: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if share:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other processes of this user may bind beside."""
    sock = _bound_socket(host, port, share=True)
    sock.listen(2048)
    return sock


def _die_with(supervisor: int) -> None:
    """A worker must not outlive its supervisor (killed with SIGKILL, say): it would go on
    serving the port with nobody left to stop or replace it."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor:  # it died before the line above took effect
        sys.exit(1)


def _worker(target: str, host: str, port: int, options: dict[str, Any], supervisor: int) -> None:
    _die_with(supervisor)
    sock = reuse_port_socket(host, port)
    config = uvicorn.Config(target, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve(
    target: str,
    *,
    host: str,
    port: int,
    workers: int,
    failed_start_seconds: float = FAILED_START_SECONDS,
    **options: Any,
) -> int:
    """Run the ASGI app `target` ("module:attribute", uvicorn's options) until told to stop.

    A worker that dies while serving is replaced. Returns the exit status: 0 after SIGINT or
    SIGTERM, a worker's own status when it died within `failed_start_seconds` of its start.
    uvicorn's proxy headers are off unless asked for: it would believe X-Forwarded-For from
    any local peer; the app believes it from FENGQIAO_TRUSTED_PROXIES only (api/auth.py).
    """
    options.setdefault("proxy_headers", False)
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(target, host=host, port=port, workers=workers, **options)
        return 0
    # bind without SO_REUSEPORT (and without listening, so no connection waits on it) to fail
    # now on a taken port: also when another Fengqiao server shares it, or an orphan of one
    _bound_socket(host, port, share=False).close()
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> tuple[SpawnProcess, float]:
        process = context.Process(target=_worker, args=(target, host, port, options, os.getpid()))
        process.start()
        return process, time.monotonic()

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        del signum, frame
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    running: list[tuple[SpawnProcess, float]] = []
    status = 0
    try:
        running.extend(start() for _ in range(workers))
        while not stopping:
            time.sleep(0.2)
            if stopping:  # a signal during the sleep: workers exiting now are not crashes
                break
            for index, (process, started) in enumerate(running):
                if process.is_alive():
                    continue
                if time.monotonic() - started < failed_start_seconds:
                    _log.error("工作进程启动失败（退出码 %s），服务停止", process.exitcode)
                    status, stopping = process.exitcode or 1, True
                    break
                running[index] = start()  # it died while serving: replace it
    finally:
        for process, _ in running:
            if process.is_alive():
                process.terminate()
        for process, _ in running:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
