"""Read-only snapshots guards and actions see: plain frozen dataclasses, no ORM sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.spec import SYSTEM_LABEL, SYSTEM_ROLE


@dataclass(frozen=True, slots=True)
class Actor:
    """Who fires a trigger, resolved by the host at login.

    `unit_ids` is the actor's scope already expanded to subtrees (the host knows the org
    tree; the engine only tests membership). `all_units` is for admins and the system tick.
    """

    user_id: int | None
    name: str
    roles: frozenset[str]
    unit_ids: frozenset[int] = frozenset()
    all_units: bool = False

    @classmethod
    def system(cls) -> Actor:
        return cls(user_id=None, name=SYSTEM_LABEL, roles=frozenset({SYSTEM_ROLE}), all_units=True)


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """A case as guards and actions read it: the engine's own columns.

    A host whose case row has attributes of its own reads them in a subclass
    (mediation/records.py MediationCase), named with its table to the engine by its Tx
    (engine/repository/cases.py CaseLayout): its fields are the columns the engine loads.
    """

    id: int
    number: str
    spec_id: str
    spec_version: int
    state: str
    level: str
    org_unit_id: int
    state_sessions: int
    overdue: bool
    data: dict[str, Any]
    version: int
    audit_seq: int
    audit_head: str
    created_at: datetime
    state_entered_at: datetime
    closed_at: datetime | None

    def unit_ids(self) -> tuple[int | None, ...]:
        """Every org unit through which an actor can see this case (a host adds its own)."""
        return (self.org_unit_id,)


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    id: int
    user_id: int
    role: str
    assigned_at: datetime
    ended_at: datetime | None
    consented_at: datetime | None  # when the host recorded the consent the assignment needed

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True, slots=True)
class TriggerOption:
    """One thing the actor could do now, or why not (for `available_triggers`)."""

    trigger: str
    label: str
    dest: str
    dest_label: str
    allowed: bool
    reason_required: bool
    blocked_reasons: tuple[str, ...] = field(default=())
    service: str | None = None  # performed by this host service, not the generic door
    schema: dict[str, Any] | None = None  # its fields as JSON Schema, with today's options


@dataclass(frozen=True, slots=True)
class FireResult:
    case_id: int
    trigger: str
    source: str
    state: str
    version: int
    event_hash: str
    spec_id: str = ""
    spec_version: int = 0


@dataclass(frozen=True, slots=True)
class EventRecord:
    seq: int
    at: datetime
    actor_id: int | None
    actor_name: str
    actor_roles: tuple[str, ...]
    trigger: str
    source_state: str | None
    dest_state: str
    version: int
    payload: dict[str, Any]
    reason: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class RoleHolder:
    """An active user holding a role in an org unit: one membership, with the user's name."""

    user_id: int
    display_name: str
    org_unit_id: int
    role: str


@dataclass(frozen=True, slots=True)
class OrgUnitRow:
    """An org unit as the engine reads it: its kind, names and materialised path."""

    id: int
    kind: str
    name: str
    short_name: str
    parent_id: int | None
    path: str
