"""Fengqiao's generic workflow core: the public surface hosts build on.

Everything a host needs is importable from here; the submodules are the implementation.
"""

from engine.calendar import Deadline, WorkingCalendar
from engine.errors import (
    CalendarDataError,
    CaseNotFound,
    ConcurrentUpdate,
    DefinitionError,
    EngineError,
    GuardRejected,
    InvalidInput,
    NotFound,
    OutOfScope,
    ReasonRequired,
    RoleNotPermitted,
    TransitionNotAllowed,
)
from engine.hooks import HookSet, TransitionContext
from engine.ports import Clock, FixedClock, SystemClock
from engine.records import Actor, CaseRecord, EventRecord, FireResult, TriggerOption
from engine.registry import Registry
from engine.runtime import Engine
from engine.spec import (
    DeadlineSpec,
    SpecExtension,
    StateSpec,
    TransitionSpec,
    WorkflowSpec,
)

__all__ = [
    "Actor",
    "CalendarDataError",
    "CaseNotFound",
    "CaseRecord",
    "Clock",
    "ConcurrentUpdate",
    "Deadline",
    "DeadlineSpec",
    "DefinitionError",
    "Engine",
    "EngineError",
    "EventRecord",
    "FireResult",
    "FixedClock",
    "GuardRejected",
    "HookSet",
    "InvalidInput",
    "NotFound",
    "OutOfScope",
    "ReasonRequired",
    "Registry",
    "RoleNotPermitted",
    "SpecExtension",
    "StateSpec",
    "SystemClock",
    "TransitionContext",
    "TransitionNotAllowed",
    "TransitionSpec",
    "TriggerOption",
    "WorkflowSpec",
    "WorkingCalendar",
]
