"""Read-only snapshots of a mediation case's own records that guards, actions and the host
read: plain frozen dataclasses, as the engine's (engine/records.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from engine.records import CaseRecord

# The case row's columns through whose units an actor sees a case: its own unit, its
# committee, its grid, the court confirming it and the court that referred it. Read here for
# one case (unit_ids) and by mediation/queries.py's scope clause for lists: one declaration.
SCOPE_COLUMNS = ("org_unit_id", "committee_id", "grid_id", "court_id", "referring_court_id")
_SCOPE_UNITS = attrgetter(*SCOPE_COLUMNS)


@dataclass(frozen=True, slots=True)
class MediationCase(CaseRecord):
    """A mediation case as guards, actions and the host read it: the engine's columns and
    mediation's attributes (mediation/models/cases.py Case; the summary is read apart,
    mediation/queries.py CaseExtra)."""

    committee_id: int
    resolved_level: str | None
    category_code: str
    risk_level: str
    origin: str
    grid_id: int | None
    court_id: int | None
    referring_court_id: int | None
    agreement_effective_at: datetime | None

    def unit_ids(self) -> tuple[int | None, ...]:
        """Every org unit through which an actor can see this case: its own, its committee,
        its grid, the court confirming it and the court that referred it."""
        units: tuple[int | None, ...] = _SCOPE_UNITS(self)
        return units


@dataclass(frozen=True, slots=True)
class CasePartyRecord:
    id: int
    party_id: int
    name: str
    kind: str
    role: str
    consent: str
    consent_at: datetime | None
    notice_acknowledged_at: datetime | None
    address: str
    representative_name: str | None = None  # the legal representative acting for the party
    representative_relation: str | None = None


@dataclass(frozen=True, slots=True)
class CategoryRecord:
    code: str
    name: str
    excluded_from_confirmation: bool
    excluded_from_esign: bool


@dataclass(frozen=True, slots=True)
class VisitRecord:
    term_index: int | None
    visited_at: datetime
    performance: str
    satisfaction: str | None


@dataclass(frozen=True, slots=True)
class SignatureRecord:
    """A signature on the agreement: party, mediator or seal, electronic or on paper."""

    signer_kind: str
    party_id: int | None
    user_id: int | None
    method: str
    signed_at: datetime
    signer_name: str | None = None  # who signed for the party (a legal representative)
