"""kill -9 of a server worker during writes (PostgreSQL, two workers): the supervisor replaces
it, and every write acknowledged before or after is in the database with its audit chain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings
from tests.conftest import PG_URL, empty_database
from tests.net import free_port, listeners

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _children(pid: int) -> list[int]:
    """The server's worker processes (not multiprocessing's resource tracker)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    if b"resource_tracker" not in cmdline.read():
                        found.append(int(entry))
    return found


def _wait(condition: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_worker_killed_during_writes_loses_nothing_acknowledged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not PG_URL:
        pytest.skip("FENGQIAO_TEST_DATABASE_URL is not set")
    empty_database("postgresql", tmp_path).dispose()
    env = {
        **os.environ,
        "FENGQIAO_DATA_DIR": str(tmp_path / "var"),
        "FENGQIAO_DATABASE_URL": PG_URL,
        "FENGQIAO_SCHEDULER_IN_SERVER": "false",
    }
    monkeypatch.setenv("FENGQIAO_DATA_DIR", env["FENGQIAO_DATA_DIR"])
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", PG_URL)
    get_settings.cache_clear()
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["demo", "--no-documents"]).exit_code == 0
    database = sa.create_engine(PG_URL, poolclass=sa.NullPool)
    with database.connect() as connection:
        committee = connection.execute(
            sa.text("SELECT id FROM org_units WHERE name = '东桥社区人民调解委员会'")
        ).scalar_one()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    acknowledged: dict[int, dict[str, Any]] = {}
    lock = threading.Lock()
    stop = threading.Event()
    try:
        _wait(lambda: listeners(port) == 2)
        serving_since = time.monotonic()
        base = f"http://127.0.0.1:{port}"
        login = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "mediator_qs_east", "password": "fengqiao2026"},
            timeout=30,
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        body = {
            "committee_id": committee,
            "category_code": "neighbour",
            "summary": "相邻通道堆放杂物纠纷",
            "origin": "party_application",
            "application_form": "oral",
            "risk_level": "blue",
            "parties": [
                {"role": "applicant", "name": "甲某", "address": "青石街道东桥社区1组1号"},
                {"role": "respondent", "name": "乙某", "address": "青石街道东桥社区1组2号"},
            ],
        }

        def writer(index: int) -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                n = 0
                while not stop.is_set():
                    n += 1
                    key = {"Idempotency-Key": f"w{index}-{n}"}
                    try:
                        response = client.post("/api/v1/cases", json=body, headers=key)
                    except httpx.HTTPError:
                        continue  # the connection went down with the worker
                    if response.status_code == 201:
                        with lock:
                            acknowledged[response.json()["id"]] = response.json()

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        # past FAILED_START_SECONDS: a worker dying sooner stops the server as a failed start
        time.sleep(max(1.5, serving_since + 6 - time.monotonic()))
        victims = _children(server.pid)
        assert len(victims) == 2
        os.kill(victims[0], signal.SIGKILL)
        _wait(lambda: len([c for c in _children(server.pid) if c not in victims]) == 1)
        time.sleep(1.5)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert len(acknowledged) > 10
    with database.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, number, version, state FROM cases")).all()
    database.dispose()
    stored = {r[0]: (r[1], r[2], r[3]) for r in rows}
    for case_id, case in acknowledged.items():
        assert stored[case_id] == (case["number"], case["version"], case["state"])
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    get_settings.cache_clear()
