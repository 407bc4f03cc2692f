"""Volunteer lawyers (三官一律): the cases a lawyer is assigned to, with whether a 法律意见书 can
be given now, and the pro-bono hours each legal opinion logged (the `hours` of the
`give_legal_opinion` action, kept in the case's `legal_opinions`), totalled per lawyer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from api.authz import Principal, require_roles
from api.routes.cases import summaries
from api.schemas import CaseSummary
from mediation import queries
from mediation.engine import MediationEngine
from mediation.vocabulary import Role

OPINION_TRIGGER = "give_legal_opinion"
HOURS_ROLES = (Role.supervisor, Role.admin)


@dataclass(frozen=True, slots=True)
class Opinion:
    case_id: int
    number: str
    at: datetime
    hours: Decimal


@dataclass
class LawyerHours:
    user_id: int
    name: str
    opinions: list[Opinion] = field(default_factory=list)

    @property
    def hours(self) -> Decimal:
        return sum((o.hours for o in self.opinions), Decimal(0))


@dataclass(frozen=True, slots=True)
class AssignedCase:
    case: CaseSummary
    can_give_opinion: bool


def _opinions(cases: list[queries.AssignedCase]) -> dict[int, list[Opinion]]:
    """Each lawyer's opinions in these cases, oldest first."""
    found: dict[int, list[Opinion]] = {}
    once = {case.id: case for case in cases}  # a row per lawyer: read each case once
    for case in once.values():
        for entry in case.data.get("legal_opinions", []):
            by = entry.get("by")
            if not isinstance(by, int):
                continue
            at = datetime.fromisoformat(str(entry["at"]))
            hours = Decimal(str(entry.get("hours", 0)))
            found.setdefault(by, []).append(Opinion(case.id, case.number, at, hours))
    for opinions in found.values():
        opinions.sort(key=lambda o: o.at)
    return found


def my_cases(engine: MediationEngine, principal: Principal) -> list[AssignedCase]:
    """The cases this lawyer is assigned to now, those waiting for an opinion first."""
    require_roles(principal, (Role.lawyer,), "查看律师案件")
    filters = queries.CaseFilters(assignee_id=principal.user_id)
    with engine.db.transaction(write=False) as tx:
        rows = queries.list_cases(tx, principal.actor, filters, before_id=None, limit=100)
        names = queries.party_names(tx, [r.id for r in rows])
    found = []
    for summary in summaries(engine, rows, names):
        options = engine.available_triggers(summary.id, principal.actor)
        ready = any(o.trigger == OPINION_TRIGGER and o.allowed for o in options)
        found.append(AssignedCase(summary, ready))
    found.sort(key=lambda a: not a.can_give_opinion)
    return found


def my_hours(engine: MediationEngine, principal: Principal) -> LawyerHours:
    """This lawyer's opinions and hours, in every case they were ever assigned to."""
    require_roles(principal, (Role.lawyer,), "查看公益服务时长")
    with engine.db.transaction(write=False) as tx:
        cases = queries.assigned_cases(tx, Role.lawyer, user_id=principal.user_id)
    mine = LawyerHours(principal.user_id, principal.display_name)
    mine.opinions = _opinions(cases).get(principal.user_id, [])
    return mine


def hours_by_lawyer(engine: MediationEngine, principal: Principal) -> list[LawyerHours]:
    """Every lawyer's opinions and hours in the cases this supervisor may see, most first."""
    require_roles(principal, HOURS_ROLES, "查看律师公益服务时长")
    with engine.db.transaction(write=False) as tx:
        cases = queries.assigned_cases(tx, Role.lawyer, actor=principal.actor)
        by = _opinions(cases)
        people = {u: queries.user(tx, u) for u in {c.user_id for c in cases} | set(by)}
    lawyers = [
        LawyerHours(u, row.display_name if row else str(u), by.get(u, []))
        for u, row in people.items()
    ]
    return sorted(lawyers, key=lambda lawyer: (-lawyer.hours, lawyer.name))
