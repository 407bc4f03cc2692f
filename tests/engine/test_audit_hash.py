"""The fire path hashes an event from its payload's canonical text (engine/audit.py
event_hash_of_text); the chain's verification recomputes it from the payload itself
(event_hash). The two must agree byte for byte, or every fired event would fail to verify."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from engine.audit import event_hash, event_hash_of_text
from engine.models.columns import dumps

AT = datetime(2026, 3, 2, 1, 30, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "reason", "actor_id", "source", "at"),
    [
        ({}, None, None, None, AT),
        ({"risk_level": "blue"}, '复核，"风险"未变, ok]', 7, "intake", AT),
        (
            {"z": [1, 2.5, None, True], "a": {"名": "张三", "x": "\u2028\n\\"}},
            "",
            123,
            "mediation_room",
            AT.astimezone(timezone(timedelta(hours=8))),
        ),
    ],
)
def test_event_hash_of_text_is_event_hash(
    payload: dict[str, Any],
    reason: str | None,
    actor_id: int | None,
    source: str | None,
    at: datetime,
) -> None:
    common: dict[str, Any] = {
        "prev_hash": "ab" * 32,
        "case_id": 42,
        "seq": 3,
        "at": at,
        "actor_id": actor_id,
        "actor_name": "李调解员",
        "actor_roles": "mediator,staff",
        "trigger": "reassess_risk",
        "source_state": source,
        "dest_state": "mediation_room",
        "version": 3,
        "reason": reason,
    }
    fields = [
        common["case_id"],
        common["seq"],
        at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        actor_id,
        common["actor_name"],
        common["actor_roles"],
        common["trigger"],
        source,
        common["dest_state"],
        common["version"],
        payload,
        reason,
    ]
    # the canonical form, written out: `dumps` of the whole list after "prev_hash|"
    expected = hashlib.sha256(f"{common['prev_hash']}|{dumps(fields)}".encode()).hexdigest()
    assert event_hash_of_text(payload_text=dumps(payload), **common) == expected
    assert event_hash(payload=payload, **common) == expected


@pytest.mark.parametrize(
    ("actor_name", "trigger", "source", "actor_id"),
    [
        ('引号"与反斜杠\\', "a\tb\u0000\u2028", None, 0),
        ("\ud7ff😀 </script>", "", "状态", -5),
        ("plain", "x", "y", True),  # a bool is no int here: the encoder's `true`
    ],
)
def test_the_written_out_head_is_the_encoders(
    actor_name: str, trigger: str, source: str | None, actor_id: Any
) -> None:
    """The hash writes its fields' list out itself; any string, and a value of an unusual
    type, still hashes as `dumps` of the list would."""
    at = AT + timedelta(microseconds=1)
    fields = [
        9,
        1,
        at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        actor_id,
        actor_name,
        "a,b",
        trigger,
        source,
        "终",
        2,
        {"k": "v"},
        "理由",
    ]
    expected = hashlib.sha256(f"{'0' * 64}|{dumps(fields)}".encode()).hexdigest()
    assert (
        event_hash_of_text(
            prev_hash="0" * 64,
            case_id=9,
            seq=1,
            at=at,
            actor_id=actor_id,
            actor_name=actor_name,
            actor_roles="a,b",
            trigger=trigger,
            source_state=source,
            dest_state="终",
            version=2,
            payload_text=dumps({"k": "v"}),
            reason="理由",
        )
        == expected
    )
