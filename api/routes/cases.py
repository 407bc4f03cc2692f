"""Cases: intake with parties, search, read (ETag = version), available actions, firing an
action (If-Match or expected_version), and the audit history."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Route

from api.authz import Principal, check_registration, require_visible
from api.deps import (
    CurrentPrincipal,
    EngineDep,
    IdempotencyKey,
    IfMatch,
    Services,
    ServicesDep,
    bearer_token,
    current_principal,
)
from api.errors import VersionRequired, problem_responses
from api.idempotency import Claim, Responder, StoredReply, fingerprint, run_once
from api.routes.common import (
    AUTH_PROBLEMS,
    CASE_READ_PROBLEMS,
    CaseId,
    case_public,
    decode_cursor,
    encode_cursor,
    etag,
    fired_fields,
    parse_etag,
    state_label,
)
from api.schemas import (
    MAX_ID,
    CaseCreate,
    CasePage,
    CasePublic,
    CaseSummary,
    EventPublic,
    FireRequest,
    FireResponse,
)
from api.services.actions import ActionOption, describe_actions, with_route
from engine.errors import DefinitionError, InvalidInput, ServiceStepRefused
from engine.records import Actor, FireResult
from engine.repository import Tx
from mediation import queries
from mediation.engine import MediationEngine
from mediation.intake import CaseIntake
from mediation.queries import CaseExtra
from mediation.records import MediationCase
from mediation.repository import MediationTx
from mediation.vocabulary import Level

router = APIRouter(prefix="/cases", tags=["案件"])

_ETAG_HEADER = {"ETag": {"description": "案件版本，用于 If-Match", "schema": {"type": "string"}}}


def _visible_public(
    engine: MediationEngine,
    case_id: int,
    principal: Principal,
    found: tuple[MediationCase, CaseExtra] | None,
    tx: Tx | None = None,
) -> CasePublic:
    """The case as the API shows it, if the principal may see it; `tx`: the transaction
    to ask about assignments in (a new one without)."""

    def is_assigned() -> bool:
        if tx is not None:
            return tx.is_assigned(case_id, principal.user_id)
        with engine.db.transaction(write=False, snapshot=False) as own:
            return own.is_assigned(case_id, principal.user_id)

    case = require_visible(found[0] if found else None, case_id, principal, is_assigned)
    assert found is not None  # require_visible raised otherwise
    return case_public(engine.registry, case, found[1])


def _intake(body: CaseCreate, engine: MediationEngine) -> CaseIntake:
    try:
        engine.registry.latest(body.spec_id)
    except DefinitionError as exc:
        raise InvalidInput(f"未知流程“{body.spec_id}”", field="spec_id") from exc
    if body.spec_version is not None:
        try:
            engine.registry.get(body.spec_id, body.spec_version)
        except DefinitionError as exc:
            raise InvalidInput(
                f"流程“{body.spec_id}”没有版本 {body.spec_version}", field="spec_version"
            ) from exc
    try:
        return CaseIntake.model_validate(body.model_dump())
    except ValidationError as exc:  # the engine's rules beyond the API schema's
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from exc


@router.post(
    "",
    status_code=201,
    response_model=CasePublic,
    responses={
        201: {"headers": _ETAG_HEADER},
        **problem_responses(401, 403, 404, 409, 422),
    },
)
def create_case(
    body: CaseCreate,
    services: ServicesDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register a dispute (受理登记) with its parties and open it in its workflow."""
    engine = services.engine
    check_registration(principal, body.referring_court_id)
    intake = _intake(body, engine)

    def created(tx: Tx, result: FireResult) -> StoredReply:
        assert isinstance(tx, MediationTx)  # the engine runs on a MediationDatabase
        found = queries.case_with_extra(tx, result.case_id)
        case = _visible_public(engine, result.case_id, principal, found, tx)
        headers = {"ETag": etag(case.version), "Location": f"/api/v1/cases/{case.id}"}
        return StoredReply(201, case.model_dump(mode="json"), headers)

    def work(claim: Claim | None) -> StoredReply:
        respond = Responder(claim, created)
        engine.open_case(intake, principal.actor, within=respond)
        return respond.response()

    return run_once(
        engine,
        user_id=principal.user_id,
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", "/cases", body.model_dump_json()),
        keep=timedelta(hours=services.settings.idempotency_hours),
        work=work,
        atomic=True,
    )


