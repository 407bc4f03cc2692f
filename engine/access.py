"""Who may see a case and who may fire a trigger: the one place these rules live.

A case is visible to an actor whose scope (org units, subtrees already expanded by the host)
contains any unit the case belongs to, or who is assigned to it. The API uses the same checks
for reads, and answers out-of-scope reads as not found so existence does not leak.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from engine.errors import OutOfScope, RoleNotPermitted
from engine.records import Actor, CaseRecord
from engine.spec import TransitionSpec, WorkflowSpec


def in_scope(actor: Actor, case: CaseRecord, is_assigned: Callable[[], bool]) -> bool:
    """Whether the actor may see the case; `is_assigned` is only called when units miss."""
    if actor.all_units:
        return True
    if any(unit in actor.unit_ids for unit in case.unit_ids() if unit is not None):
        return True
    return actor.user_id is not None and is_assigned()


def require_scope(actor: Actor, case: CaseRecord, is_assigned: Callable[[], bool]) -> None:
    """Raises:
    OutOfScope: the case is outside the actor's units and assignments.
    """
    if not in_scope(actor, case, is_assigned):
        raise OutOfScope(case.id)


def role_allows(actor: Actor, transition: TransitionSpec) -> bool:
    return not actor.roles.isdisjoint(transition.roles)


def require_role(actor: Actor, transition: TransitionSpec, spec: WorkflowSpec) -> None:
    """Raises:
    RoleNotPermitted: none of the actor's roles is listed on the transition.
    """
    if not role_allows(actor, transition):
        raise RoleNotPermitted(
            transition.trigger,
            [str(r) for r in transition.roles],
            [spec.role_label(r) for r in transition.roles],
        )


def require_unit(actor: Actor, unit_ids: Iterable[int | None]) -> None:
    """Raises:
    OutOfScope: a unit a new case would belong to is outside the actor's scope.
    """
    for unit in sorted(u for u in unit_ids if u is not None):
        if not actor.all_units and unit not in actor.unit_ids:
            raise OutOfScope(unit_id=unit)
