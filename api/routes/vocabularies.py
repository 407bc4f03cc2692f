"""Vocabularies: the codes an action or an intake may take, with their Chinese labels."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import CurrentPrincipal, EngineDep
from api.errors import problem_responses
from mediation.spec import mediation_spec

router = APIRouter(prefix="/vocabularies", tags=["词表"])


class VocabularyOptionPublic(BaseModel):
    code: str
    label: str
    flags: list[str] = []


class VocabularyPublic(BaseModel):
    name: str
    label: str
    source: str  # "file": workflows/vocabularies/<name>.yaml; "code"; "database"; "flow:<id>"
    options: list[VocabularyOptionPublic]


@router.get("", response_model=list[VocabularyPublic], responses=problem_responses(401))
def list_vocabularies(engine: EngineDep, principal: CurrentPrincipal) -> list[VocabularyPublic]:
    """Every vocabulary: the data files, those the code declares (roles, levels, origins),
    the dispute categories and each flow's risk scale."""
    del principal  # any signed-in user: these are labels, not cases
    declared = engine.registry.hooks.declarations  # roles, levels, origins: in code
    found = [
        VocabularyPublic(
            name=v.name,
            label=v.label,
            source="code" if v is declared.get(v.name) else "file",
            options=[VocabularyOptionPublic(code=o.code, label=o.label) for o in v.options],
        )
        for v in engine.registry.vocabularies.values()
    ]
    with engine.db.transaction(write=False) as tx:
        categories = tx.categories()
    found.append(
        VocabularyPublic(
            name="categories",
            label="纠纷类型",
            source="database",
            options=[
                VocabularyOptionPublic(
                    code=c.code,
                    label=c.name,
                    flags=[
                        flag
                        for flag, on in (
                            ("excluded_from_confirmation", c.excluded_from_confirmation),
                            ("excluded_from_esign", c.excluded_from_esign),
                        )
                        if on
                    ],
                )
                for c in categories
            ],
        )
    )
    for compiled in engine.registry.all():
        spec = compiled.spec
        found.append(
            VocabularyPublic(
                name=f"risk_levels:{spec.id}@{spec.version}",
                label=f"风险等级（{spec.title} v{spec.version}）",
                source=f"flow:{spec.id}",
                options=[
                    VocabularyOptionPublic(
                        code=r.code,
                        label=r.label,
                        flags=["report_to_police"] if r.report_to_police else [],
                    )
                    for r in mediation_spec(spec).risk_levels
                ],
            )
        )
    return found
