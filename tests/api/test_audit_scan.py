"""The fast path of the batched verifier (api/audit_scan) accepts intact chains on its own, and
whatever it cannot accept is settled by the exact path with the same verdict (R-AUDIT)."""

from __future__ import annotations

from pathlib import Path

from api.audit_scan import scan
from api.audit_verify import mark_verified
from engine.audit import CaseBinding
from mediation.engine import MediationEngine
from tests.api.test_audit_verify_batches import _verify
from tests.api.test_checkpoints import _checkpointer, _sql, chains
from tests.flow import Driver

__all__ = ["chains"]


def _passed(engine: MediationEngine) -> set[int]:
    with engine.db.transaction(write=False) as tx:
        ids = [int(r[0]) for r in tx.all("SELECT id FROM cases ORDER BY id")]
        rows = {
            int(r[0]): CaseBinding(str(r[2]), int(r[3]), int(r[4]), str(r[1]))
            for r in tx.all("SELECT id, audit_head, state, version, audit_seq FROM cases")
        }
        passed, _ = scan(tx, ids, rows, {}, {})
    return passed


def test_intact_chains_pass_the_fast_path_on_their_own(
    chains: tuple[MediationEngine, Driver, Driver],
) -> None:
    engine, first, second = chains
    assert _passed(engine) == {first.case_id, second.case_id}
    _sql(engine, "UPDATE audit_events SET actor_name = '张\"三' WHERE case_id = :c",
         c=first.case_id)  # fmt: skip
    assert _passed(engine) == {second.case_id}  # doubt, for the exact path to settle


def test_a_payload_stored_in_another_form_is_judged_by_the_exact_path(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path
) -> None:
    engine, first, second = chains
    # the same JSON value written with spaces: the exact path re-serialises it, so it holds
    _sql(engine, "UPDATE audit_events SET payload = ' ' || payload WHERE case_id = :c",
         c=first.case_id)  # fmt: skip
    assert _passed(engine) == {second.case_id}
    assert _verify(engine, tmp_path, incremental=False) == []
    # a different value: broken, with the exact path's words
    _sql(engine, "UPDATE audit_events SET payload = '{}' WHERE case_id = :c AND seq = 1",
         c=second.case_id)  # fmt: skip
    [found] = _verify(engine, tmp_path, incremental=False)
    assert f"案件 {second.case_id} 第 1 条事件" in found
    assert "内容被改动" in found


def test_incremental_rehashes_an_unchanged_head_and_catches_it_altered(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path
) -> None:
    engine, first, _ = chains
    checkpointer = _checkpointer(engine, tmp_path)
    mark_verified(checkpointer, checkpointer.make())
    assert _verify(engine, tmp_path, incremental=True) == []
    # no event since the checkpoint: the head itself is altered, its hash column left alone
    _sql(engine, "UPDATE audit_events SET reason = '改' WHERE case_id = :c AND seq = "
         "(SELECT MAX(seq) FROM audit_events WHERE case_id = :c)", c=first.case_id)  # fmt: skip
    [found] = _verify(engine, tmp_path, incremental=True)
    assert f"案件 {first.case_id}" in found
    assert "内容被改动" in found
