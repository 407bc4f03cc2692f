"""`fengqiao audit verify` at province scale: every case's chain recomputed in parallel batches
(processes, one database connection each), and incrementally from the last signed checkpoint
a verification has already proved.

Full: every event of every case, from the genesis hash.

Incremental (the default once a verification has passed): the latest checkpoint whose signature
and Merkle root verify and that carries a *verified* marker is the baseline. For each case it
covered, the event at its head must still be there with the signed hash (its content
recomputed from its stored predecessor hash), and the chain is recomputed from there to today's
head; cases it did not cover are verified from genesis. The latest checkpoint's heads are
checked as in a full run, and cases a checkpoint covered must still exist, so a shortened or
rewritten chain after the baseline, or a chain shortened below it, is caught. An event before
the baseline changed *without* recomputing the later hashes is only caught by `--full`.

What an incremental run promises, then: every event from each case's proved head onward hashes
to what is stored and links to its predecessor, the proved head is still the event the signed
checkpoint named (same seq, same hash, same content), and the case row is what the last event
produced; the events before the head are vouched for by the earlier verification and the
signature over the head, not re-read. A case with no event since the baseline still costs one
event re-hashed (its head): skipping that would let a head altered in place go unseen until the
next `--full`, and with the fast path the re-hash costs a few microseconds.

How each batch is verified: api/audit_scan (the database renders each event's canonical hash
input, this process hashes it); a case that path cannot accept is verified event by event by
engine.audit.verify_chain, which words the breaks.

The verified marker is an Ed25519 signature (the checkpoint key) over the checkpoint's file name
and root, written next to it after a verification passed; without the key it cannot be forged.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature

from api.audit_scan import scan
from api.checkpoints import Checkpoint, Checkpointer
from engine.audit import CaseBinding, ChainBreak, ChainHead, missing_cases, verify_chain
from engine.records import EventRecord
from engine.repository import Database

if TYPE_CHECKING:
    from api.settings import Settings

__all__ = ["VerifyResult", "mark_verified", "run", "verified_baseline", "verify_cases"]

_MARK_FORMAT = "fengqiao-audit-verified/1"
BATCH_CASES = 2000  # cases per batch: one statement for their events, one for their rows

Progress = Callable[[int], None]  # called with the number of cases a finished batch held


@dataclass(frozen=True, slots=True)
class VerifyResult:
    breaks: list[ChainBreak]
    cases: int  # cases verified
    events: int  # events recomputed
    baseline: Checkpoint | None  # incremental from here; None: a full verification


@dataclass(frozen=True, slots=True)
class _Batch:
    ids: tuple[int, ...]
    start: dict[int, ChainHead]  # incremental: a verified head per case
    covered: dict[int, ChainHead]  # the latest checkpoint's heads


# --- the verified marker ---------------------------------------------------------------------


def _marker_path(checkpoint_path: Path) -> Path:
    return checkpoint_path.with_name(checkpoint_path.stem.replace("checkpoint-", "verified-", 1))


def _marker_text(checkpoint: Checkpoint) -> bytes:
    assert checkpoint.path is not None
    return f"{_MARK_FORMAT}|{checkpoint.path.name}|{checkpoint.root}".encode()


def mark_verified(checkpointer: Checkpointer, checkpoint: Checkpoint) -> Path:
    """Record that every chain was proved up to this checkpoint's heads."""
    assert checkpoint.path is not None
    path = _marker_path(checkpoint.path).with_suffix(".sig")
    data = json.dumps(
        {
            "format": _MARK_FORMAT,
            "checkpoint": checkpoint.path.name,
            "root": checkpoint.root,
            "signature": checkpointer.key.sign(_marker_text(checkpoint)).hex(),
        }
    ).encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def _marked(checkpointer: Checkpointer, checkpoint: Checkpoint) -> bool:
    assert checkpoint.path is not None
    path = _marker_path(checkpoint.path).with_suffix(".sig")
    try:
        raw = json.loads(path.read_bytes())
        checkpointer.public_key.verify(bytes.fromhex(raw["signature"]), _marker_text(checkpoint))
    except (OSError, ValueError, KeyError, TypeError, InvalidSignature):
        return False
    return True


def verified_baseline(
    checkpointer: Checkpointer, latest: Checkpoint | None = None
) -> Checkpoint | None:
    """The latest checkpoint (signature and Merkle root checked) a verification proved;
    `latest`, already loaded and checked, is not read again (1M heads: seconds)."""
    for path in reversed(checkpointer.files()):
        if _marker_path(path).with_suffix(".sig").exists():
            if latest is not None and latest.path == path:
                checkpoint = latest
            else:
                checkpoint = checkpointer.load(path)  # CheckpointError if the file was changed
            if _marked(checkpointer, checkpoint):
                return checkpoint
    return None


# --- the work --------------------------------------------------------------------------------

_worker_db: Database | None = None


def _init_worker(url: str) -> None:
    global _worker_db
    from api.wiring import make_sa_engine

    _worker_db = Database(make_sa_engine(url))


def _run_batch(batch: _Batch) -> tuple[list[ChainBreak], int, int]:
    assert _worker_db is not None
    return verify_batch(_worker_db, batch)


