"""Dependencies of the routes, as Annotated aliases: EngineDep, ServicesDep, CurrentPrincipal.

They are `async def` on purpose: none blocks (a principal is cached), and FastAPI runs a
plain `def` dependency in the thread pool, one extra hop per request for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from fastapi.security.utils import get_authorization_scheme_param

from api.auth import IPNetwork, LoginLimiter, TokenSigner
from api.authz import Principal, PrincipalCache
from api.coalesce import ReadCoalescer
from api.errors import NotAuthenticated
from api.settings import Settings
from engine.records import Actor
from mediation.engine import MediationEngine
from mediation.queries import CaseExtra
from mediation.records import MediationCase

TOKEN_URL = "/api/v1/auth/token"


@dataclass
class Services:
    """What the app holds for its lifetime; built in create_app's lifespan."""

    settings: Settings
    engine: MediationEngine
    signer: TokenSigner
    limiter: LoginLimiter
    principals: PrincipalCache
    case_reads: ReadCoalescer[int, tuple[MediationCase, CaseExtra]]
    trusted_proxies: tuple[IPNetwork, ...] = ()


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_engine(services: ServicesDep) -> MediationEngine:
    return services.engine


EngineDep = Annotated[MediationEngine, Depends(get_engine)]

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


async def current_principal(
    request: Request, token: Annotated[str | None, Depends(_bearer)]
) -> Principal:
    if not token:
        raise NotAuthenticated()
    services: Services = request.app.state.services  # not a sub-dependency: each costs µs
    claims = services.signer.verify(token)
    return services.principals.get(services.engine, claims.user_id, claims.epoch, claims.session_id)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def bearer_token(request: Request) -> str | None:
    """The bearer token as OAuth2PasswordBearer reads it, for routes outside FastAPI's DI."""
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    return token if token and scheme.lower() == "bearer" else None


async def current_actor(principal: CurrentPrincipal) -> Actor:
    return principal.actor


CurrentActor = Annotated[Actor, Depends(current_actor)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="重试同一请求时使用相同的键，只会执行一次",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", max_length=40, description='案件的 ETag（版本），如 "3"'),
]
