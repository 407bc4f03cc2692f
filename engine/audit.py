"""Append-only, hash-chained case events: each event's hash covers its content and the previous
hash, so altering, removing or reordering any stored event breaks the chain from there on."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.models import dumps
from engine.records import EventRecord

GENESIS_HASH = "0" * 64


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
    """The SHA-256 of an event's canonical form chained to its predecessor.

    Returns:
        64 hex characters.
    """
    body = dumps(
        [
            case_id,
            seq,
            _canonical_time(at),
            actor_id,
            actor_name,
            actor_roles,
            trigger,
            source_state,
            dest_state,
            version,
            payload,
            reason,
        ]
    )
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where a case's chain stops verifying, and how."""

    case_id: int
    seq: int
    problem: str  # Chinese, for people

    def describe(self) -> str:
        return f"案件 {self.case_id} 第 {self.seq} 条事件：{self.problem}"


def verify_chain(
    case_id: int, events: Iterable[EventRecord], head: str | None
) -> ChainBreak | None:
    """Recompute a case's chain from the genesis hash.

    Args:
        case_id: the case the events belong to.
        events: the case's events in `seq` order.
        head: the chain head the case row holds, or None to skip that check.

    Returns:
        None when every event verifies, else the first break.
    """
    prev = GENESIS_HASH
    expected_seq = 1
    for event in events:
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
        prev = event.hash
        expected_seq += 1
    if head is not None and head != prev:
        return ChainBreak(case_id, expected_seq - 1, "案件记录的链头与最后一条事件不符，事件被删除")
    return None