def verify_batch(db: Database, batch: _Batch) -> tuple[list[ChainBreak], int, int]:
    """Verify the cases of one batch in one read transaction: every case by the fast path
    (api/audit_scan), the cases it cannot accept by the exact one.

    Returns:
        (breaks, cases verified, events recomputed)
    """
    breaks: list[ChainBreak] = []
    count = 0
    with db.transaction(write=False) as tx:
        lo, hi = batch.ids[0], batch.ids[-1]
        rows = {
            int(r[0]): CaseBinding(str(r[2]), int(r[3]), int(r[4]), str(r[1]))
            for r in tx.all(
                "SELECT id, audit_head, state, version, audit_seq FROM cases "
                "WHERE id BETWEEN :lo AND :hi",
                {"lo": lo, "hi": hi},
            )
        }
        passed, count = scan(tx, batch.ids, rows, batch.covered, batch.start)
        exact = [c for c in batch.ids if c in rows and c not in passed]
        for case_id in exact:
            start = batch.start.get(case_id)
            events = [e for e in tx.events(case_id) if start is None or e.seq >= start.seq]
            found_break = _verify_one(case_id, events, rows[case_id], batch)
            if found_break is not None:
                breaks.append(found_break)
    return breaks, len(batch.ids), count


def _verify_one(
    case_id: int, events: list[EventRecord], bound: CaseBinding, batch: _Batch
) -> ChainBreak | None:
    return verify_chain(
        case_id,
        events,
        bound.head,
        bound=bound,
        covered=batch.covered.get(case_id),
        start=batch.start.get(case_id),
    )


def _batches(
    ids: Sequence[int], start: Mapping[int, ChainHead], covered: Mapping[int, ChainHead]
) -> Iterator[_Batch]:
    for i in range(0, len(ids), BATCH_CASES):
        chunk = tuple(ids[i : i + BATCH_CASES])
        yield _Batch(
            chunk,
            {c: start[c] for c in chunk if c in start},
            {c: covered[c] for c in chunk if c in covered},
        )


def verify_cases(
    db: Database,
    url: str,
    *,
    case_ids: Sequence[int] | None,
    covered: Mapping[int, ChainHead],
    baseline: Checkpoint | None,
    workers: int,
    on_total: Callable[[int], None] | None = None,
    progress: Progress | None = None,
) -> VerifyResult:
    """Verify the given (or every) case's chain in batches, in `workers` processes.

    Args:
        db: the database (the case list is read here).
        url: the same database for the worker processes.
        case_ids: these cases only, or None for every case (then cases the checkpoint covered
            must still exist).
        covered: the latest signed checkpoint's heads.
        baseline: a verified checkpoint to continue from, or None for full verification.
        workers: processes; 1 verifies in this process.
    """
    with db.transaction(write=False) as tx:
        present = [int(r[0]) for r in tx.all("SELECT id FROM cases ORDER BY id")]
    breaks: list[ChainBreak] = []
    if case_ids is None:
        ids = present
        breaks.extend(missing_cases(present, covered))
        if baseline is not None:
            old = {c: h for c, h in baseline.covered().items() if c not in covered}
            breaks.extend(missing_cases(present, old))
    else:
        have = set(present)
        ids = sorted(set(case_ids))
        for case_id in ids:
            if case_id not in have:
                if case_id in covered:
                    breaks.extend(missing_cases([], {case_id: covered[case_id]}))
                    continue
                from engine.errors import CaseNotFound

                raise CaseNotFound(case_id)
        ids = [c for c in ids if c in have]
    start = baseline.covered() if baseline is not None else {}
    if on_total is not None:
        on_total(len(ids))
    batches = list(_batches(ids, start, covered))
    events = 0
    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            found, done, counted = verify_batch(db, batch)
            breaks.extend(found)
            events += counted
            if progress is not None:
                progress(done)
    else:
        context = multiprocessing.get_context("spawn")  # no inherited connections
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(url,)
        ) as pool:
            for found, done, counted in pool.map(_run_batch, batches):
                breaks.extend(found)
                events += counted
                if progress is not None:
                    progress(done)
    return VerifyResult(
        sorted(breaks, key=lambda b: (b.case_id, b.seq)), len(ids), events, baseline
    )


def run(
    settings: Settings,
    *,
    case_ids: Sequence[int] | None,
    full: bool,
    workers: int | None,
    on_total: Callable[[int], None] | None = None,
    progress: Progress | None = None,
) -> tuple[VerifyResult, Checkpoint | None]:
    """What `fengqiao audit verify` does: load the latest checkpoint (signature and root
    checked), pick the verified baseline unless `full`, verify, and on success over every case
    mark the latest checkpoint verified.

    Returns:
        (the result, the latest checkpoint or None)

    Raises:
        CheckpointError: a checkpoint file was changed or is not signed by this key.
        EngineError: an unknown case id.
    """
    from api.checkpoints import load_signing_key
    from api.wiring import make_sa_engine

    # no engine: a verify reads chains and checkpoints, it needs no flows (seconds of YAML)
    db = Database(make_sa_engine(settings.resolved_database_url))
    try:
        key = load_signing_key(settings.resolved_audit_key_file, create=False)
        checkpointer = Checkpointer(None, key, settings.resolved_checkpoint_dir)
        checkpoint = checkpointer.latest()
        baseline = None if full else verified_baseline(checkpointer, checkpoint)
        result = verify_cases(
            db,
            settings.resolved_database_url,
            case_ids=case_ids,
            covered=checkpoint.covered() if checkpoint else {},
            baseline=baseline,
            workers=workers if workers is not None else (os.cpu_count() or 1),
            on_total=on_total,
            progress=progress,
        )
        if not result.breaks and case_ids is None and checkpoint is not None:
            with contextlib.suppress(OSError):  # a read-only folder: stay full next time
                mark_verified(checkpointer, checkpoint)
    finally:
        db.engine.dispose()
    return result, checkpoint
