"""Spec → one `transitions` machine per spec version, built once at load and shared by every
case of that version.

The machine does the state machine's work: its event table says which transition a trigger
takes from a state, the transition's conditions are the spec's guards, its `before`
callbacks the spec's actions, and `Transition.execute` runs them and moves the state. A case is
never attached to the machine (`add_model` costs 100–380 µs a call, more than the whole
database write): each fire hands transitions a small `FiringCase` that carries the state and
the TransitionContext, and is dropped after the fire. The same machine draws the diagrams
(transitions' diagram extension, see engine/graph.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from transitions import EventData, State, Transition
from transitions.extensions.diagrams import GraphMachine

from engine.checks import expand_sources
from engine.errors import GuardRejected, InvalidInput
from engine.graph import dress_machine, state_captions
from engine.hooks import Hook, HookSet, TransitionContext
from engine.spec import SYSTEM_ROLE, StateSpec, TransitionSpec, WorkflowSpec


class FiringCase:
    """The model transitions moves during one fire: the case's state and the context guards and
    actions read. Built per fire, never added to the machine."""

    __slots__ = ("context", "refusals", "state")

    def __init__(self, state: str, context: TransitionContext) -> None:
        self.state = state
        self.context = context
        self.refusals: list[tuple[str, str]] = []  # (guard, why), in the order they refused


class GuardCondition:
    """A guard as a transitions condition: true to pass; on a refusal it notes the guard and its
    Chinese reason on the firing case, so the fire can say why."""

    __slots__ = ("__name__", "hook")

    def __init__(self, hook: Hook) -> None:
        self.hook = hook
        self.__name__ = hook.name  # how transitions' markup names the condition

    def __call__(self, event: EventData) -> bool:
        firing = cast(FiringCase, event.model)
        verdict = self.hook.fn(firing.context)
        if verdict:
            firing.refusals.append((self.hook.name, verdict))
            return False
        return True


class ActionCallback:
    """An action as a transitions callback, run once every condition has passed; only while it
    runs may the context be written (guards are pure)."""

    __slots__ = ("__name__", "hook")

    def __init__(self, hook: Hook) -> None:
        self.hook = hook
        self.__name__ = hook.name

    def __call__(self, event: EventData) -> None:
        context = cast(FiringCase, event.model).context
        context.writable = True
        try:
            self.hook.fn(context)
        finally:
            context.writable = False


class BoundTransition(Transition):
    """A transitions Transition that also carries its spec: who may fire it, its fields, its
    label. Its conditions are the spec's guards and its `before` callbacks the spec's actions."""

    def __init__(
        self,
        source: str,
        dest: str | None,
        conditions: Any = None,
        unless: Any = None,
        before: Any = None,
        after: Any = None,
        prepare: Any = None,
        *,
        spec: TransitionSpec,
        label: str = "",
        declared: bool = True,
    ) -> None:
        super().__init__(source, cast(str, dest), conditions, unless, before, after, prepare)
        self.spec = spec
        self.label = label or spec.label  # the diagram's edge label (transitions' markup)
        self.declared = declared  # False: a timer's expiry action, which declares no fields

    @property
    def guards(self) -> tuple[Hook, ...]:
        return tuple(cast(GuardCondition, c.func).hook for c in self.conditions)

    @property
    def actions(self) -> tuple[Hook, ...]:
        return tuple(cast(ActionCallback, a).hook for a in self.before)


class SpecState(State):
    """A transitions State with the caption the diagrams show (engine/graph.py)."""

    def __init__(self, name: str, *, label: str = "", **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.label = label or name


class SpecMachine(GraphMachine):
    """transitions' diagram-capable machine whose transitions and states carry the spec."""

    transition_cls = BoundTransition  # type: ignore[assignment]  # no per-model graph upkeep
    state_cls = SpecState


