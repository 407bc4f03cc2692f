"""`fengqiao serve --workers N`: every worker listens on its own SO_REUSEPORT socket, so the
kernel spreads connections over all of them; a worker that dies is replaced; SIGTERM stops
them all; a port already taken fails at once with a clear error."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.net import free_port, listeners

ROOT = Path(__file__).resolve().parents[2]


def _serve_code(port: int) -> str:
    return (
        "import sys; from api.server import serve; sys.exit(serve("
        f"'tests.api.server_app:pid_app', host='127.0.0.1', port={port}, workers=2, "
        "factory=True, log_level='warning', failed_start_seconds=0.5))"
    )


def _pid_of_new_connection(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"GET /pid HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
    return int(answer.split(b"\r\n\r\n", 1)[1])


def _wait_for(condition: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="needs SO_REUSEPORT")
def test_workers_share_the_connections_and_a_dead_one_is_replaced() -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", _serve_code(port)], cwd=ROOT)
    try:
        _wait_for(lambda: listeners(port) == 2)
        pids = {_pid_of_new_connection(port) for _ in range(40)}
        assert len(pids) == 2  # both serve: not all 40 connections on whichever woke first
        second = subprocess.run(
            [sys.executable, "-c", _serve_code(port)], cwd=ROOT, capture_output=True, timeout=60
        )
        assert second.returncode != 0  # a second server never joins the first one's port
        assert b"Address already in use" in second.stderr
        assert {_pid_of_new_connection(port) for _ in range(20)} <= pids
        time.sleep(0.6)  # past the start-up window: a death now is a crash to recover from
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: not Path(f"/proc/{victim}").exists())  # reaped by the supervisor
        _wait_for(lambda: listeners(port) == 2)
        assert server.poll() is None
        _wait_for(lambda: len({_pid_of_new_connection(port) for _ in range(20)} - pids) == 1)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert listeners(port) == 0
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal")
def test_workers_do_not_outlive_a_killed_supervisor() -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", _serve_code(port)], cwd=ROOT)
    try:
        _wait_for(lambda: listeners(port) == 2)
        workers = {_pid_of_new_connection(port) for _ in range(40)}
        server.kill()
        server.wait()
        _wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers))
        assert listeners(port) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_a_taken_port_fails_at_once_with_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env={**os.environ, "FENGQIAO_DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "listen_failed" in result.stderr + result.stdout
    assert f"无法监听 127.0.0.1:{port}" in result.stderr + result.stdout


def test_a_local_peer_cannot_set_its_address_with_x_forwarded_for() -> None:
    port = free_port()
    code = (
        "import sys; from api.server import serve; sys.exit(serve("
        f"'tests.api.server_app:pid_app', host='127.0.0.1', port={port}, workers=1, "
        "factory=True, log_level='warning'))"
    )
    server = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        _wait_for(lambda: listeners(port) >= 1)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(
                b"GET /client HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: 203.0.113.9\r\n"
                b"Connection: close\r\n\r\n"
            )
            answer = b""
            while chunk := connection.recv(4096):
                answer += chunk
        assert answer.split(b"\r\n\r\n", 1)[1] == b'"127.0.0.1"'
    finally:
        server.terminate()
        server.wait(timeout=30)
