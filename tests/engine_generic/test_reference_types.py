"""A host declares its own reference types (mediation's party and court are two): a field may
take the type's name, its options come from the host's provider, and a refused value is
explained by the rule the host gave."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from engine.fields import FieldSpec, FieldType, Option, check_payload, is_reference
from engine.hooks import HookSet, TransitionContext


def test_a_host_reference_type_is_checked_against_its_options_and_rule() -> None:
    hooks = HookSet()

    @hooks.options_for("meeting_room", rule="须为本部门可预订的会议室")
    def rooms(ctx: TransitionContext, field: FieldSpec) -> Sequence[Option]:
        del ctx, field
        return [Option(3, "三楼会议室")]

    room = FieldSpec(name="room", label="会议室", type="meeting_room", required=True)
    assert room.type == "meeting_room"
    assert is_reference(room.type)
    assert not is_reference(FieldSpec(name="n", label="n", type="text").type)

    def offered(field: FieldSpec) -> Sequence[Option]:
        return hooks.options[str(field.type)](None, field)  # type: ignore[arg-type]

    rules = hooks.reference_rules
    values, errors = check_payload([room], {"room": 3}, offered, where="预订", rules=rules)
    assert values == {"room": 3}
    assert errors == []
    _, errors = check_payload([room], {"room": 4}, offered, where="预订", rules=rules)
    assert [e.message for e in errors] == ["“会议室”须为本部门可预订的会议室（4 不在可选范围内）"]


def test_a_host_reference_type_must_say_what_its_values_must_be() -> None:
    with pytest.raises(ValueError, match="needs the rule"):
        HookSet().options_for("meeting_room")
    HookSet().options_for(FieldType.user)  # the engine's own types carry their rules