def summaries(
    engine: MediationEngine, rows: list[queries.CaseRow], names: dict[int, list[str]]
) -> list[CaseSummary]:
    return [
        CaseSummary(
            id=r.id,
            number=r.number,
            spec_id=r.spec_id,
            state=r.state,
            state_label=state_label(engine.registry, r.spec_id, r.spec_version, r.state),
            level=r.level,
            category_code=r.category_code,
            risk_level=r.risk_level,
            origin=r.origin,
            summary=r.summary,
            org_unit_id=r.org_unit_id,
            committee_id=r.committee_id,
            court_id=r.court_id,
            overdue=r.overdue,
            version=r.version,
            created_at=r.created_at,
            state_entered_at=r.state_entered_at,
            parties=names.get(r.id, []),
        )
        for r in rows
    ]


def case_page(
    engine: MediationEngine,
    actor: Actor,
    filters: queries.CaseFilters,
    cursor: str | None,
    limit: int,
) -> CasePage:
    before = decode_cursor(cursor)
    with engine.db.transaction(write=False) as tx:
        rows = queries.list_cases(tx, actor, filters, before_id=before, limit=limit)
        names = queries.party_names(tx, [r.id for r in rows])
    next_cursor = encode_cursor(rows[-1].id) if len(rows) == limit else None
    return CasePage(items=summaries(engine, rows, names), next_cursor=next_cursor)


@router.get("", response_model=CasePage, responses=AUTH_PROBLEMS)
def list_cases(
    engine: EngineDep,
    principal: CurrentPrincipal,
    state: Annotated[list[str] | None, Query(max_length=20)] = None,
    level: Level | None = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    org_unit_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    assignee_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    overdue: bool | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    cursor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,40}$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CasePage:
    """Search the cases in your scope, newest first, one page at a time."""
    filters = queries.CaseFilters(
        states=tuple(state or ()),
        level=level.value if level else None,
        category_code=category,
        org_unit_id=org_unit_id,
        assignee_id=assignee_id,
        overdue=overdue,
        text=q,
    )
    return case_page(engine, principal.actor, filters, cursor, limit)


@router.get(
    "/{case_id}",
    response_model=CasePublic,
    responses={200: {"headers": _ETAG_HEADER}, **CASE_READ_PROBLEMS},
)
async def read_case(case_id: CaseId, request: Request, principal: CurrentPrincipal) -> Response:
    """Read one case; its ETag is its version."""
    return await _case_response(request, case_id, principal)


async def _case_response(request: Request, case_id: int, principal: Principal) -> Response:
    # Measured (bench/api.py): the indexed read takes ~50 µs, while a thread-pool hop and
    # FastAPI re-validating the returned model cost several times that; so this one runs on
    # the event loop, shares its statement with the reads started in the same loop turn
    # (api/coalesce.py) and returns its JSON directly (CasePublic still documents it).
    services: Services = request.app.state.services
    found = await services.case_reads.get(case_id)
    case = _visible_public(services.engine, case_id, principal, found)
    return Response(
        case.model_dump_json(),
        media_type="application/json",
        headers={"ETag": etag(case.version)},
    )


class _CaseIdConvertor(Convertor[int]):
    """Ids FastAPI's own validation would accept without doubt; anything else (0, too long,
    not a number) does not match here and falls through to the documented route."""

    regex = "[1-9][0-9]{0,8}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("fengqiao_case_id", _CaseIdConvertor())


async def _read_case_fast(request: Request) -> Response:
    principal = await current_principal(request, bearer_token(request))
    return await _case_response(request, request.path_params["case_id"], principal)


def fast_routes(prefix: str) -> list[Route]:
    """The hottest read served by a plain Starlette route in front of FastAPI's router.

    Reading a case is what every client does most; FastAPI's dependency solving and route
    matching cost it ~95 µs of ~200 µs in process (bench/api.py). This route does the same
    work with the same functions and the same errors (the app's exception handlers apply to
    it), while `read_case` above stays the documented route and takes what this one does not
    match.
    """
    return [
        Route(
            f"{prefix}/cases/{{case_id:fengqiao_case_id}}",
            _read_case_fast,
            methods=["GET"],
            include_in_schema=False,
        )
    ]


