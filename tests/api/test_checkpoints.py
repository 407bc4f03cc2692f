"""An audit chain that cannot be shortened or rewritten unseen: the case row is bound to its
last event, and signed checkpoints outside the database fix every chain's head; on SQLite and
PostgreSQL (what a database administrator can write is the threat)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.checkpoints import CHECKPOINT_KIND, Checkpointer, CheckpointError, load_signing_key
from api.scheduler import Ticker
from engine.audit import event_hash
from engine.calendar import WorkingCalendar
from engine.ports import FixedClock
from engine.timers import TimerService
from mediation.engine import MediationEngine
from tests.conftest import make_engine
from tests.flow import Driver, open_case
from tests.world import build_world


@pytest.fixture
def chains(
    any_sa_engine: sa.Engine, clock: FixedClock, calendar: WorkingCalendar
) -> tuple[MediationEngine, Driver, Driver]:
    world = build_world(any_sa_engine)
    engine = make_engine(any_sa_engine, clock, calendar)
    first = open_case(engine, world, clock)
    first.consent_all()
    second = open_case(engine, world, clock)
    second.consent_all()
    return engine, first, second


def _checkpointer(engine: MediationEngine, tmp_path: Path) -> Checkpointer:
    key = load_signing_key(tmp_path / "keys" / "audit.key", create=True)
    return Checkpointer(engine, key, tmp_path / "checkpoints")


def _sql(engine: MediationEngine, statement: str, **params: object) -> None:
    with engine.db.engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def _rewrite_from(engine: MediationEngine, case_id: int, seq: int) -> None:
    """What an administrator with write access does: change one event, recompute every later
    hash and the case row's head, so the chain verifies on its own."""
    with engine.db.transaction(write=False) as tx:
        events = tx.events(case_id)
    prev = events[seq - 2].hash if seq > 1 else "0" * 64
    for event in events[seq - 1 :]:
        reason = "改写" if event.seq == seq else event.reason
        digest = event_hash(
            prev_hash=prev,
            case_id=case_id,
            seq=event.seq,
            at=event.at,
            actor_id=event.actor_id,
            actor_name=event.actor_name,
            actor_roles=",".join(event.actor_roles),
            trigger=event.trigger,
            source_state=event.source_state,
            dest_state=event.dest_state,
            version=event.version,
            payload=event.payload,
            reason=reason,
        )
        _sql(
            engine,
            "UPDATE audit_events SET reason = :r, prev_hash = :p, hash = :h "
            "WHERE case_id = :c AND seq = :s",
            r=reason,
            p=prev,
            h=digest,
            c=case_id,
            s=event.seq,
        )
        prev = digest
    _sql(engine, "UPDATE cases SET audit_head = :h WHERE id = :c", h=prev, c=case_id)


def _shorten(engine: MediationEngine, case_id: int) -> None:
    """Delete the last event and rewind the whole case row to the one before."""
    with engine.db.transaction(write=False) as tx:
        events = tx.events(case_id)
    keep = events[-2]
    _sql(
        engine, "DELETE FROM audit_events WHERE case_id = :c AND seq = :s", c=case_id, s=len(events)
    )
    _sql(
        engine,
        "UPDATE cases SET audit_head = :h, audit_seq = :s, state = :st, version = :v WHERE id = :c",
        h=keep.hash,
        s=keep.seq,
        st=keep.dest_state,
        v=keep.version,
        c=case_id,
    )


def test_audit_a_state_set_without_an_event_is_caught(
    chains: tuple[MediationEngine, Driver, Driver],
) -> None:
    engine, first, _ = chains
    assert engine.verify_audit() == []
    _sql(engine, "UPDATE cases SET state = 'closed' WHERE id = :c", c=first.case_id)
    [broken] = engine.verify_audit()
    assert broken.case_id == first.case_id
    assert "不是最后一条事件所产生的" in broken.problem


