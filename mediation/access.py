"""Where a new mediation case may be registered, beside the engine's scope rules
(engine/access.py)."""

from __future__ import annotations

from engine.errors import OutOfScope
from engine.records import Actor


def require_serving(actor: Actor, unit_id: int, area: frozenset[int]) -> None:
    """A new case may go to a unit in the actor's scope, or to an office that serves the
    area the actor works in (`area`: the subtree of the office's parent): a 中心户 reports
    to the committee of their community or street, never to another street's.

    Raises:
        OutOfScope: neither.
    """
    if actor.all_units or unit_id in actor.unit_ids or not actor.unit_ids.isdisjoint(area):
        return
    raise OutOfScope(unit_id=unit_id)
