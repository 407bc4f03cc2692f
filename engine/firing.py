"""The Engine's fire path: load → scope → role → declared fields → guards → actions (these two
run by the spec's transitions machine, engine/machine.py) → versioned update → hash-chained
audit event → timers, in one transaction. Case start (engine/starting.py)
and the Engine itself (engine/runtime.py) build on it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from engine import access
from engine.audit import event_hash_of_text
from engine.calendar import month_period_days
from engine.checks import did_you_mean
from engine.errors import (
    CaseNotFound,
    ConcurrentUpdate,
    PayloadInvalid,
    ReasonRequired,
    ServiceStepRefused,
    TransitionNotAllowed,
)
from engine.fields import check_payload
from engine.hooks import TransitionContext
from engine.machine import BoundTransition, CompiledSpec
from engine.models.columns import dumps
from engine.ports import Clock, DeadlineCalendar, PiiProtector
from engine.records import Actor, CaseRecord, EventRecord, FireResult
from engine.registry import Registry
from engine.repository import Database, Tx
from engine.spec import SYSTEM_ROLE, ClockSpec, DeadlineSpec, TransitionSpec

Within = Callable[[Tx, FireResult], None]
# Told of every case a fire or an opening changed, inside its transaction (the host's
# derived records: mediation keeps its statistics facts so).
CaseObserver = Callable[[Tx, int, "CaseChange | None"], None]


@dataclass(frozen=True, slots=True)
class CaseChange:
    """What a fire did, for the observers: the case as it was loaded, the transition, the
    state it entered and the columns its actions wrote. None for a case just opened."""

    case: CaseRecord
    transition: TransitionSpec
    dest: str
    changes: Mapping[str, Any]


OPEN_TRIGGER = "open"


@lru_cache(maxsize=1024)  # an actor's roles are the same frozenset fire after fire
def _sorted_roles(roles: frozenset[str]) -> tuple[tuple[str, ...], str]:
    """The roles as an event records them: sorted, and joined with commas."""
    names = tuple(sorted(str(r) for r in roles))
    return names, ",".join(names)


class FirePath:
    """What every Engine operation stands on: its collaborators, loading a case within the
    actor's scope, and firing one transition."""

    # what guards and actions receive; a host extends it with its domain's records
    context_class: type[TransitionContext] = TransitionContext

    def __init__(
        self,
        database: Database,
        registry: Registry,
        *,
        clock: Clock,
        calendar: DeadlineCalendar,
        pii: PiiProtector,
        open_services: frozenset[str] = frozenset(),
        observers: Sequence[CaseObserver] = (),
    ) -> None:
        """`open_services`: services the deployment runs without, whose steps the generic
        door may then fire (a deployment that truly keeps no PDFs)."""
        self.db = database
        self.open_services = open_services
        self.registry = registry
        self.clock = clock
        self.calendar = calendar
        self.pii = pii
        self.observers = tuple(observers)

    def _load_visible(
        self, tx: Tx, case_id: int, actor: Actor, *, lock: bool = False
    ) -> CaseRecord:
        case = tx.load_case(case_id, for_update=lock)
        if case is None:
            raise CaseNotFound(case_id)
        if actor.user_id is not None:
            user_id = actor.user_id
            access.require_scope(actor, case, lambda: tx.is_assigned(case_id, user_id))
        else:
            access.require_scope(actor, case, lambda: False)
        return case

    # --- firing --------------------------------------------------------------------------

    def fire(
        self,
        case_id: int,
        trigger: str,
        actor: Actor,
        expected_version: int,
        payload: Mapping[str, Any] | None = None,
        reason: str | None = None,
        *,
        within: Within | None = None,
        performed_by: str | None = None,
    ) -> FireResult:
        """Move a case along one transition, or change nothing and say why.

        Args:
            case_id: the case.
            trigger: the transition's trigger name.
            actor: who acts, with roles and scope.
            expected_version: the version the actor last saw (optimistic concurrency).
            payload: the transition's input (party, terms, visit record...).
            reason: free text; required where the spec says so.
            within: as for `open_case`.
            performed_by: the host service firing a step that belongs to it (documents,
                court); None for the generic door, which such steps refuse.

        Returns:
            The new state and version, and the new chain head.

        Raises:
            CaseNotFound, OutOfScope, ConcurrentUpdate, TransitionNotAllowed,
            RoleNotPermitted, ServiceStepRefused, ReasonRequired, PayloadInvalid,
            GuardRejected, InvalidInput.
        """
        payload = dict(payload or {})
        reason = reason.strip() if reason else None
        now = self.clock.now()
        with self.db.transaction(write=True) as tx:
            case = self._load_visible(tx, case_id, actor, lock=True)
            if case.version != expected_version:
                raise ConcurrentUpdate(case_id, expected_version, case.version)
            compiled = self.registry.get(case.spec_id, case.spec_version)
            bound = compiled.transition(case.state, trigger)
            if bound is None:
                available = sorted(compiled.triggers(case.state))
                raise TransitionNotAllowed(
                    trigger,
                    compiled.states[case.state].label,
                    available,
                    did_you_mean(trigger, available),
                )
            service = bound.spec.service
            if service not in (None, performed_by, *self.open_services):
                assert service is not None
                labels = self.registry.requirements.service_labels
                raise ServiceStepRefused(trigger, service, bound.spec.label, labels.get(service))
            result = self.apply(tx, case, compiled, bound, actor, payload, reason, now)
            if within is not None:
                within(tx, result)
            return result

    def apply(
        self,
        tx: Tx,
        case: CaseRecord,
        compiled: CompiledSpec,
        bound: BoundTransition,
        actor: Actor,
        payload: Mapping[str, Any],
        reason: str | None,
        now: datetime,
    ) -> FireResult:
        """The checks and writes of one transition on a case already loaded and locked in `tx`.

        `fire` and the timer tick share it, so a timer's effect and the completion of its row
        commit together.
        """
        trigger = bound.spec.trigger
        case_id = case.id
        access.require_role(actor, bound.spec, compiled.spec)
        if bound.spec.reason_required and not reason:
            raise ReasonRequired(trigger)
        ctx = self._context(tx, case, actor, payload, reason, now, compiled, bound)
        if bound.declared:  # the tick's expiry actions declare nothing
            ctx.values = self.check_payload(ctx, actor, payload)
        dest = compiled.execute(bound, ctx)  # guards, then actions, then the state: transitions
        changes = ctx.changes
        state_changed = dest != case.state
        if state_changed:
            dest_level = compiled.states[dest].level
            if dest_level is not None and "level" not in changes:
                changes["level"] = dest_level
            changes.setdefault("state_sessions", 0)
        version = case.version + 1
        seq = case.audit_seq + 1
        event, payload_text = self._stamped_event(
            case_id,
            seq,
            case.audit_head,
            now,
            actor,
            trigger,
            case.state,
            dest,
            version,
            payload,
            reason,
        )
        if not tx.record_transition(
            case_id,
            case.version,
            state=dest,
            now=now,
            state_changed=state_changed,
            changes=changes,
            event=event,
            payload_text=payload_text,
        ):
            current = tx.load_case(case_id)
            raise ConcurrentUpdate(case_id, case.version, current.version if current else None)
        if state_changed:
            self._enter_state(tx, compiled, case, case.state, dest, now)
        # R-STATS and the like, same transaction: the observers see what this fire moved
        self._observe(tx, case_id, CaseChange(case, bound.spec, dest, changes))
        return FireResult(
            case_id, trigger, case.state, dest, version, event.hash, case.spec_id, case.spec_version
        )

    def _observe(self, tx: Tx, case_id: int, change: CaseChange | None) -> None:
        for observer in self.observers:
            observer(tx, case_id, change)

    def check_payload(
        self, ctx: TransitionContext, actor: Actor, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The payload's typed values, or PayloadInvalid naming every bad field.

        The timer tick (the system actor) fires with the engine's own bookkeeping (timer id,
        due time, period) beside what the transition declares; only its declared keys are
        checked, and it is not held to `required`.
        """
        transition = ctx.transition
        if not transition.fields and not payload:
            return {}
        people = SYSTEM_ROLE not in actor.roles
        if not people:
            payload = {k: v for k, v in payload.items() if transition.field(k) is not None}
        values, errors = check_payload(
            transition.fields,
            payload,
            lambda field: self.registry.options(ctx, field),
            where=transition.label,
            people=people,
            refusal=lambda field, raw: self.registry.refusal(ctx, field, raw),
            rules=self.registry.hooks.reference_rules,
        )
        if errors:
            raise PayloadInvalid(
                transition.trigger,
                [{"field": e.field, "message": e.message, "type": e.type} for e in errors],
            )
        return values

    def _context(
        self,
        tx: Tx,
        case: CaseRecord,
        actor: Actor,
        payload: Mapping[str, Any],
        reason: str | None,
        now: datetime,
        compiled: CompiledSpec,
        bound: BoundTransition,
    ) -> TransitionContext:
        return self.context_class(
            tx=tx,
            case=case,
            actor=actor,
            payload=payload,
            reason=reason,
            now=now,
            spec=compiled.spec,
            transition=bound.spec,
            calendar=self.calendar,
            vocabularies=self._labels,
        )

    @property
    def _labels(self) -> dict[str, dict[str, str]]:
        labels = self.__dict__.get("_vocabulary_labels")
        if labels is None:
            labels = self.__dict__["_vocabulary_labels"] = self.registry.labels()
        return labels

    def _stamped_event(
        self,
        case_id: int,
        seq: int,
        prev_hash: str,
        at: datetime,
        actor: Actor,
        trigger: str,
        source: str | None,
        dest: str,
        version: int,
        payload: Mapping[str, Any],
        reason: str | None,
    ) -> tuple[EventRecord, str]:
        """The event and its payload's canonical text: encoded once, hashed and stored."""
        roles, joined_roles = _sorted_roles(actor.roles)
        payload = dict(payload)
        payload_text = dumps(payload)
        digest = event_hash_of_text(
            prev_hash=prev_hash,
            case_id=case_id,
            seq=seq,
            at=at,
            actor_id=actor.user_id,
            actor_name=actor.name,
            actor_roles=joined_roles,
            trigger=trigger,
            source_state=source,
            dest_state=dest,
            version=version,
            payload_text=payload_text,
            reason=reason,
        )
        event = EventRecord(
            seq,
            at,
            actor.user_id,
            actor.name,
            roles,
            trigger,
            source,
            dest,
            version,
            payload,
            reason,
            prev_hash,
            digest,
        )
        return event, payload_text

    def _enter_state(
        self,
        tx: Tx,
        compiled: CompiledSpec,
        case: CaseRecord,
        source: str | None,
        dest: str,
        now: datetime,
    ) -> None:
        """Timers follow states: leaving cancels the old deadline, entering starts the new;
        a final state cancels everything still pending (visits, reminders, clocks)."""
        if compiled.states[dest].final:
            tx.cancel_all_timers(case.id)
            return
        if source is not None and compiled.states[source].deadline is not None:
            tx.cancel_timers(case.id, "state_deadline", source)
            tx.cancel_timers(case.id, "reminder", source)
        deadline = compiled.states[dest].deadline
        if deadline is not None:
            self._start_period(
                tx, case.id, "state_deadline", dest, deadline, deadline.on_expiry, now
            )
        for clock_name in compiled.clock_stops.get(dest, ()):
            tx.cancel_timers(case.id, "clock", clock_name)
            tx.cancel_timers(case.id, "reminder", clock_name)
        for clock_name in compiled.clock_starts.get(dest, ()):
            if tx.pending_timers(case.id, "clock", clock_name):
                continue
            clock = next(c for c in compiled.spec.clocks if c.name == clock_name)
            self._start_period(tx, case.id, "clock", clock_name, clock, clock.on_expiry, now)

    def _start_period(
        self,
        tx: Tx,
        case_id: int,
        kind: str,
        name: str,
        period: DeadlineSpec | ClockSpec,
        on_expiry: str,
        now: datetime,
    ) -> None:
        days = period.days
        if isinstance(period, ClockSpec) and period.months:
            days = month_period_days(now, period.months)
        due = self.calendar.add_days(now, days, working_days=period.working_days)
        tx.insert_timer(
            case_id=case_id,
            kind=kind,
            name=name,
            due_at=due.due_at,
            on_expiry=on_expiry,
            provisional=due.provisional,
            working_days=period.working_days,
            days=days,
            now=now,
        )
        if period.reminder is not None:
            tx.insert_timer(
                case_id=case_id,
                kind="reminder",
                name=name,
                due_at=due.due_at - timedelta(days=period.reminder.days_before),
                on_expiry=period.reminder.action,
                provisional=due.provisional,
                working_days=period.working_days,
                days=days,
                now=now,
                payload={
                    "closes_at": due.due_at.isoformat(),
                    "period": name,
                    "days_before": period.reminder.days_before,
                },
            )
