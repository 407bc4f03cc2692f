"""The first step of an incremental `fengqiao audit verify`: which cases changed since the
verified checkpoint, found set-based instead of case by case.

Why: at 1M cases, reading every case's events from its checkpointed head one batch at a time
cost ~45 s even when nothing had happened. Here one statement per range of case ids checks
each case's head event where it stands, and gives back the case's head as the checkpoint file
writes it (`case,seq,"hash"`); the cases whose entry is in both the latest and the verified
checkpoint did not change, and set operations in this process find the others.

What "did not change" proves, the same as engine.audit.verify_chain from the verified head:
- the case row's seq and head are the head both checkpoints signed;
- the event at that seq is there, has that hash, and its content (rendered by the database
  from the stored columns, from its stored predecessor hash, as api/audit_scan does) hashes
  to it, so a head altered in place is found;
- the case row's state and version are what that event produced;
- no event follows it.
A case failing any of these gets an entry no checkpoint holds, so it is "changed" and its
chain is verified from the verified head by the batches (api/audit_scan, then the exact path,
which words the break). A case a checkpoint holds and the database does not is deleted.

On PostgreSQL the database also runs SHA-256 over the rendered head (pg_catalog.sha256), so
only the entries travel; this trusts the server's hashing as the fast path already trusts its
rendering (to_json, to_char): whoever could change those could change what any read returns.
On SQLite the rendered head comes back and is hashed here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from api.audit_scan import render_sql
from api.checkpoints import CheckpointError
from engine.audit import ChainBreak, ChainHead, merkle_root_of_leaves
from engine.repository import Database

__all__ = [
    "Changes",
    "SignedHeads",
    "entries_root",
    "find_changes",
    "parse_entry",
    "read_checkpoint",
]

CHUNK_CASES = 25_000  # cases per statement: a progress step, and what a thread reads at once
_ROW = "\x1e"


def entry(case_id: int, seq: int, hash_: str) -> str:
    """A head as the checkpoint file writes it inside `[…]`."""
    return f'{case_id},{seq},"{hash_}"'


def parse_entry(text: str) -> ChainHead:
    """The head an entry names.

    Raises:
        CheckpointError: not an entry as the checkpoint writes it (its root still matches when
            only its quotes were moved: the root covers `case|seq|hash`).
    """
    try:
        case_id, seq, quoted = text.split(",", 2)
        if not (quoted.startswith('"') and quoted.endswith('"')):
            raise ValueError(quoted)
        return ChainHead(int(case_id), int(seq), quoted[1:-1])
    except ValueError as exc:
        raise CheckpointError(f"检查点中的链头 {text[:80]} 格式不符，文件被改动") from exc


@dataclass(frozen=True, slots=True)
class SignedHeads:
    """A checkpoint whose signature and root were checked (now, or by the verification that
    signed its marker), with its heads kept as entries."""

    created_at: datetime | None
    root: str
    entries: Sequence[str]  # `case,seq,"hash"` in case order
    path: Path | None = None
    _set: set[str] = field(default_factory=set, compare=False, repr=False)

    @property
    def cases(self) -> int:
        return len(self.entries)

    def entry_set(self) -> set[str]:
        if not self._set and self.entries:
            self._set.update(self.entries)
        return self._set

    @classmethod
    def of(
        cls,
        heads: Iterable[ChainHead],
        *,
        created_at: datetime | None = None,
        root: str = "",
        path: Path | None = None,
    ) -> SignedHeads:
        ordered = sorted(heads, key=lambda h: h.case_id)
        return cls(created_at, root, [entry(h.case_id, h.seq, h.hash) for h in ordered], path)


_KEY, _END = ',"heads":[', '],"signature":'


def read_checkpoint(data: bytes) -> tuple[dict[str, object], SignedHeads]:
    """A checkpoint file's fields and its heads as entries, without parsing the heads into
    objects: the file as Checkpointer writes it (compact JSON, `heads` before `signature`).
    Nothing is checked here: entries_root and the signature are the caller's to check.

    Raises:
        ValueError: not a file in that form.
    """
    text = data.decode()
    at, end = text.find(_KEY), text.rfind(_END)
    if at < 0 or end < at:
        raise ValueError("not a checkpoint file as written")
    fields = json.loads(text[:at] + text[end + 1 :].replace(_END[1:], ',"signature":', 1))
    heads = text[at + len(_KEY) : end]
    entries = heads[1:-1].split("],[") if heads else []
    created = datetime.fromisoformat(str(fields["created_at"]))
    return fields, SignedHeads(created, str(fields["root"]), entries)


def entries_root(entries: Sequence[str]) -> str:
    """engine.audit.merkle_root of the heads the entries name, in the entries' order (a file
    whose heads are not in case order therefore does not match its root here)."""
    sha256 = hashlib.sha256
    return merkle_root_of_leaves(
        [sha256(e.replace(",", "|", 2).replace('"', "").encode()).digest() for e in entries]
    )


@dataclass(frozen=True, slots=True)
class Changes:
    unchanged: int  # cases whose head was re-hashed in place and matched both checkpoints
    changed: list[int]  # present cases to verify from the verified head (or from genesis)
    start: dict[int, ChainHead]  # the verified checkpoint's heads of the changed cases
    covered: dict[int, ChainHead]  # the latest checkpoint's heads of the changed cases
    missing: list[ChainBreak]  # cases a checkpoint holds that are no longer there


# Hand SQL on purpose: the set-based head check is the measured path of `fengqiao audit
# verify` (1M cases), in each dialect's own aggregates (string_agg, LATERAL, sha256).
def _pg_sql() -> str:
    digest = f"encode(pg_catalog.sha256(convert_to({render_sql('postgresql')}, 'UTF8')), 'hex')"
    return (
        "SELECT string_agg(CASE WHEN COALESCE("
        f"e.seq = c.audit_seq AND {_HEAD_MATCHES} AND {digest} = e.hash, false) "
        """THEN c.id || ',' || c.audit_seq || ',"' || c.audit_head || '"' """
        f"""ELSE c.id || ',-1,""' END, '{_ROW}' ORDER BY c.id) """
        f"FROM cases c {_PG_LAST_EVENT} WHERE c.id BETWEEN :lo AND :hi"
    )


def _lite_sql() -> str:
    return (
        """SELECT c.id, c.id || ',' || c.audit_seq || ',"' || c.audit_head || '"', """
        f"CASE WHEN {_HEAD_HOLDS} THEN {render_sql('sqlite')} END, e.hash "
        f"FROM cases c {_HEAD_JOIN} WHERE c.id BETWEEN :lo AND :hi ORDER BY c.id"
    )


_HEAD_MATCHES = "e.hash = c.audit_head AND e.dest_state = c.state AND e.version = c.version"
_HEAD_JOIN = "LEFT JOIN audit_events e ON e.case_id = c.id AND e.seq = c.audit_seq"
_HEAD_HOLDS = (
    f"{_HEAD_MATCHES} AND NOT EXISTS "
    "(SELECT 1 FROM audit_events n WHERE n.case_id = c.id AND n.seq > c.audit_seq)"
)
# the case's last event, one backward index probe: it must be the case row's head (nothing
# after it); a plain join is planned as a hash join over every event, for each range
_PG_LAST_EVENT = (
    "LEFT JOIN LATERAL (SELECT * FROM audit_events e WHERE e.case_id = c.id "
    "ORDER BY e.seq DESC LIMIT 1) e ON true"
)


def head_entries(db: Database, lo: int, hi: int) -> list[str]:
    """The entries of the cases with ids in [lo, hi], in id order; a case whose head does not
    hold where it stands gets `case,-1,""`, which no checkpoint holds."""
    with db.transaction(write=False, snapshot=False) as tx:
        if db.dialect == "postgresql":
            row = tx.one(_pg_sql(), {"lo": lo, "hi": hi})
            text = row[0] if row is not None else None
            return str(text).split(_ROW) if text else []
        sha256 = hashlib.sha256
        return [
            str(line)
            if rendered is not None and sha256(str(rendered).encode()).hexdigest() == stored
            else f'{case_id},-1,""'
            for case_id, line, rendered, stored in tx.all(_lite_sql(), {"lo": lo, "hi": hi})
        ]


def _ranges(db: Database) -> tuple[int, list[tuple[int, int]]]:
    with db.transaction(write=False, snapshot=False) as tx:
        row = tx.one("SELECT MIN(id), MAX(id), COUNT(*) FROM cases")  # the head check's ranges
    if row is None or row[0] is None:
        return 0, []
    lo, hi, count = int(row[0]), int(row[1]), int(row[2])
    return count, [(a, min(a + CHUNK_CASES - 1, hi)) for a in range(lo, hi + 1, CHUNK_CASES)]


def find_changes(
    db: Database,
    latest: SignedHeads,
    baseline: SignedHeads,
    *,
    connections: int = 2,
    on_total: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Changes:
    """Compare every case's head where it stands with the latest and the verified checkpoint.

    On PostgreSQL `connections` ranges are read at a time (threads, one connection each: the
    server renders and hashes, this process only compares), so the server's cores work.
    """
    count, ranges = _ranges(db)
    if on_total is not None:
        on_total(count)
    in_latest, in_baseline = latest.entry_set(), baseline.entry_set()
    kept: list[str] = []  # the unchanged cases' entries
    changed: list[str] = []
    threads = max(1, connections) if db.dialect == "postgresql" else 1
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for entries in pool.map(lambda r: head_entries(db, *r), ranges):
            same = [e for e in entries if e in in_baseline and e in in_latest]
            kept.extend(same)
            if len(same) < len(entries):
                changed.extend(e for e in entries if e not in in_baseline or e not in in_latest)
            if progress is not None:
                progress(len(same))
    changed_ids = {int(e.split(",", 1)[0]) for e in changed}
    missing: dict[int, ChainHead] = {}
    start: dict[int, ChainHead] = {}
    covered: dict[int, ChainHead] = {}
    if len(kept) < latest.cases or len(kept) < baseline.cases:
        # a checkpoint entry no unchanged case matched: a changed case's head then, or a
        # case deleted since
        matched = set(kept)
        for signed, heads in ((baseline, start), (latest, covered)):
            for text in signed.entries:
                if text not in matched:
                    head = parse_entry(text)
                    if head.case_id in changed_ids:
                        heads[head.case_id] = head
                    else:
                        missing[head.case_id] = head
    return Changes(
        len(kept),
        sorted(changed_ids),
        start,
        covered,
        [
            ChainBreak(case_id, head.seq, "已签名检查点记录的案件不存在，案件被删除")
            for case_id, head in sorted(missing.items())
        ],
    )
