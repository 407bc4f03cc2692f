"""`fengqiao backup` and `fengqiao restore`: one consistent archive; a restore into an empty
data dir and database checks every checksum, the audit chains against the latest checkpoint
and every document's content address before it says so; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import sqlite3
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings
from documents import DocumentStore
from tests.conftest import PG_URL, empty_database

runner = CliRunner()
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("FENGQIAO_TEST_DATABASE_URL is not set")
    return str(request.param)


def _use(monkeypatch: pytest.MonkeyPatch, data_dir: Path, backend: str, tmp_path: Path) -> None:
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(data_dir))
    if backend == "postgresql":
        assert PG_URL is not None
        empty_database("postgresql", tmp_path).dispose()
        monkeypatch.setenv("FENGQIAO_DATABASE_URL", PG_URL)
    else:
        monkeypatch.delenv("FENGQIAO_DATABASE_URL", raising=False)
    get_settings.cache_clear()


@pytest.fixture
def source(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A deployment with the demo district, one stored document and a checkpoint."""
    data_dir = tmp_path / "source"
    _use(monkeypatch, data_dir, backend, tmp_path)
    assert runner.invoke(app, ["init"]).exit_code == 0
    demo = runner.invoke(app, ["demo", "--no-documents"])
    assert demo.exit_code == 0, demo.output
    key = bytes.fromhex((data_dir / "keys" / "store.key").read_text())
    DocumentStore(data_dir / "documents", key=key).put(b"%PDF-1.7 11010519491231002X")
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    yield data_dir
    get_settings.cache_clear()


def _counts() -> tuple[int, int]:
    engine = sa.create_engine(get_settings().resolved_database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            cases = connection.execute(sa.text("SELECT COUNT(*) FROM cases")).scalar_one()
            events = connection.execute(sa.text("SELECT COUNT(*) FROM audit_events")).scalar_one()
    finally:
        engine.dispose()
    return int(cases), int(events)


def test_backup_then_restore_into_an_empty_deployment_checks_everything(
    source: Path, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    del source
    before = _counts()
    archive = tmp_path / "fengqiao.tar.gz"
    made = runner.invoke(
        app, ["backup", str(archive), "--with-keys", "--passphrase", "正确的口令 horse"]
    )
    assert made.exit_code == 0, made.output
    assert archive.stat().st_mode & 0o077 == 0
    with tarfile.open(archive) as opened:
        names = opened.getnames()
    assert "manifest.json" in names
    assert "keys.sealed" in names
    assert not any(n.startswith("keys/") for n in names)  # keys only sealed
    assert any(n.startswith("checkpoints/") for n in names)
    assert any(n.startswith("documents/") for n in names)

    _use(monkeypatch, tmp_path / "target", backend, tmp_path)
    refused = runner.invoke(app, ["restore", str(archive), "--passphrase", "wrong"])
    assert refused.exit_code == 1
    assert "口令不正确" in refused.output
    _use(monkeypatch, tmp_path / "target2", backend, tmp_path)
    restored = runner.invoke(app, ["restore", str(archive), "--passphrase", "正确的口令 horse"])
    assert restored.exit_code == 0, restored.output
    assert "审计链与文书摘要均已核对" in restored.output
    assert _counts() == before
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "检查点一致" in verified.output
    again = runner.invoke(app, ["restore", str(archive), "--passphrase", "正确的口令 horse"])
    assert again.exit_code == 1  # never over a deployment that has data
    assert "空" in again.output


def test_restore_refuses_a_changed_archive(
    source: Path, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    del source
    archive = tmp_path / "fengqiao.tar.gz"
    assert runner.invoke(app, ["backup", str(archive)]).exit_code == 0
    changed = tmp_path / "changed.tar.gz"
    with tarfile.open(archive) as original, tarfile.open(changed, "w:gz") as copy:
        for info in original.getmembers():
            handle = original.extractfile(info)
            assert handle is not None
            data = handle.read()
            if info.name == "database/cases.jsonl":
                data = data.replace(b'"state": "closed"', b'"state": "intake"', 1)
            info.size = len(data)
            copy.addfile(info, io.BytesIO(data))
    _use(monkeypatch, tmp_path / "target", backend, tmp_path)
    refused = runner.invoke(app, ["restore", str(changed)])
    assert refused.exit_code == 1
    assert "校验和不符" in refused.output


def test_restore_refuses_a_backup_whose_audit_chain_was_shortened(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if get_settings().database_url:
        pytest.skip("the tampering below is written for the SQLite file")
    with sqlite3.connect(source / "fengqiao.db") as db:
        case_id, seq = db.execute(
            "SELECT case_id, MAX(seq) FROM audit_events GROUP BY case_id HAVING MAX(seq) > 2 "
            "ORDER BY case_id LIMIT 1"
        ).fetchone()
        prev = db.execute(
            "SELECT hash, dest_state, version FROM audit_events WHERE case_id = ? AND seq = ?",
            (case_id, seq - 1),
        ).fetchone()
        db.execute("DELETE FROM audit_events WHERE case_id = ? AND seq = ?", (case_id, seq))
        db.execute(
            "UPDATE cases SET audit_head = ?, audit_seq = ?, state = ?, version = ? WHERE id = ?",
            (prev[0], seq - 1, prev[1], prev[2], case_id),
        )
    archive = tmp_path / "fengqiao.tar.gz"
    assert (
        runner.invoke(app, ["backup", str(archive), "--with-keys", "--passphrase", "p"]).exit_code
        == 0
    )
    _use(monkeypatch, tmp_path / "target", "sqlite", tmp_path)
    refused = runner.invoke(app, ["restore", str(archive), "--passphrase", "p"])
    assert refused.exit_code == 1
    assert f"案件{case_id}第{seq}条事件" in "".join(refused.output.split())  # unwrapped
