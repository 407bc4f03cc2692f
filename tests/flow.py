"""Helpers that drive a case the way a mediator would, reloading it between steps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.ports import FixedClock
from mediation.engine import MediationEngine
from mediation.records import MediationCase
from tests.world import World


class Driver:
    """Fires triggers on one case as named actors, always at the case's current version."""

    def __init__(
        self, engine: MediationEngine, world: World, clock: FixedClock, case_id: int
    ) -> None:
        self.engine = engine
        self.world = world
        self.clock = clock
        self.case_id = case_id

    @property
    def case(self) -> MediationCase:
        return self.engine.get_case(self.case_id, self.world.actors["supervisor"])

    def fire(
        self, actor: str, trigger: str, reason: str | None = None, **payload: Any
    ) -> MediationCase:
        version = self.case.version
        self.engine.fire(self.case_id, trigger, self.world.actors[actor], version, payload, reason)
        return self.case

    def wait(self, **delta: float) -> None:
        self.clock.set(self.clock.now() + timedelta(**delta))

    def party_ids(self) -> list[int]:
        with self.engine.db.transaction(write=False) as tx:
            return [p.party_id for p in tx.case_parties(self.case_id)]

    def consent_all(self, actor: str = "mediator") -> None:
        for party_id in self.party_ids():
            self.fire(
                actor,
                "record_consent",
                party_id=party_id,
                source="written",
                notice_acknowledged=True,
            )

    def terms(self) -> list[dict[str, Any]]:
        applicant, respondent = self.party_ids()[:2]
        return [
            {
                "obligor": respondent,
                "obligee": applicant,
                "content": "赔偿修缮费用人民币3000元",
                "amount": 3000,
                "method": "银行转账",
                "place": "枫源村村委会",
                "due_date": "2026-04-01",
            }
        ]

    def responsibilities(self) -> list[dict[str, Any]]:
        """PML Art. 29 (2): one responsibility for every party."""
        applicant, respondent = self.party_ids()[:2]
        return [
            {"party_id": respondent, "responsibility": "房屋滴水损坏院墙，承担主要责任"},
            {"party_id": applicant, "responsibility": "未及时告知，承担次要责任"},
        ]

    def draft(self, actor: str = "mediator") -> MediationCase:
        return self.fire(
            actor,
            "draft_agreement",
            facts="被申请人房屋滴水损坏申请人院墙",
            issues=["修缮费用的承担"],
            responsibilities=self.responsibilities(),
            terms=self.terms(),
        )

    def sign_all(self, mediator: str = "mediator") -> MediationCase:
        self.fire(mediator, "start_signing")
        for party_id in self.party_ids():
            self.fire(mediator, "sign_party", party_id=party_id, method="electronic")
        self.fire(mediator, "sign_mediator")
        return self.fire(mediator, "apply_seal")

    def apply_confirmation(self, actor: str = "mediator", **court: Any) -> MediationCase:
        """Both parties apply to the world's court for judicial confirmation (on flows where
        the application is the parties' act, each signs it first: R-JC-PACKAGE)."""
        court = court or {"court_id": self.world.units["court"]}
        if self.has_trigger("prepare_confirmation_application"):
            self.prepare_application(actor, **court)
            for party_id in self.party_ids():
                self.fire(actor, "sign_confirmation_application", party_id=party_id)
        return self.fire(actor, "apply_confirmation", applicants=self.party_ids(), **court)

    def prepare_application(self, actor: str = "mediator", **court: Any) -> MediationCase:
        court = court or {"court_id": self.world.units["court"]}
        return self.fire(
            actor, "prepare_confirmation_application", applicants=self.party_ids(), **court
        )

    def has_trigger(self, trigger: str) -> bool:
        case = self.case
        spec = self.engine.registry.get(case.spec_id, case.spec_version).spec
        return any(t.trigger == trigger for t in spec.transitions)

    def assign(self, user: str, role: str, *, consented: bool = True) -> MediationCase:
        return self.fire(
            "mediator",
            "assign",
            user_id=self.world.users[user],
            role=role,
            parties_consented=consented,
        )


def open_case(
    engine: MediationEngine,
    world: World,
    clock: FixedClock,
    actor: str = "mediator",
    **overrides: Any,
) -> Driver:
    result = engine.open_case(world.intake(**overrides), world.actors[actor])
    return Driver(engine, world, clock, result.case_id)