@router.get("/{case_id}/actions", response_model=list[ActionOption], responses=CASE_READ_PROBLEMS)
def available_actions(
    case_id: CaseId, engine: EngineDep, principal: CurrentPrincipal
) -> list[ActionOption]:
    """What you may do with the case now, why the other ways out are blocked, and what each
    takes: its fields as JSON Schema with the options you may pick now."""
    return describe_actions(engine, case_id, principal.actor)


def _expected_version(body: FireRequest, if_match: str | None) -> int:
    header = parse_etag(if_match) if if_match is not None else None
    if header is not None and body.expected_version is not None and header != body.expected_version:
        raise InvalidInput(
            f"If-Match（{header}）与 expected_version（{body.expected_version}）不一致",
            field="expected_version",
        )
    version = header if header is not None else body.expected_version
    if version is None:
        raise VersionRequired()
    return version


@router.post(
    "/{case_id}/actions",
    response_model=FireResponse,
    responses={
        200: {"headers": _ETAG_HEADER},
        **problem_responses(401, 403, 404, 409, 422, 428),
    },
)
async def fire_action(
    case_id: CaseId,
    body: FireRequest,
    services: ServicesDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Fire one action on the case at the version you saw (If-Match or expected_version)."""
    # Writers run on a few threads of their own, waiting on the event loop for their turn:
    # 32 pool threads contending for the GIL kept the one holding SQLite's write lock
    # waiting (measured p99 ~100 ms at 32 clients; see bench/api.py).
    return await anyio.to_thread.run_sync(
        _fire_action,
        case_id,
        body,
        services,
        principal,
        idempotency_key,
        if_match,
        limiter=_writers(services.engine),
    )


_WRITERS: dict[str, anyio.CapacityLimiter] = {}


def _writers(engine: MediationEngine) -> anyio.CapacityLimiter:
    """One writer thread on SQLite (it has one writer anyway), three per worker on PostgreSQL
    (measured with 2 workers and 32 clients: 8 threads gave a fire p99 of ~60 ms, 3 ~36 ms)."""
    dialect = engine.db.dialect
    limiter = _WRITERS.get(dialect)
    if limiter is None:
        limiter = _WRITERS[dialect] = anyio.CapacityLimiter(1 if dialect == "sqlite" else 3)
    return limiter


def _fire_action(
    case_id: int,
    body: FireRequest,
    services: Services,
    principal: Principal,
    idempotency_key: str | None,
    if_match: str | None,
) -> JSONResponse:
    engine = services.engine
    expected = _expected_version(body, if_match)

    def fired(tx: Tx, result: FireResult) -> StoredReply:
        del tx  # the result says it all
        response = FireResponse(**fired_fields(engine.registry, result))
        return StoredReply(200, response.model_dump(mode="json"), {"ETag": etag(result.version)})

    def work(claim: Claim | None) -> StoredReply:
        respond = Responder(claim, fired)
        try:
            engine.fire(
                case_id,
                body.trigger,
                principal.actor,
                expected,
                body.payload,
                body.reason,
                within=respond,
            )
        except ServiceStepRefused as exc:
            raise with_route(engine, exc, case_id) from None
        return respond.response()

    request_body = body.model_dump_json() + f"|{expected}"
    return run_once(
        engine,
        user_id=principal.user_id,
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", f"/cases/{case_id}/actions", request_body),
        keep=timedelta(hours=services.settings.idempotency_hours),
        work=work,
        atomic=True,
    )


@router.get("/{case_id}/history", response_model=list[EventPublic], responses=CASE_READ_PROBLEMS)
def history(case_id: CaseId, engine: EngineDep, principal: CurrentPrincipal) -> list[EventPublic]:
    """The case's hash-chained audit events, oldest first."""
    return [
        EventPublic(
            seq=e.seq,
            at=e.at,
            actor_id=e.actor_id,
            actor_name=e.actor_name,
            actor_roles=list(e.actor_roles),
            trigger=e.trigger,
            source_state=e.source_state,
            dest_state=e.dest_state,
            version=e.version,
            payload=e.payload,
            reason=e.reason,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )
        for e in engine.history(case_id, principal.actor)
    ]
