"""The incremental `fengqiao audit verify` reads only the cases that changed since the verified
checkpoint, and still finds what a DBA can do to a chain, a case or a checkpoint file; on
SQLite and PostgreSQL (R-AUDIT)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from api import audit_verify
from api.audit_verify import VerifyResult, run
from api.checkpoints import Checkpointer, CheckpointError
from api.settings import Settings
from engine.audit import GENESIS_HASH, event_hash
from mediation.engine import MediationEngine
from tests.api.test_checkpoints import _checkpointer, _rewrite_from, _shorten, _sql, chains
from tests.flow import Driver

__all__ = ["chains"]


def _settings(engine: MediationEngine, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, database_url=engine.db.engine.url.render_as_string(hide_password=False)
    )


def _run(engine: MediationEngine, tmp_path: Path, *, workers: int = 1) -> VerifyResult:
    result, _ = run(_settings(engine, tmp_path), case_ids=None, full=False, workers=workers)
    return result


def _problems(result: VerifyResult) -> list[str]:
    return [b.describe() for b in result.breaks]


def _append(engine: MediationEngine, case_id: int, *, prev: str | None = None) -> int:
    """A new event after the checkpoint, as the engine writes it (chained to the last one,
    the case row moved on); `prev` forges the link. Returns its seq."""
    with engine.db.transaction(write=False) as tx:
        last = tx.events(case_id)[-1]
    seq = last.seq + 1
    link = prev if prev is not None else last.hash
    digest = event_hash(
        prev_hash=link, case_id=case_id, seq=seq, at=last.at, actor_id=last.actor_id,
        actor_name=last.actor_name, actor_roles=",".join(last.actor_roles), trigger="note",
        source_state=last.dest_state, dest_state=last.dest_state, version=last.version,
        payload={}, reason="补记",
    )  # fmt: skip
    _sql(
        engine,
        "INSERT INTO audit_events (case_id, seq, at, actor_id, actor_name, actor_roles, "
        "trigger, source_state, dest_state, version, payload, reason, prev_hash, hash) "
        "SELECT case_id, :s, at, actor_id, actor_name, actor_roles, 'note', dest_state, "
        "dest_state, version, '{}', '补记', :p, :h FROM audit_events "
        "WHERE case_id = :c AND seq = :last",
        s=seq, p=link, h=digest, c=case_id, last=last.seq,
    )  # fmt: skip
    _sql(engine, "UPDATE cases SET audit_head = :h, audit_seq = :s WHERE id = :c",
         h=digest, s=seq, c=case_id)  # fmt: skip
    return seq


def _proved_once(engine: MediationEngine, tmp_path: Path) -> Checkpointer:
    """A checkpoint, a verification that proves it (and marks it), and the incremental run
    after it trusting the marker: every case's head re-hashed in place, nothing else."""
    checkpointer = _checkpointer(engine, tmp_path)
    made = checkpointer.make()
    assert made.path is not None
    first = _run(engine, tmp_path)
    assert first.breaks == []
    assert first.baseline_at is None
    assert audit_verify._proved(checkpointer, made.path) is not None
    again = _run(engine, tmp_path)
    assert again.breaks == []
    assert again.baseline_at == made.created_at
    assert (again.cases, again.events) == (2, 2)
    return checkpointer


