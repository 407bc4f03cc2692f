"""The batched, incremental verifier finds what the case-by-case one finds, on SQLite and
PostgreSQL (R-AUDIT)."""

from __future__ import annotations

from pathlib import Path

from api.audit_verify import mark_verified, verified_baseline, verify_cases
from mediation.engine import MediationEngine
from tests.api.test_checkpoints import _checkpointer, _rewrite_from, _shorten, _sql, chains
from tests.flow import Driver

__all__ = ["chains"]


def _verify(engine: MediationEngine, tmp_path: Path, *, incremental: bool) -> list[str]:
    checkpointer = _checkpointer(engine, tmp_path)
    latest = checkpointer.latest()
    result = verify_cases(
        engine.db,
        engine.db.engine.url.render_as_string(hide_password=False),
        case_ids=None,
        covered=latest.covered() if latest else {},
        baseline=verified_baseline(checkpointer) if incremental else None,
        workers=1,
    )
    return [b.describe() for b in result.breaks]


def test_r_audit_batches_agree_with_the_case_by_case_verifier(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path
) -> None:
    engine, first, second = chains
    checkpointer = _checkpointer(engine, tmp_path)
    made = checkpointer.make()
    assert _verify(engine, tmp_path, incremental=False) == []
    mark_verified(checkpointer, made)
    assert verified_baseline(checkpointer) is not None
    assert _verify(engine, tmp_path, incremental=True) == []
    _sql(engine, "UPDATE audit_events SET reason = 'x' WHERE case_id = :c AND seq = 1",
         c=second.case_id)  # fmt: skip
    expected = [b.describe() for b in engine.verify_audit(covered=made.covered())]
    assert _verify(engine, tmp_path, incremental=False) == expected != []
    assert _verify(engine, tmp_path, incremental=True) == []  # before the proved head
    _shorten(engine, first.case_id)
    [found] = _verify(engine, tmp_path, incremental=True)
    assert f"案件 {first.case_id}" in found
    assert "事件被删除" in found


def test_r_audit_incremental_catches_a_chain_rewritten_through_the_proved_head(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path
) -> None:
    engine, first, _ = chains
    checkpointer = _checkpointer(engine, tmp_path)
    mark_verified(checkpointer, checkpointer.make())
    _rewrite_from(engine, first.case_id, 2)
    [found] = _verify(engine, tmp_path, incremental=True)
    assert f"案件 {first.case_id}" in found
    assert "检查点" in found
