"""Engine: open_case, available_triggers, fire, history — the only writer of case state.

The class is built in layers: the fire path (engine/firing.py), case opening on top of it
(engine/opening.py), and here what reads a case, its triggers, its history and its chain.

Every change runs in one transaction: load → scope → role → guards → actions → versioned
update → hash-chained audit event → timers → commit. Nothing outside the database happens
here; notifications go to the outbox and documents are rendered by the host after commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial

from engine import access
from engine.audit import ChainBreak, ChainHead, missing_cases, verify_chain
from engine.errors import CaseNotFound
from engine.fields import json_schema
from engine.opening import CaseOpening
from engine.records import Actor, CaseRecord, EventRecord, TriggerOption
from engine.spec import ROLE_LABELS, Role


class Engine(CaseOpening):
    """The mediation workflow engine. Construct once per process; it is thread-safe."""

    # --- reading -------------------------------------------------------------------------

    def get_case(self, case_id: int, actor: Actor) -> CaseRecord:
        """The case as the actor may see it.

        Raises:
            CaseNotFound, OutOfScope.
        """
        with self.db.transaction(write=False) as tx:
            return self._load_visible(tx, case_id, actor)

    def available_triggers(
        self, case_id: int, actor: Actor, *, describe: bool = False
    ) -> list[TriggerOption]:
        """What the actor may do now, and for every other way out of the state, why not.

        With `describe`, each carries its declared fields as JSON Schema, choices and
        references listing the options this actor may pick now (what fire will accept).
        """
        with self.db.transaction(write=False) as tx:
            case = self._load_visible(tx, case_id, actor)
            compiled = self.registry.get(case.spec_id, case.spec_version)
            now = self.clock.now()
            options: list[TriggerOption] = []
            for trigger in compiled.triggers(case.state):
                bound = compiled.transition(case.state, trigger)
                assert bound is not None  # the machine listed it from this state
                reasons: list[str] = []
                if not access.role_allows(actor, bound.spec):
                    labels = "、".join(ROLE_LABELS[Role(r)] for r in bound.spec.roles)
                    reasons.append(f"需要以下角色之一：{labels}")
                ctx = self._context(tx, case, actor, {}, None, now, compiled, bound)
                reasons += compiled.refusals(bound, ctx)  # every guard, as the machine checks it
                dest = compiled.states[bound.spec.dest or case.state]
                schema = None
                if describe:
                    offer = None
                    if access.role_allows(actor, bound.spec):
                        offer = partial(self.registry.options, ctx)
                    schema = json_schema(bound.spec.fields, offer)
                options.append(
                    TriggerOption(
                        trigger=trigger,
                        label=bound.spec.label,
                        dest=dest.name,
                        dest_label=dest.label,
                        allowed=not reasons,
                        reason_required=bound.spec.reason_required,
                        blocked_reasons=tuple(reasons),
                        service=bound.spec.service,
                        schema=schema,
                    )
                )
            return options

    def history(self, case_id: int, actor: Actor) -> list[EventRecord]:
        """The case's audit events, oldest first."""
        with self.db.transaction(write=False) as tx:
            self._load_visible(tx, case_id, actor)
            return tx.events(case_id)

    # --- audit ---------------------------------------------------------------------------

    def verify_audit(
        self,
        case_ids: Iterable[int] | None = None,
        *,
        covered: Mapping[int, ChainHead] | None = None,
    ) -> list[ChainBreak]:
        """Recompute every (or the given) case's hash chain, check the case row is what its
        last event produced, and that every head a signed checkpoint recorded (`covered`,
        by case id) is still there; returns the breaks found."""
        covered = covered or {}
        breaks: list[ChainBreak] = []
        with self.db.transaction(write=False) as tx:
            present = tx.case_ids()
            if case_ids is None:
                ids = present
                breaks.extend(missing_cases(present, covered))
            else:
                ids = list(case_ids)
            for case_id in ids:
                bound = tx.chain_binding(case_id)
                if bound is None:
                    if case_id in covered:
                        breaks.extend(missing_cases([], {case_id: covered[case_id]}))
                        continue
                    raise CaseNotFound(case_id)
                found = verify_chain(
                    case_id,
                    tx.events(case_id),
                    bound.head,
                    bound=bound,
                    covered=covered.get(case_id),
                )
                if found is not None:
                    breaks.append(found)
        return sorted(breaks, key=lambda b: (b.case_id, b.seq))

    def chain_heads(self) -> list[ChainHead]:
        """Every case's chain head (from its last event), in case order: what a checkpoint
        signs."""
        with self.db.transaction(write=False) as tx:
            return tx.chain_heads()
