"""Append-only, hash-chained case events: each event's hash covers its content and the previous
hash, so altering, removing or reordering any stored event breaks the chain from there on.

The chain alone cannot tell a rewritten history (every later hash recomputed) or a shortened
one (last events deleted, the head rewound) from the real one: the case row is bound to its
last event (state, version, seq, head), and signed checkpoints kept outside the database fix
every chain's head at a point in time (a Merkle root over case, seq and hash), so what a
checkpoint covered cannot later be changed or dropped unseen."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from engine.models.columns import dumps
from engine.records import EventRecord

GENESIS_HASH = "0" * 64
# how `dumps` (ensure_ascii=False) renders a string: the json module's own function
_string: Callable[[str], str] = json.encoder.encode_basestring


@lru_cache(maxsize=4096)  # a bulk import stamps every event with the same time
def _canonical_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    prev_hash: str,
    case_id: int,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_name: str,
    actor_roles: str,
    trigger: str,
    source_state: str | None,
    dest_state: str,
    version: int,
    payload: dict[str, Any],
    reason: str | None,
) -> str:
    """The SHA-256 of an event's canonical form chained to its predecessor: `dumps` of the
    list of its fields, after `prev_hash|`.

    Returns:
        64 hex characters.
    """
    return event_hash_of_text(
        prev_hash=prev_hash,
        case_id=case_id,
        seq=seq,
        at=at,
        actor_id=actor_id,
        actor_name=actor_name,
        actor_roles=actor_roles,
        trigger=trigger,
        source_state=source_state,
        dest_state=dest_state,
        version=version,
        payload_text=dumps(payload),
        reason=reason,
    )


def event_hash_of_text(
    *,
    prev_hash: str,
    case_id: int,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_name: str,
    actor_roles: str,
    trigger: str,
    source_state: str | None,
    dest_state: str,
    version: int,
    payload_text: str,
    reason: str | None,
) -> str:
    """event_hash with the payload already in canonical text (`dumps(payload)`), so the fire
    path encodes it once for the hash and the stored column.

    The canonical form is `dumps` of the list of fields; a JSON list renders each item on its
    own, joined by commas, so joining the items' renderings is the same text byte for byte:
    an int as `int.__repr__`, None as null, a string as the encoder's own `encode_basestring`
    (no ASCII escaping, as `dumps`), which spares building an encoder per fire.
    """
    time = _canonical_time(at)
    if (  # the usual types: the list written out as the canonical encoder writes it
        type(case_id) is int
        and type(seq) is int
        and type(version) is int
        and (actor_id is None or type(actor_id) is int)
        and type(actor_name) is str
        and type(actor_roles) is str
        and type(trigger) is str
        and (source_state is None or type(source_state) is str)
        and type(dest_state) is str
        and (reason is None or type(reason) is str)
    ):
        head = (
            f"[{case_id},{seq},{_string(time)},{'null' if actor_id is None else actor_id},"
            f"{_string(actor_name)},{_string(actor_roles)},{_string(trigger)},"
            f"{'null' if source_state is None else _string(source_state)},"
            f"{_string(dest_state)},{version}"
        )
    else:  # anything else (a bool, an int subclass...) as the encoder renders it
        head = dumps(
            [
                case_id,
                seq,
                time,
                actor_id,
                actor_name,
                actor_roles,
                trigger,
                source_state,
                dest_state,
                version,
            ]
        )[:-1]
    reason_text = "null" if reason is None else dumps(reason)
    return hashlib.sha256(f"{prev_hash}|{head},{payload_text},{reason_text}]".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where a case's chain stops verifying, and how."""

    case_id: int
    seq: int
    problem: str  # Chinese, for people

    def describe(self) -> str:
        return f"案件 {self.case_id} 第 {self.seq} 条事件：{self.problem}"


@dataclass(frozen=True, slots=True)
class CaseBinding:
    """What the case row says its chain produced: the state and version of its last event,
    the number of events and the head hash."""

    state: str
    version: int
    seq: int
    head: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    """One chain's head as a checkpoint records it."""

    case_id: int
    seq: int
    hash: str

    def leaf(self) -> bytes:
        return hashlib.sha256(f"{self.case_id}|{self.seq}|{self.hash}".encode()).digest()


