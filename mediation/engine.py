"""The engine as mediation runs it: the generic Engine, the mediation case opening
(受理登记, mediation/opening.py) and the per-case statistics facts kept on every change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from engine.firing import CaseChange, CaseObserver
from engine.records import Actor
from engine.repository import Tx
from engine.runtime import Engine
from mediation import facts
from mediation.context import MediationContext
from mediation.numbering import DEFAULT_PATTERN
from mediation.opening import CaseOpening
from mediation.policy import Policy
from mediation.records import MediationCase
from mediation.repository import MediationDatabase


class MediationEngine(CaseOpening, Engine):
    """Construct once per process, as the Engine; it is thread-safe."""

    context_class = MediationContext

    if TYPE_CHECKING:  # its database's transactions load MediationCase records
        db: MediationDatabase

        def get_case(self, case_id: int, actor: Actor) -> MediationCase: ...

    def __init__(
        self,
        database: MediationDatabase,
        *args: Any,
        number_pattern: str = DEFAULT_PATTERN,
        policy: Policy | None = None,
        observers: Sequence[CaseObserver] = (),
        **kwargs: Any,
    ) -> None:
        """`database`: a MediationDatabase, whose transactions carry mediation's queries.
        `number_pattern`: how case numbers are written (R-NUMBER, mediation/numbering.py).
        `policy`: the deployment's follow-up visits (R-FOLLOWUP), given to every context."""
        if not isinstance(database, MediationDatabase):
            raise TypeError("MediationEngine runs on a MediationDatabase")
        super().__init__(database, *args, observers=(self._refresh_facts, *observers), **kwargs)
        self.number_pattern = number_pattern
        self.policy = policy or Policy()

    def _context(self, *args: Any, **kwargs: Any) -> MediationContext:
        context = MediationContext.of(super()._context(*args, **kwargs))
        context.policy = self.policy
        return context

    def _refresh_facts(self, tx: Tx, case_id: int, change: CaseChange | None) -> None:
        """R-STATS: the case's facts and the counts they add to, in the changing transaction:
        counted whole for a case just opened, else derived from what the fire moved."""
        if change is None:
            facts.refresh(tx, self.registry, self.calendar, case_id)
            return
        case = change.case
        assert isinstance(case, MediationCase)  # loaded by a MediationTx
        facts.after_fire(
            tx,
            self.registry,
            self.calendar,
            case,
            change.transition,
            change.dest,
            change.changes,
        )