def test_incremental_reads_the_new_events_of_the_changed_cases_only(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, first, _ = chains
    _proved_once(engine, tmp_path)
    _append(engine, first.case_id)
    _append(engine, first.case_id)

    def no_pool(*_: object, **__: object) -> None:
        raise AssertionError("two changed cases start no worker process")

    monkeypatch.setattr(audit_verify, "ProcessPoolExecutor", no_pool)
    result = _run(engine, tmp_path, workers=2)
    assert result.breaks == []
    # the unchanged case: its head; the changed one: its checkpointed head and two new events
    assert (result.cases, result.events) == (2, 1 + 3)


@pytest.mark.parametrize("tampering", ["altered", "removed", "appended_unchained"])
def test_incremental_finds_a_new_event_tampered_with_in_a_changed_case(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path, tampering: str
) -> None:
    engine, first, second = chains
    _proved_once(engine, tmp_path)
    new = _append(engine, first.case_id)
    last = _append(engine, first.case_id)
    if tampering == "altered":
        _sql(engine, "UPDATE audit_events SET reason = '改' WHERE case_id = :c AND seq = :s",
             c=first.case_id, s=new)  # fmt: skip
        expected = (new, "内容被改动")
    elif tampering == "removed":
        _sql(engine, "DELETE FROM audit_events WHERE case_id = :c AND seq = :s",
             c=first.case_id, s=new)  # fmt: skip
        expected = (last, "序号不连续")
    else:
        last = _append(engine, first.case_id, prev=GENESIS_HASH)
        expected = (last, "前一事件的哈希不符")
    result = _run(engine, tmp_path)
    assert result.baseline_at is not None  # incremental
    [found] = _problems(result)
    assert f"案件 {first.case_id} 第 {expected[0]} 条事件" in found
    assert expected[1] in found
    assert second.case_id not in {b.case_id for b in result.breaks}


@pytest.mark.parametrize("rewind_case_row", [True, False])
def test_incremental_finds_a_chain_shortened_below_the_proved_head(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path, rewind_case_row: bool
) -> None:
    engine, first, _ = chains
    _proved_once(engine, tmp_path)
    with engine.db.transaction(write=False) as tx:
        head = tx.events(first.case_id)[-1].seq
    if rewind_case_row:
        _shorten(engine, first.case_id)  # the head went backwards, the case row with it
    else:
        _sql(engine, "DELETE FROM audit_events WHERE case_id = :c AND seq = :s",
             c=first.case_id, s=head)  # fmt: skip
    [found] = _problems(_run(engine, tmp_path))
    assert f"案件 {first.case_id} 第 {head} 条事件" in found
    assert "事件被删除" in found


def test_incremental_finds_a_head_or_case_row_altered_in_place(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path
) -> None:
    engine, first, second = chains
    _proved_once(engine, tmp_path)
    _sql(engine, "UPDATE audit_events SET reason = '改' WHERE case_id = :c AND seq = "
         "(SELECT MAX(seq) FROM audit_events WHERE case_id = :c)", c=first.case_id)  # fmt: skip
    _sql(engine, "UPDATE cases SET state = 'closed' WHERE id = :c", c=second.case_id)
    found = _problems(_run(engine, tmp_path))
    assert len(found) == 2
    assert f"案件 {first.case_id}" in found[0]
    assert "内容被改动" in found[0]
    assert f"案件 {second.case_id}" in found[1]
    assert "案件记录被直接改动" in found[1]


def test_incremental_finds_a_deleted_case(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path
) -> None:
    engine, _, second = chains
    _proved_once(engine, tmp_path)
    for table in ("timers", "assignments", "case_parties", "audit_events", "outbox",
                  "case_facts", "case_fact_units"):  # fmt: skip
        _sql(engine, f"DELETE FROM {table} WHERE case_id = :c", c=second.case_id)
    _sql(engine, "DELETE FROM cases WHERE id = :c", c=second.case_id)
    result = _run(engine, tmp_path)
    assert result.baseline_at is not None
    [found] = _problems(result)
    assert f"案件 {second.case_id}" in found
    assert "案件被删除" in found


def test_a_proved_checkpoint_file_changed_afterwards_is_refused(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path
) -> None:
    engine, first, _ = chains
    checkpointer = _proved_once(engine, tmp_path)
    [path] = checkpointer.files()
    raw = json.loads(path.read_text())
    raw["heads"][0][1] -= 1  # to match a chain shortened by one
    path.chmod(0o600)
    path.write_text(json.dumps(raw, separators=(",", ":")))
    assert audit_verify._proved(checkpointer, path) is None  # no longer the file proved
    with pytest.raises(CheckpointError, match="不符"):
        _run(engine, tmp_path)
    # an older proved checkpoint changed under a newer one is refused as well
    path.write_text(json.dumps({**raw, "heads": [[first.case_id, 1, "0" * 64]]}))
    checkpointer.make(engine.clock.now() + timedelta(minutes=10))
    with pytest.raises(CheckpointError):
        _run(engine, tmp_path)


def test_a_new_checkpoint_is_read_in_full_once_then_trusted_by_its_marker(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path
) -> None:
    engine, first, _ = chains
    checkpointer = _proved_once(engine, tmp_path)
    seq = _append(engine, first.case_id)
    newer = checkpointer.make(engine.clock.now() + timedelta(minutes=10))
    assert newer.path is not None
    assert len(checkpointer.files()) == 2
    assert audit_verify._proved(checkpointer, newer.path) is None
    result = _run(engine, tmp_path)  # from the older proved checkpoint
    assert result.breaks == []
    assert result.events == 1 + 2  # the unchanged head; the changed case's head and new event
    assert audit_verify._proved(checkpointer, newer.path) is not None
    # the new checkpoint's head is checked too: the chain cut back below it is found
    _sql(engine, "DELETE FROM audit_events WHERE case_id = :c AND seq = :s",
         c=first.case_id, s=seq)  # fmt: skip
    with engine.db.transaction(write=False) as tx:
        kept = tx.events(first.case_id)[-1]
    _sql(engine, "UPDATE cases SET audit_head = :h, audit_seq = :s WHERE id = :c",
         h=kept.hash, s=kept.seq, c=first.case_id)  # fmt: skip
    [found] = _problems(_run(engine, tmp_path))
    assert f"案件 {first.case_id} 第 {seq} 条事件" in found
    assert "事件被删除" in found


@pytest.mark.parametrize("change", ["rewritten", "shortened"])
def test_full_verify_finds_a_chain_that_verifies_alone_by_the_checkpoint(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path, change: str
) -> None:
    engine, first, _ = chains
    _checkpointer(engine, tmp_path).make()
    if change == "rewritten":
        _rewrite_from(engine, first.case_id, 2)  # every later hash and the case row fixed up
    else:
        _shorten(engine, first.case_id)
    result, _ = run(_settings(engine, tmp_path), case_ids=None, full=True, workers=1)
    [found] = _problems(result)
    assert f"案件 {first.case_id}" in found
    assert "检查点" in found


def test_a_checkpoint_entry_with_its_quotes_moved_is_refused(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path
) -> None:
    """The root covers `case|seq|hash`, not where the file's quotes are: such an entry still
    matches the root and the signature, and is refused when read."""
    engine, first, _ = chains
    checkpointer = _proved_once(engine, tmp_path)
    newer = checkpointer.make(engine.clock.now() + timedelta(minutes=10))
    assert newer.path is not None
    head = newer.covered()[first.case_id]
    text = newer.path.read_text()
    canonical = f'[{first.case_id},{head.seq},"{head.hash}"]'
    assert canonical in text
    newer.path.chmod(0o600)
    newer.path.write_text(text.replace(canonical, f'[{first.case_id},{head.seq}",{head.hash}"]'))
    with pytest.raises(CheckpointError, match="格式不符"):
        _run(engine, tmp_path)
