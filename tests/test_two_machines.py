"""Two API machines behind one PostgreSQL database (issue 12): two `fengqiao serve` processes,
each with its own data dir and port, sharing only the database and the files every machine
must hold alike (keys/ and ca/: the store, PII, token and audit keys, the signing CA). A ruling
signed through one downloads and verifies through the other, and the tick running in both
fires each due timer exactly once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app
from api.documents.authority import load_authority
from api.settings import get_settings
from tests.conftest import PG_URL, empty_database
from tests.net import free_port, listeners

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
SHARED = ("keys", "ca")  # what every machine must hold alike (README: several API machines)
DUE_TIMERS = 40
runner = CliRunner()


def _wait(condition: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FENGQIAO_DATA_DIR": str(data_dir),
        "FENGQIAO_DATABASE_URL": PG_URL or "",
        "FENGQIAO_SCHEDULER_IN_SERVER": "true",
        "FENGQIAO_TICK_SECONDS": "0.2",
        "FENGQIAO_DOCUMENT_STORE": "database",
    }
    with (data_dir / "server.log").open("ab") as log:  # shown when an assertion fails
        return subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _logs(*data_dirs: Path) -> str:
    """The servers' last output, for a failure's message."""
    return "\n".join(
        f"--- {d.name}/server.log ---\n" + (d / "server.log").read_text(errors="replace")[-4000:]
        for d in data_dirs
        if (d / "server.log").exists()
    )


def _token(base: str, username: str) -> dict[str, str]:
    login = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": username, "password": "fengqiao2026"},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def test_two_machines_share_documents_and_tick_without_double_firing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not PG_URL:
        pytest.skip("FENGQIAO_TEST_DATABASE_URL is not set")
    empty_database("postgresql", tmp_path).dispose()
    first, second = tmp_path / "machine1", tmp_path / "machine2"
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(first))
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", PG_URL)
    get_settings.cache_clear()
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["demo", "--no-documents"]).exit_code == 0
    load_authority(get_settings())  # the development CA, else made on the first signing
    get_settings.cache_clear()
    second.mkdir()
    for name in SHARED:  # the second machine is given the first's keys and CA, nothing else
        shutil.copytree(first / name, second / name)
    database = sa.create_engine(PG_URL, poolclass=sa.NullPool)
    with database.begin() as connection:
        # a batch of timers due now, the rest later: both ticks race for the due ones
        connection.exec_driver_sql(
            "UPDATE timers SET due_at = now() + interval '30 days' WHERE status = 'pending'"
        )
        due = connection.execute(
            sa.text(
                "UPDATE timers SET due_at = now() - interval '1 minute' WHERE id IN (SELECT id "
                "FROM timers WHERE status = 'pending' ORDER BY id LIMIT :n) RETURNING id"
            ),
            {"n": DUE_TIMERS},
        ).all()
        case_id = connection.execute(
            sa.text("SELECT id FROM cases WHERE state = 'jc_reviewing' ORDER BY id LIMIT 1")
        ).scalar_one()
        version = connection.execute(
            sa.text("SELECT version FROM cases WHERE id = :id"), {"id": case_id}
        ).scalar_one()
    due_ids = {int(r[0]) for r in due}
    assert len(due_ids) == DUE_TIMERS
    ports = free_port(), free_port()
    servers = [_serve(first, ports[0]), _serve(second, ports[1])]
    try:
        _wait(lambda: all(listeners(p) == 1 for p in ports), 120)
        one, other = (f"http://127.0.0.1:{p}" for p in ports)
        judge = _token(one, "judge_lin")
        ruled = httpx.post(
            f"{one}/api/v1/cases/{case_id}/documents/ruling",
            json={
                "outcome": "confirmed",
                "ruling_number": "（2026）浙0602民特900号",
                "reasoning": "调解协议系双方自愿达成，内容不违反法律规定。",
                "expected_version": version,
            },
            headers=judge,
            timeout=60,
        )
        assert ruled.status_code == 201, ruled.text
        document = ruled.json()["document"]
        pdf = httpx.get(  # the token machine 1 issued is good on machine 2 (shared key)
            f"{other}{document['download_url']}", headers=judge, timeout=30
        )
        assert pdf.status_code == 200, pdf.text
        assert pdf.content.startswith(b"%PDF")
        verified = httpx.post(
            f"{other}/api/v1/documents/verify",
            files={"file": ("ruling.pdf", pdf.content, "application/pdf")},
            timeout=60,
        )
        assert verified.status_code == 200, verified.text + "\n" + _logs(first, second)
        assert verified.json()["verdict"] == "valid", verified.json()
        stored = httpx.get(  # the QR code's check, from the store machine 1 wrote
            f"{other}/api/v1/documents/verify/{document['verification_id']}", timeout=60
        )
        assert stored.status_code == 200, stored.text
        assert stored.json()["verdict"] == "valid", stored.json()
        with database.connect() as connection:
            _wait(
                lambda: (
                    connection.execute(
                        sa.text(
                            "SELECT COUNT(*) FROM timers WHERE status = 'claimed' OR (status = "
                            "'pending' AND due_at <= now())"
                        )
                    ).scalar_one()
                    == 0
                ),
                30,
            )
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            server.wait(timeout=60)
    with database.connect() as connection:
        timers = connection.execute(
            sa.text("SELECT id, status, attempts FROM timers WHERE id = ANY(:ids)"),
            {"ids": list(due_ids)},
        ).all()
        fired = connection.execute(
            sa.text(
                "SELECT CAST(payload::json ->> 'timer_id' AS INTEGER), COUNT(*) FROM audit_events "
                "WHERE payload::json ->> 'timer_id' IS NOT NULL GROUP BY 1"
            )
        ).all()
    database.dispose()
    # settled once, by one machine (failed: a rule refused the expiry; retrying cannot help)
    assert {row.status for row in timers} <= {"done", "cancelled", "failed"}
    assert all(row.attempts == 1 for row in timers), timers
    done = {row.id for row in timers if row.status == "done"}
    assert done, "no due timer fired"
    counts: dict[int, int] = {int(i): int(n) for i, n in fired}
    assert {i: counts.get(i, 0) for i in done} == dict.fromkeys(done, 1)
