"""`fengqiao audit verify` at province scale: every case's chain recomputed in parallel batches
(processes, one database connection each), and incrementally from the last signed checkpoint
a verification has already proved.

Full: every event of every case, from the genesis hash.

Incremental (the default once a verification has passed): the latest checkpoint whose signature
and Merkle root verify and that carries a *verified* marker is the baseline. One statement per
range of cases (api/audit_heads) checks every case's head event where it stands (there, with
the case row's hash, re-hashed in place, what made the case row's state and version, nothing
after it) and gives the case's head back; a case whose head is the one both the baseline and
the latest checkpoint signed did not change. Only the other cases' chains are read: from the
baseline's head (that event must still be there with the signed hash, its content recomputed
from its stored predecessor hash) to today's head, or from genesis for a case the baseline did
not cover; the latest checkpoint's heads are checked as in a full run, and cases a checkpoint
covered must still exist, so a shortened or rewritten chain after the baseline, or a chain
shortened below it, is caught. An event before the baseline's head changed *without*
recomputing the later hashes is only caught by `--full`.

What an incremental run promises, then: every event from each case's proved head onward hashes
to what is stored and links to its predecessor, the proved head is still the event the signed
checkpoint named (same seq, same hash, same content), and the case row is what the last event
produced; the events before the head are vouched for by the earlier verification and the
signature over the head, not re-read. A case with no event since the baseline costs its head
re-hashed inside the set-based statement (a few microseconds of server time), not a batch.

The checkpoints themselves: the verified marker (format 2) also signs the SHA-256 of the
checkpoint file's bytes, so a checkpoint a verification already proved is trusted again by
hashing the file (milliseconds) instead of parsing its heads and recomputing its Merkle root
(seconds at 1M heads); a file changed since no longer matches and is checked in full, which
names it. A checkpoint made since the last verification is checked in full once.

How each batch is verified: api/audit_scan (the database renders each event's canonical hash
input, this process hashes it); a case that path cannot accept is verified event by event by
engine.audit.verify_chain, which words the breaks.

The verified marker is an Ed25519 signature (the checkpoint key) over the checkpoint's file name,
root and file digest, written next to it after a verification passed; without the key it cannot
be forged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature

from api.audit_heads import (
    SignedHeads,
    entries_root,
    find_changes,
    parse_entry,
    read_checkpoint,
)
from api.audit_scan import scan
from api.checkpoints import Checkpoint, Checkpointer, signed_text
from engine.audit import CaseBinding, ChainBreak, ChainHead, missing_cases, verify_chain
from engine.records import EventRecord
from engine.repository import Database

if TYPE_CHECKING:
    from api.settings import Settings

__all__ = [
    "Signed",
    "VerifyResult",
    "mark_verified",
    "run",
    "verified_baseline",
    "verify_cases",
    "verify_since",
]

_MARK_FORMAT = "fengqiao-audit-verified/2"  # signs the checkpoint file's digest too
_MARK_FORMAT_1 = "fengqiao-audit-verified/1"  # name and root only: read, not written
BATCH_CASES = 2000  # cases per batch: one statement for their events, one for their rows
POOL_MIN_BATCHES = 8  # fewer batches run in this process: a worker's start-up costs ~3 s CPU

Progress = Callable[[int], None]  # called with the number of cases a finished batch held


@dataclass(frozen=True, slots=True)
class VerifyResult:
    breaks: list[ChainBreak]
    cases: int  # cases verified
    events: int  # events recomputed
    baseline_at: datetime | None  # incremental from the checkpoint made then; None: full


@dataclass(frozen=True, slots=True)
class Signed:
    """The latest checkpoint, as the command reports it."""

    created_at: datetime
    root: str
    cases: int


@dataclass(frozen=True, slots=True)
class _Batch:
    ids: tuple[int, ...]
    start: dict[int, ChainHead]  # incremental: a verified head per case
    covered: dict[int, ChainHead]  # the latest checkpoint's heads


# --- the verified marker ---------------------------------------------------------------------


def _marker_path(checkpoint_path: Path) -> Path:
    stem = checkpoint_path.stem.replace("checkpoint-", "verified-", 1)
    return checkpoint_path.with_name(stem).with_suffix(".sig")


def _marker_text(name: str, root: str, digest: str | None) -> bytes:
    if digest is None:
        return f"{_MARK_FORMAT_1}|{name}|{root}".encode()
    return f"{_MARK_FORMAT}|{name}|{root}|{digest}".encode()


def _file_bytes(checkpoint: Checkpoint) -> bytes:
    """The checkpoint file as Checkpointer writes it."""
    return json.dumps(checkpoint.to_json(), separators=(",", ":")).encode()


def mark_verified(checkpointer: Checkpointer, checkpoint: Checkpoint) -> Path:
    """Record that every chain was proved up to this checkpoint's heads."""
    assert checkpoint.path is not None
    digest = hashlib.sha256(_file_bytes(checkpoint)).hexdigest()
    return _mark(checkpointer, checkpoint.path, checkpoint.root, digest)


