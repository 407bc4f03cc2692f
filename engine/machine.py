"""Spec → one `transitions` Machine per spec version, built once at load.

The Machine is the single source of which trigger leads where. Cases are never attached to it
(`add_model` costs 100–380 µs a call, more than the whole database write): the engine asks the
machine's event table for the transition, then runs guards and actions itself, because guards
need the database and must report why they refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transitions import Machine

from engine.checks import expand_sources
from engine.hooks import Hook, HookSet
from engine.spec import SYSTEM_ROLE, StateSpec, TransitionSpec, WorkflowSpec


@dataclass(frozen=True, slots=True)
class BoundTransition:
    """A transition with its hooks resolved to callables."""

    spec: TransitionSpec
    guards: tuple[Hook, ...]
    actions: tuple[Hook, ...]
    declared: bool = True  # False: a timer's expiry action, which declares no fields


@dataclass(frozen=True)
class CompiledSpec:
    spec: WorkflowSpec
    file: Path
    machine: Machine
    states: dict[str, StateSpec]
    by_source: dict[str, dict[str, BoundTransition]]
    open_transition: TransitionSpec
    clock_starts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    clock_stops: dict[str, tuple[str, ...]] = field(default_factory=dict)
    expiry_actions: dict[str, BoundTransition] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int]:
        return (self.spec.id, self.spec.version)

    def transition(self, state: str, trigger: str) -> BoundTransition | None:
        return self.by_source.get(state, {}).get(trigger)


def compile_spec(spec: WorkflowSpec, hooks: HookSet, file: Path) -> CompiledSpec:
    """Build the Machine and the (state, trigger) table from a checked spec."""
    machine = Machine(
        model=None,
        states=[s.name for s in spec.states],
        initial=spec.initial,
        auto_transitions=False,
        ignore_invalid_triggers=False,
    )
    bound: dict[str, BoundTransition] = {}
    for transition in spec.transitions:
        sources = list(expand_sources(spec, transition.source))
        machine.add_transition(transition.trigger, list[Any](sources), transition.dest)
        for source in sources:
            bound[f"{source}\x00{transition.trigger}"] = BoundTransition(
                spec=transition,
                guards=tuple(hooks.guards[name] for name in transition.guards),
                actions=tuple(hooks.actions[name] for name in transition.actions),
            )
    by_source: dict[str, dict[str, BoundTransition]] = {s.name: {} for s in spec.states}
    for trigger, event in machine.events.items():
        for source, candidates in event.transitions.items():
            for candidate in candidates:
                by_source[source][trigger] = bound[f"{source}\x00{trigger}"]
                assert candidate.dest == by_source[source][trigger].spec.dest
    starts: dict[str, list[str]] = {}
    stops: dict[str, list[str]] = {}
    for clock in spec.clocks:
        for state in clock.starts_in:
            starts.setdefault(state, []).append(clock.name)
        for state in clock.stops_in:
            stops.setdefault(state, []).append(clock.name)
    return CompiledSpec(
        spec=spec,
        file=file,
        machine=machine,
        states={s.name: s for s in spec.states},
        by_source=by_source,
        open_transition=TransitionSpec(
            trigger="open",
            label="受理登记",
            source=(spec.initial,),
            dest=spec.initial,
            roles=spec.open_roles,
        ),
        clock_starts={k: tuple(v) for k, v in starts.items()},
        clock_stops={k: tuple(v) for k, v in stops.items()},
        expiry_actions={
            name: BoundTransition(
                spec=TransitionSpec(
                    trigger=name,
                    label="期限届满自动执行",
                    source=("*",),
                    roles=(SYSTEM_ROLE,),
                    actions=(name,),
                ),
                guards=(),
                actions=(hook,),
                declared=False,
            )
            for name, hook in hooks.actions.items()
        },
    )