def merkle_root(heads: Sequence[ChainHead]) -> str:
    """The root of a binary Merkle tree over the heads in case order (an odd node is paired
    with itself; no heads: the hash of nothing).

    Returns:
        64 hex characters.
    """
    return merkle_root_of_leaves([h.leaf() for h in sorted(heads, key=lambda h: h.case_id)])


def merkle_root_of_leaves(leaves: Sequence[bytes]) -> str:
    """merkle_root over leaf digests already in case order (ChainHead.leaf of each)."""
    level = list(leaves)
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level), 2)
        ]
    return level[0].hex()


def verify_chain(
    case_id: int,
    events: Iterable[EventRecord],
    head: str | None,
    *,
    bound: CaseBinding | None = None,
    covered: ChainHead | None = None,
    start: ChainHead | None = None,
) -> ChainBreak | None:
    """Recompute a case's chain from the genesis hash.

    Args:
        case_id: the case the events belong to.
        events: the case's events in `seq` order.
        head: the chain head the case row holds, or None to skip that check.
        bound: the case row's state, version, event count and head: each must be what the
            last event produced.
        covered: the case's head in the latest signed checkpoint: that event must still be
            there with that hash.
        start: incremental verification: a head an earlier verification already proved (from a
            verified signed checkpoint). `events` then begin at `start.seq`; that event must
            still have `start.hash` (its own content recomputed from its stored predecessor
            hash), and the chain is recomputed from there. Events before it are not read.

    Returns:
        None when every event verifies, else the first break.
    """
    prev = GENESIS_HASH
    expected_seq = 1
    last: EventRecord | None = None
    if start is not None and start.seq > 0:
        expected_seq = start.seq
    for event in events:
        if start is not None and event.seq == start.seq and last is None:
            if event.hash != start.hash:
                return ChainBreak(
                    case_id,
                    event.seq,
                    "与已核验的签名检查点记录的哈希不符：此事件或之前的事件被改写",
                )
            prev = event.prev_hash  # proved by the verified checkpoint
        if event.seq != expected_seq:
            return ChainBreak(
                case_id, event.seq, f"序号不连续（应为 {expected_seq}），事件被删除或插入"
            )
        if event.prev_hash != prev:
            return ChainBreak(case_id, event.seq, "前一事件的哈希不符，链条被改动")
        recomputed = event_hash(
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
            reason=event.reason,
        )
        if recomputed != event.hash:
            return ChainBreak(case_id, event.seq, "事件内容与其哈希不符，内容被改动")
        if covered is not None and event.seq == covered.seq and event.hash != covered.hash:
            return ChainBreak(
                case_id,
                event.seq,
                "与已签名检查点记录的哈希不符：此事件或之前的事件被改写",
            )
        prev = event.hash
        last = event
        expected_seq += 1
    if start is not None and start.seq > 0 and last is None:
        return ChainBreak(case_id, start.seq, "已核验的签名检查点记录的事件不存在，事件被删除")
    if covered is not None and covered.seq >= expected_seq:
        return ChainBreak(case_id, covered.seq, "已签名检查点记录的事件不存在，事件被删除")
    if head is not None and head != prev:
        return ChainBreak(case_id, expected_seq - 1, "案件记录的链头与最后一条事件不符，事件被删除")
    if bound is not None:
        if last is None:
            return ChainBreak(case_id, 0, "案件没有任何事件")
        if (bound.seq, bound.head) != (last.seq, last.hash):
            return ChainBreak(case_id, last.seq, "案件记录的事件数或链头与最后一条事件不符")
        if (bound.state, bound.version) != (last.dest_state, last.version):
            return ChainBreak(
                case_id,
                last.seq,
                f"案件的状态或版本（{bound.state}，{bound.version}）不是最后一条事件所产生的"
                f"（{last.dest_state}，{last.version}），案件记录被直接改动",
            )
    return None


def missing_cases(present: Iterable[int], covered: Mapping[int, ChainHead]) -> list[ChainBreak]:
    """A checkpoint's cases that are no longer in the database at all."""
    have = set(present)
    return [
        ChainBreak(case_id, head.seq, "已签名检查点记录的案件不存在，案件被删除")
        for case_id, head in sorted(covered.items())
        if case_id not in have
    ]
