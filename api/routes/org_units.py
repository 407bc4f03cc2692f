"""Org units: the directory of districts, streets, grids, committees, rooms and courts.

The directory is open to every logged-in user (a mediator picks the court an application
goes to, a supervisor filters by street); what is scoped is the cases, not the tree.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentPrincipal, EngineDep
from api.errors import problem_responses
from api.routes.common import AUTH_PROBLEMS, UnitId
from api.schemas import MAX_ID, OrgUnitPublic
from api.services import admin
from engine.errors import NotFound
from mediation import queries
from mediation.models.org import OrgKind

router = APIRouter(prefix="/org-units", tags=["组织"])


def public_unit(row: queries.OrgUnitRow) -> OrgUnitPublic:
    return OrgUnitPublic(
        id=row.id,
        kind=row.kind,
        name=row.name,
        short_name=row.short_name,
        parent_id=row.parent_id,
        path=row.path,
    )


@router.get("", response_model=list[OrgUnitPublic], responses=AUTH_PROBLEMS)
def list_org_units(
    engine: EngineDep,
    principal: CurrentPrincipal,
    kind: OrgKind | None = None,
    parent_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[OrgUnitPublic]:
    """List org units in tree order, optionally of one kind or under one parent."""
    del principal  # any logged-in user
    with engine.db.transaction(write=False) as tx:
        rows = queries.org_units(tx, kind=kind.value if kind else None, parent_id=parent_id)
    return [public_unit(r) for r in rows]


class GridMatchRequest(BaseModel):
    address: str = Field(min_length=1, max_length=200, description="当事人住址")


class GridMatch(BaseModel):
    """The grid the household register puts this address in, and the grids you may pick."""

    matched: OrgUnitPublic | None
    choices: list[OrgUnitPublic]


@router.post("/grid-match", response_model=GridMatch, responses=AUTH_PROBLEMS)
def grid_match(body: GridMatchRequest, engine: EngineDep, principal: CurrentPrincipal) -> GridMatch:
    """Which grid an address belongs to (a suggestion: the person picks the grid at intake).

    A POST, so that an address never sits in a URL or an access log."""
    actor = principal.actor
    suggested = engine.suggest_grid(body.address)
    with engine.db.transaction(write=False) as tx:
        grids = queries.org_units(tx, kind="grid", parent_id=None)
        committees = queries.org_units(tx, kind="committee", parent_id=None)
    # the areas the registrar's committees serve: each committee's parent unit
    served = [
        c.path.rstrip("/").rsplit("/", 1)[0] + "/"
        for c in committees
        if actor.all_units or c.id in actor.unit_ids
    ]
    choices = [
        public_unit(g)
        for g in grids
        if actor.all_units or g.id in actor.unit_ids or g.path.startswith(tuple(served))
    ]
    matched = next((g for g in choices if g.id == suggested), None)
    return GridMatch(matched=matched, choices=choices)


@router.get("/{unit_id}", response_model=OrgUnitPublic, responses=problem_responses(401, 404, 422))
def read_org_unit(unit_id: UnitId, engine: EngineDep, principal: CurrentPrincipal) -> OrgUnitPublic:
    """Read one org unit."""
    del principal
    with engine.db.transaction(write=False) as tx:
        row = queries.org_unit(tx, unit_id)
    if row is None:
        raise NotFound("组织", unit_id)
    return public_unit(row)


class OrgUnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="上级组织；空为区县")
    kind: OrgKind
    name: str = Field(min_length=1, max_length=100)
    short_name: str = Field(default="", max_length=20, description="简称（调委会用于案件编号）")


@router.post(
    "",
    status_code=201,
    response_model=OrgUnitPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def create_org_unit(
    body: OrgUnitCreate, engine: EngineDep, principal: CurrentPrincipal
) -> OrgUnitPublic:
    """Create an org unit under a parent, of a kind that belongs there (administrators only)."""
    row = admin.create_unit(
        engine,
        principal,
        parent_id=body.parent_id,
        kind=body.kind,
        name=body.name,
        short_name=body.short_name,
    )
    return public_unit(row)
