"""`fengqiao audit verify` at scale: parallel batches, and incremental from the last signed
checkpoint a verification proved (R-AUDIT: an altered, removed or reordered event is found)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api import audit_verify
from api.cli import app
from api.settings import get_settings
from engine.audit import event_hash

runner = CliRunner()


@pytest.fixture
def demo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("FENGQIAO_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["demo", "--no-documents"]).exit_code == 0
    yield tmp_path / "var"
    get_settings.cache_clear()


def _db(demo_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(demo_dir / "fengqiao.db")


def _append_event(demo_dir: Path, case_id: int) -> int:
    """A genuine new event after the checkpoint (what the engine writes): chained, case row
    moved on. Returns its seq."""
    with _db(demo_dir) as db:
        row = db.execute(
            "SELECT seq, at, actor_id, actor_name, actor_roles, trigger, source_state, "
            "dest_state, version, payload, reason, hash FROM audit_events "
            "WHERE case_id = ? ORDER BY seq DESC LIMIT 1",
            (case_id,),
        ).fetchone()
        seq, at = row[0] + 1, datetime.fromisoformat(row[1])
        digest = event_hash(
            prev_hash=row[11], case_id=case_id, seq=seq, at=at, actor_id=row[2],
            actor_name=row[3], actor_roles=row[4], trigger="note", source_state=row[7],
            dest_state=row[7], version=row[8], payload={}, reason="补记",
        )  # fmt: skip
        db.execute(
            "INSERT INTO audit_events (case_id, seq, at, actor_id, actor_name, actor_roles, "
            "trigger, source_state, dest_state, version, payload, reason, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, 'note', ?, ?, ?, '{}', '补记', ?, ?)",
            (case_id, seq, row[1], row[2], row[3], row[4], row[7], row[7], row[8], row[11],
             digest),
        )  # fmt: skip
        db.execute(
            "UPDATE cases SET audit_head = ?, audit_seq = ? WHERE id = ?", (digest, seq, case_id)
        )
    return int(seq)


def _long_case(demo_dir: Path) -> int:
    with _db(demo_dir) as db:
        (case_id,) = db.execute(
            "SELECT case_id FROM audit_events GROUP BY case_id HAVING MAX(seq) > 3 "
            "ORDER BY case_id LIMIT 1"
        ).fetchone()
    return int(case_id)


def _checkpoint_and_verify(demo_dir: Path) -> None:
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    first = runner.invoke(app, ["audit", "verify"])
    assert first.exit_code == 0, first.output
    assert "增量校验" not in first.output  # nothing proved yet: from genesis
    assert len(list((demo_dir / "checkpoints").glob("verified-*.sig"))) == 1


def test_r_audit_incremental_verify_catches_an_event_altered_after_the_checkpoint(
    demo_dir: Path,
) -> None:
    _checkpoint_and_verify(demo_dir)
    case_id = _long_case(demo_dir)
    seq = _append_event(demo_dir, case_id)
    clean = runner.invoke(app, ["audit", "verify"])
    assert clean.exit_code == 0, clean.output
    assert "增量校验" in clean.output
    with _db(demo_dir) as db:
        (cases,) = db.execute("SELECT count(*) FROM cases").fetchone()
    # one event per case re-hashed (its checkpointed head), plus the new one
    assert f"重算了 {cases + 1} 条事件" in clean.output
    with _db(demo_dir) as db:
        db.execute(
            "UPDATE audit_events SET reason = '篡改' WHERE case_id = ? AND seq = ?", (case_id, seq)
        )
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "增量" not in broken.output
    assert f"案件 {case_id} 第 {seq} 条事件：事件内容与其哈希不符" in broken.output


def test_r_audit_event_altered_before_the_checkpoint_is_caught_with_full(demo_dir: Path) -> None:
    _checkpoint_and_verify(demo_dir)
    case_id = _long_case(demo_dir)
    with _db(demo_dir) as db:
        db.execute(
            "UPDATE audit_events SET reason = '篡改' WHERE case_id = ? AND seq = 2", (case_id,)
        )
    # incremental starts at the proved head: the old event is not read (that is its speed)
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    full = runner.invoke(app, ["audit", "verify", "--full"])
    assert full.exit_code == 1
    assert f"案件 {case_id} 第 2 条事件：事件内容与其哈希不符" in full.output


def test_r_audit_incremental_verify_catches_a_rewritten_or_shortened_chain(
    demo_dir: Path,
) -> None:
    _checkpoint_and_verify(demo_dir)
    case_id = _long_case(demo_dir)
    with _db(demo_dir) as db:
        seq, prev = db.execute(
            "SELECT seq, prev_hash FROM audit_events WHERE case_id = ? ORDER BY seq DESC LIMIT 1",
            (case_id,),
        ).fetchone()
        last = db.execute(
            "SELECT dest_state, version FROM audit_events WHERE case_id = ? AND seq = ?",
            (case_id, seq - 1),
        ).fetchone()
        db.execute("DELETE FROM audit_events WHERE case_id = ? AND seq = ?", (case_id, seq))
        db.execute(
            "UPDATE cases SET audit_head = ?, audit_seq = ?, state = ?, version = ? WHERE id = ?",
            (prev, seq - 1, last[0], last[1], case_id),
        )
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"案件 {case_id} 第 {seq} 条事件" in broken.output
    assert "事件被删除" in broken.output


def test_r_audit_a_forged_verified_marker_is_ignored(demo_dir: Path) -> None:
    _checkpoint_and_verify(demo_dir)
    [marker] = (demo_dir / "checkpoints").glob("verified-*.sig")
    raw = json.loads(marker.read_bytes())
    raw["signature"] = "00" * 64
    marker.write_text(json.dumps(raw))
    case_id = _long_case(demo_dir)
    with _db(demo_dir) as db:
        db.execute(
            "UPDATE audit_events SET reason = '篡改' WHERE case_id = ? AND seq = 1", (case_id,)
        )
    broken = runner.invoke(app, ["audit", "verify"])  # no proved baseline: from genesis
    assert broken.exit_code == 1
    assert f"案件 {case_id} 第 1 条事件" in broken.output


def test_r_audit_parallel_batches_find_the_same_break(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_verify, "BATCH_CASES", 7)
    ok = runner.invoke(app, ["audit", "verify", "--workers", "2"])
    assert ok.exit_code == 0, ok.output
    with _db(demo_dir) as db:
        (count,) = db.execute("SELECT count(*) FROM cases").fetchone()
        (case_id,) = db.execute("SELECT MAX(case_id) FROM audit_events").fetchone()
        db.execute(
            "UPDATE audit_events SET reason = '篡改' WHERE case_id = ? AND seq = 1", (case_id,)
        )
    assert f"{count} 个案件的审计链完整" in ok.output
    broken = runner.invoke(app, ["audit", "verify", "--workers", "2"])
    assert broken.exit_code == 1
    assert f"案件 {case_id} 第 1 条事件" in broken.output
