"""Deployment choices the law leaves open for mediation, handed to MediationEngine by the
host (from settings) and read by the follow-up actions through MediationContext.policy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Policy:
    """Follow-up visits (R-FOLLOWUP): when the standard visits fall and when a due one is late.

    Attributes:
        followup_days: standard 回访 this many days after the agreement takes effect.
        visit_grace_days: a due visit not recorded within this many days is flagged overdue.
    """

    followup_days: tuple[int, ...] = (7, 30)
    visit_grace_days: int = 7