def _mark(checkpointer: Checkpointer, checkpoint_path: Path, root: str, digest: str) -> Path:
    path = _marker_path(checkpoint_path)
    name = checkpoint_path.name
    data = json.dumps(
        {
            "format": _MARK_FORMAT,
            "checkpoint": name,
            "root": root,
            "file_sha256": digest,
            "signature": checkpointer.key.sign(_marker_text(name, root, digest)).hex(),
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


def _marker(checkpointer: Checkpointer, checkpoint_path: Path) -> dict[str, Any] | None:
    """The marker next to a checkpoint file if its signature holds (over what it states)."""
    try:
        raw = json.loads(_marker_path(checkpoint_path).read_bytes())
        if not isinstance(raw, dict) or raw.get("checkpoint") != checkpoint_path.name:
            return None
        digest = str(raw["file_sha256"]) if raw.get("format") == _MARK_FORMAT else None
        text = _marker_text(checkpoint_path.name, str(raw["root"]), digest)
        checkpointer.public_key.verify(bytes.fromhex(raw["signature"]), text)
    except (OSError, ValueError, KeyError, TypeError, InvalidSignature):
        return None
    return raw


def _marked(checkpointer: Checkpointer, checkpoint: Checkpoint) -> bool:
    assert checkpoint.path is not None
    raw = _marker(checkpointer, checkpoint.path)
    return raw is not None and raw["root"] == checkpoint.root


def verified_baseline(
    checkpointer: Checkpointer, latest: Checkpoint | None = None
) -> Checkpoint | None:
    """The latest checkpoint (signature and Merkle root checked) a verification proved;
    `latest`, already loaded and checked, is not read again (1M heads: seconds)."""
    for path in reversed(checkpointer.files()):
        if _marker_path(path).exists():
            if latest is not None and latest.path == path:
                checkpoint = latest
            else:
                checkpoint = checkpointer.load(path)  # CheckpointError if the file was changed
            if _marked(checkpointer, checkpoint):
                return checkpoint
    return None


def _proved(checkpointer: Checkpointer, path: Path) -> SignedHeads | None:
    """A checkpoint file trusted by its verified marker: the marker signs the file's digest,
    so the heads are read as text, without parsing them or recomputing the root. None when
    there is no such marker or the file is no longer the one it signed."""
    raw = _marker(checkpointer, path)
    if raw is None or raw.get("format") != _MARK_FORMAT:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != raw["file_sha256"]:
        return None
    try:
        fields, heads = read_checkpoint(data)
    except (ValueError, KeyError, TypeError):
        return None
    if fields.get("root") != raw["root"] or fields.get("cases") != heads.cases:
        return None
    return replace(heads, path=path)


def _load(checkpointer: Checkpointer, path: Path) -> tuple[SignedHeads, str]:
    """A checkpoint file checked in full (its signature, and its Merkle root over its heads)
    without making an object per head: (its heads, the SHA-256 of the bytes checked).

    Raises:
        CheckpointError: the file was changed or is not signed by this key.
    """
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, InvalidSignature):
        data = path.read_bytes()
        fields, heads = read_checkpoint(data)
        assert heads.created_at is not None
        signed = signed_text(heads.created_at, heads.root, heads.cases)
        if (
            signed.startswith(f"{fields['format']}|".encode())
            and fields["cases"] == heads.cases
            and entries_root(heads.entries) == heads.root
        ):
            checkpointer.public_key.verify(bytes.fromhex(str(fields["signature"])), signed)
            return replace(heads, path=path), hashlib.sha256(data).hexdigest()
    loaded = checkpointer.load(path)  # not as written, or not holding: its own words
    return _signed(loaded), hashlib.sha256(_file_bytes(loaded)).hexdigest()


def _signed(checkpoint: Checkpoint) -> SignedHeads:
    return SignedHeads.of(
        checkpoint.heads,
        created_at=checkpoint.created_at,
        root=checkpoint.root,
        path=checkpoint.path,
    )


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
        if hi - lo + 1 > 2 * len(batch.ids):  # scattered (an incremental run's changed cases)
            where = f"id IN ({','.join(str(int(c)) for c in batch.ids)})"
        else:
            where = "id BETWEEN :lo AND :hi"
        # hand SQL: the chain reads of the measured path (`fengqiao audit verify`, 1M cases)
        rows = {
            int(r[0]): CaseBinding(str(r[2]), int(r[3]), int(r[4]), str(r[1]))
            for r in tx.all(
                f"SELECT id, audit_head, state, version, audit_seq FROM cases WHERE {where}",
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


def _run_batches(
    db: Database, url: str, batches: Sequence[_Batch], workers: int, progress: Progress | None
) -> tuple[list[ChainBreak], int]:
    """The batches in this process, or in `workers` processes when there are enough of them
    to pay for the processes' start-up. Returns (breaks, events recomputed)."""
    breaks: list[ChainBreak] = []
    events = 0
    if workers <= 1 or len(batches) < POOL_MIN_BATCHES:
        for batch in batches:
            found, done, counted = verify_batch(db, batch)
            breaks.extend(found)
            events += counted
            if progress is not None:
                progress(done)
        return breaks, events
    context = multiprocessing.get_context("spawn")  # no inherited connections
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(url,)
    ) as pool:
        for found, done, counted in pool.map(_run_batch, batches):
            breaks.extend(found)
            events += counted
            if progress is not None:
                progress(done)
    return breaks, events


def verify_since(
    db: Database,
    url: str,
    *,
    latest: SignedHeads,
    baseline: SignedHeads,
    workers: int,
    on_total: Callable[[int], None] | None = None,
    progress: Progress | None = None,
) -> VerifyResult:
    """Incremental verification of every case: the cases whose head is not the one both
    checkpoints signed (api/audit_heads) are verified from the baseline's head in batches."""
    changes = find_changes(
        db, latest, baseline, connections=workers, on_total=on_total, progress=progress
    )
    batches = list(_batches(changes.changed, changes.start, changes.covered))
    breaks, events = _run_batches(db, url, batches, workers, progress)
    breaks.extend(changes.missing)
    return VerifyResult(
        sorted(breaks, key=lambda b: (b.case_id, b.seq)),
        changes.unchanged + len(changes.changed),
        changes.unchanged + events,  # an unchanged case: its head re-hashed
        baseline.created_at,
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
    if case_ids is None and baseline is not None:
        return verify_since(
            db,
            url,
            latest=SignedHeads.of(covered.values()),
            baseline=_signed(baseline),
            workers=workers,
            on_total=on_total,
            progress=progress,
        )
    with db.transaction(write=False) as tx:
        present = tx.case_ids()
    breaks: list[ChainBreak] = []
    if case_ids is None:
        ids = present
        breaks.extend(missing_cases(present, covered))
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
    found, events = _run_batches(db, url, list(_batches(ids, start, covered)), workers, progress)
    breaks.extend(found)
    return VerifyResult(
        sorted(breaks, key=lambda b: (b.case_id, b.seq)),
        len(ids),
        events,
        baseline.created_at if baseline is not None else None,
    )


def _checkpoints(
    checkpointer: Checkpointer, *, full: bool
) -> tuple[SignedHeads, str | None, SignedHeads | None]:
    """(the latest checkpoint; the digest of its file for a new marker, None when a marker
    already vouches for it; the verified baseline, None if there is none or `full`).

    Raises:
        CheckpointError: a checkpoint read in full was changed or is not signed by this key.
    """
    files = checkpointer.files()
    proved = _proved(checkpointer, files[-1])
    if proved is not None:
        return proved, None, None if full else proved
    latest, digest = _load(checkpointer, files[-1])
    for path in reversed(files if not full else []):
        raw = _marker(checkpointer, path)
        if raw is None:
            continue
        if path == files[-1]:  # a format-1 marker: proved, read in full this once
            baseline: SignedHeads | None = latest
        else:
            baseline = _proved(checkpointer, path) or _load(checkpointer, path)[0]
        if baseline is not None and baseline.root == raw["root"]:
            return latest, digest, baseline
    return latest, digest, None


def run(
    settings: Settings,
    *,
    case_ids: Sequence[int] | None,
    full: bool,
    workers: int | None,
    on_total: Callable[[int], None] | None = None,
    progress: Progress | None = None,
) -> tuple[VerifyResult, Signed | None]:
    """What `fengqiao audit verify` does: load the latest checkpoint (signature and root
    checked, or its verified marker's digest), pick the verified baseline unless `full`,
    verify, and on success over every case mark the latest checkpoint verified.

    Returns:
        (the result, the latest checkpoint or None)

    Raises:
        CheckpointError: a checkpoint file was changed or is not signed by this key.
        EngineError: an unknown case id.
    """
    from api.checkpoints import load_signing_key
    from api.wiring import make_sa_engine

    # no engine: a verify reads chains and checkpoints, it needs no flows (seconds of YAML)
    url = settings.resolved_database_url
    db = Database(make_sa_engine(url))
    processes = workers if workers is not None else (os.cpu_count() or 1)
    try:
        key = load_signing_key(settings.resolved_audit_key_file, create=False)
        checkpointer = Checkpointer(None, key, settings.resolved_checkpoint_dir)
        if case_ids or not checkpointer.files():  # some cases only: nothing is marked
            loaded = checkpointer.latest()
            shown = Signed(loaded.created_at, loaded.root, len(loaded.heads)) if loaded else None
            old = None if full else verified_baseline(checkpointer, loaded)  # cases given
            result = verify_cases(
                db,
                url,
                case_ids=case_ids,
                covered=loaded.covered() if loaded else {},
                baseline=old,
                workers=processes,
                on_total=on_total,
                progress=progress,
            )
        else:
            latest, digest, baseline = _checkpoints(checkpointer, full=full)
            assert latest.created_at is not None
            assert latest.path is not None
            shown = Signed(latest.created_at, latest.root, latest.cases)
            if baseline is None:
                result = verify_cases(
                    db,
                    url,
                    case_ids=None,
                    covered={h.case_id: h for h in map(parse_entry, latest.entries)},
                    baseline=None,
                    workers=processes,
                    on_total=on_total,
                    progress=progress,
                )
            else:
                result = verify_since(
                    db,
                    url,
                    latest=latest,
                    baseline=baseline,
                    workers=processes,
                    on_total=on_total,
                    progress=progress,
                )
            if not result.breaks and digest is not None:
                with contextlib.suppress(OSError):  # a read-only folder: stay full next time
                    _mark(checkpointer, latest.path, latest.root, digest)
    finally:
        db.engine.dispose()
    return result, shown