def test_audit_a_shortened_chain_is_caught_by_the_signed_checkpoint(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path
) -> None:
    engine, first, second = chains
    checkpointer = _checkpointer(engine, tmp_path)
    made = checkpointer.make()
    last_seq = len(engine.history(first.case_id, first.world.actors["system"]))
    _shorten(engine, first.case_id)
    assert engine.verify_audit() == []  # the database alone cannot tell
    latest = checkpointer.latest()
    assert latest is not None
    assert latest.root == made.root
    [broken] = engine.verify_audit(covered=latest.covered())
    assert (broken.case_id, broken.seq) == (first.case_id, last_seq)
    assert "事件被删除" in broken.problem
    assert second.case_id not in {b.case_id for b in engine.verify_audit(covered=latest.covered())}


def test_audit_a_rewritten_chain_is_caught_by_the_signed_checkpoint(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path
) -> None:
    engine, first, _ = chains
    checkpointer = _checkpointer(engine, tmp_path)
    checkpointer.make()
    _rewrite_from(engine, first.case_id, 2)
    assert engine.verify_audit() == []
    latest = checkpointer.latest()
    assert latest is not None
    [broken] = engine.verify_audit(covered=latest.covered())
    assert broken.case_id == first.case_id
    assert "检查点" in broken.problem


def test_audit_a_deleted_case_is_caught_by_the_signed_checkpoint(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path
) -> None:
    engine, _, second = chains
    checkpointer = _checkpointer(engine, tmp_path)
    checkpointer.make()
    for table in (
        "timers",
        "assignments",
        "case_parties",
        "audit_events",
        "outbox",
        "case_facts",
        "case_fact_units",
    ):
        _sql(engine, f"DELETE FROM {table} WHERE case_id = :c", c=second.case_id)
    _sql(engine, "DELETE FROM cases WHERE id = :c", c=second.case_id)
    latest = checkpointer.latest()
    assert latest is not None
    [broken] = engine.verify_audit(covered=latest.covered())
    assert broken.case_id == second.case_id
    assert "案件被删除" in broken.problem


def test_audit_checkpoints_are_signed_outside_the_database_and_sent(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path
) -> None:
    engine, first, second = chains
    checkpointer = _checkpointer(engine, tmp_path)
    made = checkpointer.make()
    assert made.path is not None
    assert made.path.parent == tmp_path / "checkpoints"
    assert {h.case_id for h in made.heads} == {first.case_id, second.case_id}
    with engine.db.engine.connect() as connection:
        sent = connection.execute(
            sa.text("SELECT recipient, payload FROM outbox WHERE kind = :k"), {"k": CHECKPOINT_KIND}
        ).all()
        key_in_db = connection.execute(
            sa.text("SELECT COUNT(*) FROM outbox WHERE payload LIKE '%PRIVATE KEY%'")
        ).scalar_one()
    assert [(r[0], json.loads(r[1])["root"]) for r in sent] == [("audit", made.root)]
    assert key_in_db == 0
    # a file edited to match a shortened chain no longer verifies
    raw = json.loads(made.path.read_text())
    raw["heads"][0][1] -= 1
    made.path.chmod(0o600)
    made.path.write_text(json.dumps(raw))
    with pytest.raises(CheckpointError, match="不符"):
        checkpointer.latest()
    # nor does one signed with another key
    other = Checkpointer(engine, Ed25519PrivateKey.generate(), tmp_path / "elsewhere")
    forged = other.make()
    assert forged.path is not None
    with pytest.raises(CheckpointError, match="签名无效"):
        checkpointer.load(forged.path)


def test_audit_the_tick_signs_a_checkpoint_every_ten_minutes(
    chains: tuple[MediationEngine, Driver, Driver], tmp_path: Path, clock: FixedClock
) -> None:
    engine, _, _ = chains
    ticker = Ticker(
        engine,
        timers=TimerService(engine),
        dispatcher=None,
        calendar_dir=tmp_path / "calendar",
        checkpointer=_checkpointer(engine, tmp_path),
    )
    start = clock.now()
    assert ticker.checkpoint_due(start) is not None
    assert ticker.checkpoint_due(start + timedelta(minutes=9)) is None
    assert ticker.checkpoint_due(start + timedelta(minutes=10)) is not None
    assert len(list((tmp_path / "checkpoints").glob("checkpoint-*.json"))) == 2
