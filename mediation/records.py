"""Read-only snapshots of a mediation case's own records that guards, actions and the host
read: plain frozen dataclasses, as the engine's (engine/records.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
