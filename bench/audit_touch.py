"""Append one genuine event (chained, the case row moved on, as the engine writes it) to N cases
of a grown database, so an incremental `fengqiao audit verify` has changed cases to read.

    python -m bench.audit_touch --url postgresql+psycopg://…/scale_verify --cases 1000

For benchmarks only: it writes the database it is given.
"""

from __future__ import annotations

import argparse
import random

from api.wiring import make_sa_engine
from engine.audit import event_hash
from engine.repository import Database


def touch(db: Database, count: int, seed: int = 1) -> list[int]:
    """Returns the cases given a new event."""
    with db.transaction(write=False) as tx:
        ids = [int(r[0]) for r in tx.all("SELECT id FROM cases ORDER BY id")]
    chosen = sorted(random.Random(seed).sample(ids, min(count, len(ids))))
    with db.transaction(write=True) as tx:
        for case_id in chosen:
            last = tx.events(case_id)[-1]
            seq = last.seq + 1
            digest = event_hash(
                prev_hash=last.hash, case_id=case_id, seq=seq, at=last.at,
                actor_id=last.actor_id, actor_name=last.actor_name,
                actor_roles=",".join(last.actor_roles), trigger="note",
                source_state=last.dest_state, dest_state=last.dest_state,
                version=last.version, payload={}, reason="基准补记",
            )  # fmt: skip
            tx.execute(
                "INSERT INTO audit_events (case_id, seq, at, actor_id, actor_name, actor_roles, "
                "trigger, source_state, dest_state, version, payload, reason, prev_hash, hash) "
                "SELECT case_id, :s, at, actor_id, actor_name, actor_roles, 'note', dest_state, "
                "dest_state, version, '{}', '基准补记', hash, :h FROM audit_events "
                "WHERE case_id = :c AND seq = :last",
                {"s": seq, "h": digest, "c": case_id, "last": last.seq},
            )
            tx.execute(
                "UPDATE cases SET audit_head = :h, audit_seq = :s WHERE id = :c",
                {"h": digest, "s": seq, "c": case_id},
            )
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    db = Database(make_sa_engine(args.url))
    try:
        chosen = touch(db, args.cases, args.seed)
    finally:
        db.engine.dispose()
    print(f"{len(chosen)} cases given a new event")


if __name__ == "__main__":
    main()