@dataclass(frozen=True)
class CompiledSpec:
    spec: WorkflowSpec
    file: Path
    machine: SpecMachine
    states: dict[str, StateSpec]
    open_transition: TransitionSpec
    clock_starts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    clock_stops: dict[str, tuple[str, ...]] = field(default_factory=dict)
    expiry_actions: dict[str, BoundTransition] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int]:
        return (self.spec.id, self.spec.version)

    def transition(self, state: str, trigger: str) -> BoundTransition | None:
        """The transition `trigger` takes from `state`, from the machine's event table."""
        event = self.machine.events.get(trigger)
        if event is None:
            return None
        candidates = event.transitions.get(state)
        return cast(BoundTransition, candidates[0]) if candidates else None

    def triggers(self, state: str) -> list[str]:
        """The triggers leading out of `state`, in the spec's order."""
        return self.machine.get_triggers(state)

    def transitions_from(self, state: str) -> dict[str, BoundTransition]:
        """Every transition leading out of `state`, by trigger, in the spec's order."""
        found = {trigger: self.transition(state, trigger) for trigger in self.triggers(state)}
        return {trigger: bound for trigger, bound in found.items() if bound is not None}

    def _event(self, transition: BoundTransition, firing: FiringCase) -> EventData:
        machine = self.machine
        return EventData(
            machine.states[firing.state],
            machine.events.get(transition.spec.trigger),
            machine,
            firing,
            (),
            {},
        )

    def execute(self, transition: BoundTransition, context: TransitionContext) -> str:
        """Run one transition through transitions: its conditions (the guards, stopping at the
        first refusal), then its callbacks (the actions), then the state change.

        Returns:
            The state the case is in afterwards.

        Raises:
            GuardRejected: the first guard that refused, with its reason.
        """
        firing = FiringCase(context.case.state, context)
        event = self._event(transition, firing)
        event.transition = transition
        if not transition.execute(event):
            guard, reason = firing.refusals[0]
            raise GuardRejected(transition.spec.trigger, guard, reason)
        return firing.state

    def refusals(self, transition: BoundTransition, context: TransitionContext) -> list[str]:
        """Why each of the transition's guards refuses now (all of them, not only the first),
        each checked as transitions checks a condition. A guard that needs input the actor
        gives only when firing (InvalidInput) does not refuse here."""
        firing = FiringCase(context.case.state, context)
        event = self._event(transition, firing)
        for condition in transition.conditions:
            try:
                condition.check(event)
            except InvalidInput:
                continue
        return [reason for _, reason in firing.refusals]


def compile_spec(spec: WorkflowSpec, hooks: HookSet, file: Path) -> CompiledSpec:
    """Build the machine from a checked spec: states, and each transition with its guards as
    conditions and its actions as callbacks."""
    captions = state_captions(spec)
    machine = SpecMachine(
        model=None,
        states=[{"name": s.name, "label": captions[s.name], "final": s.final} for s in spec.states],
        initial=spec.initial,
        send_event=True,
        auto_transitions=False,
        ignore_invalid_triggers=False,
        title=f"{spec.title}（v{spec.version}）",
        graph_engine="graphviz",
    )
    for transition in spec.transitions:
        machine.add_transition(
            transition.trigger,
            list[Any](expand_sources(spec, transition.source)),
            transition.dest,
            conditions=[GuardCondition(hooks.guards[name]) for name in transition.guards],
            before=[ActionCallback(hooks.actions[name]) for name in transition.actions],
            spec=transition,
            label=transition.label + ("（需理由）" if transition.reason_required else ""),
        )
    dress_machine(machine, spec)
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
        open_transition=TransitionSpec(
            trigger="open",
            label="受理登记",
            source=(spec.initial,),
            dest=spec.initial,
            roles=spec.open_roles,
        ),
        clock_starts={k: tuple(v) for k, v in starts.items()},
        clock_stops={k: tuple(v) for k, v in stops.items()},
        expiry_actions={name: _expiry_action(name, hook) for name, hook in hooks.actions.items()},
    )


def _expiry_action(name: str, hook: Hook) -> BoundTransition:
    """A registered action that a timer's expiry runs on its own: an internal transition (no
    state change) outside the event table, executed by transitions like any other."""
    return BoundTransition(
        "*",
        None,
        before=[ActionCallback(hook)],
        spec=TransitionSpec(
            trigger=name,
            label="期限届满自动执行",
            source=("*",),
            roles=(SYSTEM_ROLE,),
            actions=(name,),
        ),
        declared=False,
    )
