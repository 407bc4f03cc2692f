"""What waits for each person (工作台), the court's queue with its deadlines, and a case as its
page shows it. The pages call these; so may any route that wants the same view."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from api.authz import COURT_QUEUE_STATES, COURT_ROLES, Principal, visible_case
from api.routes.cases import summaries
from api.routes.common import case_public
from api.schemas import CaseSummary
from engine.records import EventRecord, TriggerOption
from engine.repository import Tx
from mediation import queries
from mediation.engine import MediationEngine
from mediation.vocabulary import Role

# What each role works on, by the state a case is in (the flows' states: workflows/*/v1.yaml).
WAITING_STATES: dict[str, tuple[str, ...]] = {
    Role.central_household: ("intake", "central_household", "agreement_drafted", "signing"),
    Role.mediator: (
        "intake",
        "mediation_room",
        "joint_mediation",
        "agreement_drafted",
        "signing",
        "agreement_in_effect",
        "jc_rejected",
    ),
    Role.judge: COURT_QUEUE_STATES,
    Role.court_clerk: ("jc_applied",),
}
FINAL_STATES = ("closed", "terminated", "withdrawn", "inadmissible")
VISITS_AHEAD = timedelta(days=7)
COURT_WARN_DAYS = 3  # a court deadline this close is shown as near


@dataclass(frozen=True, slots=True)
class Deadline:
    label: str
    due_at: datetime
    days_left: int  # negative: overdue by that many days

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def near(self) -> bool:
        """Close enough to be shown as near (COURT_WARN_DAYS), not yet overdue."""
        return 0 <= self.days_left < COURT_WARN_DAYS


@dataclass(frozen=True, slots=True)
class QueueItem:
    case: CaseSummary
    deadlines: tuple[Deadline, ...]

    @property
    def nearest(self) -> Deadline | None:
        return min(self.deadlines, key=lambda d: d.due_at, default=None)


@dataclass(frozen=True, slots=True)
class VisitDue:
    case_id: int
    number: str
    label: str
    due_at: datetime
    days_left: int


@dataclass
class Workbench:
    waiting: list[CaseSummary] = field(default_factory=list)
    overdue_count: int = 0
    visits: list[VisitDue] = field(default_factory=list)
    court: list[QueueItem] = field(default_factory=list)


def _days_left(due: datetime, now: datetime) -> int:
    seconds = (due - now).total_seconds()
    return int(seconds // 86400)


def _scoped(tx: Tx, principal: Principal, filters: queries.CaseFilters) -> list[queries.CaseRow]:
    return queries.list_cases(tx, principal.actor, filters, before_id=None, limit=100)


def deadlines(tx: Tx, case_id: int, state: str, now: datetime) -> tuple[Deadline, ...]:
    """The pending deadline of the case's state and the running clocks, soonest first."""
    found = []
    for timer in tx.running_deadlines(case_id):
        if timer.kind == "state_deadline" and timer.name != state:
            continue
        label = _DEADLINE_LABELS.get(timer.name, timer.name)
        found.append(Deadline(label, timer.due_at, _days_left(timer.due_at, now)))
    return tuple(found)


_DEADLINE_LABELS = {
    "jc_applied": "受理审查（3日）",
    "jc_reviewing": "审查（15日，可延长10日）",
    "jc_hard_limit": "最长期限（30日）",
    "mediation_limit": "调解期限（一个月）",
    "central_household": "中心户调解期限",
    "agreement_in_effect": "司法确认申请期限",
}


def court_queue(engine: MediationEngine, principal: Principal) -> list[QueueItem]:
    """Applications addressed to the principal's courts, the nearest deadline first."""
    now = engine.clock.now()
    filters = queries.CaseFilters(states=COURT_QUEUE_STATES, court_ids=principal.actor.unit_ids)
    with engine.db.transaction(write=False) as tx:
        rows = _scoped(tx, principal, filters)
        names = queries.party_names(tx, [r.id for r in rows])
        found = {r.id: deadlines(tx, r.id, r.state, now) for r in rows}
    items = [QueueItem(s, found[s.id]) for s in summaries(engine, rows, names)]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(items, key=lambda i: i.nearest.due_at if i.nearest else far)


def _visits(tx: Tx, principal: Principal, now: datetime) -> list[VisitDue]:
    visits = []
    for due in queries.followups_due(tx, principal.actor, now + VISITS_AHEAD, limit=50):
        label = str(due.payload.get("label", "回访"))
        visits.append(
            VisitDue(due.case_id, due.number, label, due.due_at, _days_left(due.due_at, now))
        )
    return visits


def workbench(engine: MediationEngine, principal: Principal) -> Workbench:
    """What waits for this person: overdue first, then the oldest in its state."""
    now = engine.clock.now()
    states = tuple(dict.fromkeys(s for r in principal.roles for s in WAITING_STATES.get(r, ())))
    bench = Workbench()
    with engine.db.transaction(write=False) as tx:
        rows: list[queries.CaseRow] = []
        if states:
            rows = _scoped(tx, principal, queries.CaseFilters(states=states))
        if principal.has_any({Role.supervisor, Role.admin}):
            rows += _scoped(tx, principal, queries.CaseFilters(overdue=True))
        if principal.has_any({Role.lawyer, Role.prosecutor, Role.police}):
            mine = queries.CaseFilters(assignee_id=principal.user_id)
            rows += [r for r in _scoped(tx, principal, mine) if r.state not in FINAL_STATES]
        unique = list({r.id: r for r in rows}.values())
        unique.sort(key=lambda r: (not r.overdue, r.state_entered_at))
        names = queries.party_names(tx, [r.id for r in unique])
        if principal.has_any({Role.central_household, Role.mediator}):
            bench.visits = _visits(tx, principal, now)
    bench.waiting = summaries(engine, unique, names)
    bench.overdue_count = sum(1 for s in bench.waiting if s.overdue)
    if principal.has_any(COURT_ROLES):
        bench.court = court_queue(engine, principal)
    return bench


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """Everything the case page shows besides the case itself."""

    case: Any  # CasePublic
    parties: list[queries.PartyRow]
    sessions: list[queries.SessionRow]
    assignments: list[queries.AssignmentRow]
    events: list[EventRecord]
    actions: list[TriggerOption]
    deadlines: tuple[Deadline, ...]
    units: dict[int, str]


def case_facts(engine: MediationEngine, principal: Principal, case_id: int) -> CaseFacts:
    """The case as its page shows it; out of scope raises CaseNotFound like a missing one."""
    now = engine.clock.now()
    with engine.db.transaction(write=False) as tx:
        record = visible_case(tx, case_id, principal)
        extra = queries.case_extra(tx, case_id)
        assert extra is not None  # the case exists
        public = case_public(engine.registry, record, extra)
        parties = queries.parties(tx, case_id)
        sessions = queries.sessions(tx, case_id)
        assignments = queries.assignments(tx, case_id)
        events = tx.events(case_id)
        found = deadlines(tx, case_id, record.state, now)
        unit_ids = {
            u
            for u in (record.org_unit_id, record.committee_id, record.grid_id, record.court_id)
            if u is not None
        }
        units = {u: row.name for u in unit_ids if (row := queries.org_unit(tx, u)) is not None}
    actions = engine.available_triggers(case_id, principal.actor)
    return CaseFacts(public, parties, sessions, assignments, events, actions, found, units)
