"""Registering a dispute from a form: what may be picked (committees, grids, categories, risk
levels, origins), the address → grid suggestion (the API's own grid match), the as-you-type
checks of ID and phone numbers (the server's own rules, mediation/validation.py), and opening
the case through the engine."""

from __future__ import annotations

from dataclasses import dataclass

from api.authz import Principal
from api.routes.org_units import GridMatchRequest, grid_match
from engine.records import FireResult
from mediation import queries
from mediation.engine import MediationEngine
from mediation.intake import APPLICATION_FORM_LABELS, ORIGIN_LABELS, PARTY_ROLE_LABELS, CaseIntake
from mediation.spec import mediation_spec
from mediation.validation import ValidationFailure, normalise_phone, parse_resident_id


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class IntakeOptions:
    committees: list[Choice]
    grids: list[Choice]
    categories: list[Choice]
    risk_levels: list[Choice]
    origins: list[Choice]
    application_forms: list[Choice]  # R-APPLY: when a party applied, written or oral
    party_roles: list[Choice]


def _near(paths: list[str], unit_path: str) -> bool:
    """Whether a unit lies within one of `paths` (the person's units and the units one level
    above them: a grid's community, a committee's community or street)."""
    return any(unit_path.startswith(p) for p in paths)


def intake_options(
    engine: MediationEngine, principal: Principal, spec_id: str = "standard"
) -> IntakeOptions:
    spec = engine.registry.latest(spec_id).spec
    with engine.db.transaction(write=False) as tx:
        own = [u for m in principal.memberships if (u := queries.org_unit(tx, m.org_unit_id))]
        parents = [p for u in own if u.parent_id and (p := queries.org_unit(tx, u.parent_id))]
        paths = [u.path for u in own + parents]
        everything = principal.actor.all_units

        def units(kind: str) -> list[Choice]:
            return [
                Choice(str(u.id), u.name)
                for u in queries.org_units(tx, kind=kind)
                if everything or _near(paths, u.path)
            ]

        committees = units("committee")
        categories = [Choice(c.code, c.name) for c in tx.active_categories()]
    allowed = set(mediation_spec(spec).origins) or {str(o) for o in ORIGIN_LABELS}
    found = grid_match(GridMatchRequest(address="-"), engine, principal)
    return IntakeOptions(
        committees=committees,
        grids=[Choice(str(g.id), g.name) for g in found.choices],
        categories=categories,
        risk_levels=[Choice(r.code, r.label) for r in mediation_spec(spec).risk_levels],
        origins=[Choice(str(o), label) for o, label in ORIGIN_LABELS.items() if str(o) in allowed],
        application_forms=[Choice(str(f), label) for f, label in APPLICATION_FORM_LABELS.items()],
        party_roles=[Choice(str(r), label) for r, label in PARTY_ROLE_LABELS.items()],
    )


def grid_for_address(engine: MediationEngine, principal: Principal, address: str) -> str | None:
    """The grid the household register puts an address in, among those the person may pick
    (the API's POST /org-units/grid-match), by name."""
    found = grid_match(GridMatchRequest(address=address.strip()[:200]), engine, principal)
    return found.matched.name if found.matched else None


def check_id_number(engine: MediationEngine, value: str) -> str | None:
    """R-ID as the server applies it: the problem in Chinese, or None when it is valid."""
    if not value.strip():
        return None
    try:
        parse_resident_id(value, today=engine.clock.now().date())
    except ValidationFailure as exc:
        return exc.message_zh
    return None


def check_phone(value: str) -> str | None:
    """R-PHONE as the server applies it."""
    if not value.strip():
        return None
    try:
        normalise_phone(value)
    except ValidationFailure as exc:
        return exc.message_zh
    return None


def register(engine: MediationEngine, principal: Principal, intake: CaseIntake) -> FireResult:
    """Open the case (受理登记) as the API's POST /cases does, without an Idempotency-Key: the
    form's one submission makes one case."""
    return engine.open_case(intake, principal.actor)
