"""Workflows: the loaded specs, each as JSON and as an SVG graph (Graphviz `dot`)."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from api.deps import CurrentPrincipal, EngineDep
from api.errors import problem_responses
from api.routes.common import AUTH_PROBLEMS, CaseId
from api.schemas import WorkflowSummary
from api.services.graphs import case_graph_svg, render_svg
from engine.errors import DefinitionError, NotFound
from engine.graph import to_dot
from engine.machine import CompiledSpec
from mediation.engine import MediationEngine

router = APIRouter(prefix="/workflows", tags=["流程"])

SpecId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Version = Annotated[int, Path(ge=1, le=10_000)]
_PROBLEMS = problem_responses(401, 404, 422)
_svg_cache: dict[tuple[str, int], bytes] = {}  # specs are immutable once published
_svg_lock = threading.Lock()


def _compiled(engine: MediationEngine, spec_id: str, version: int) -> CompiledSpec:
    try:
        return engine.registry.get(spec_id, version)
    except DefinitionError as exc:
        raise NotFound("流程", f"{spec_id} v{version}") from exc


@router.get("", response_model=list[WorkflowSummary], responses=AUTH_PROBLEMS)
def list_workflows(engine: EngineDep, principal: CurrentPrincipal) -> list[WorkflowSummary]:
    """Every loaded workflow version."""
    del principal
    return [
        WorkflowSummary(
            id=c.spec.id,
            version=c.spec.version,
            title=c.spec.title,
            initial=c.spec.initial,
            states=len(c.spec.states),
            transitions=len(c.spec.transitions),
        )
        for c in engine.registry.all()
    ]


@router.get("/{spec_id}/{version}", responses=_PROBLEMS)
def read_workflow(
    spec_id: SpecId, version: Version, engine: EngineDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """One workflow version's definition as JSON."""
    del principal
    return _compiled(engine, spec_id, version).spec.definition()


@router.get(
    "/{spec_id}/{version}/graph.svg",
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}},
        **problem_responses(401, 404, 422, 503),
    },
)
def workflow_graph(
    spec_id: SpecId, version: Version, engine: EngineDep, principal: CurrentPrincipal
) -> Response:
    """One workflow version drawn as an SVG graph."""
    del principal
    compiled = _compiled(engine, spec_id, version)
    key = (spec_id, version)
    svg = _svg_cache.get(key)
    if svg is None:
        svg = render_svg(to_dot(compiled))
        with _svg_lock:
            _svg_cache[key] = svg
    return Response(svg, media_type="image/svg+xml")


case_router = APIRouter(prefix="/cases", tags=["案件"])


@case_router.get(
    "/{case_id}/graph.svg",
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}},
        **problem_responses(401, 404, 422, 503),
    },
)
def case_graph(case_id: CaseId, engine: EngineDep, principal: CurrentPrincipal) -> Response:
    """The case's flow drawn with its current state and the path it took highlighted."""
    return Response(case_graph_svg(engine, case_id, principal.actor), media_type="image/svg+xml")
