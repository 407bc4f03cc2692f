"""Fixtures for the HTTP API: the test world plus an administrator, a second district, login
passwords, four cases in known places, and a TestClient on a fresh database per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.app import create_app
from api.documents import DocumentService
from api.services.own_signing import OwnActSigning
from api.settings import Settings
from engine.calendar import WorkingCalendar
from engine.models.org import Membership, OrgUnit, User
from engine.ports import FixedClock
from engine.records import Actor
from mediation.engine import MediationEngine
from mediation.intake import PartyIntake, PartyRole
from mediation.models.org import OrgKind
from mediation.vocabulary import Role
from tests.conftest import make_engine
from tests.flow import Driver, open_case
from tests.world import World, build_world

PASSWORD = "correct horse 枫桥"
# Cheap parameters: the tests log in hundreds of times; production hashes use the defaults.
_FAST_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@dataclass
class Api:
    """A client on a fresh world, with helpers that speak HTTP like a browser would."""

    client: TestClient
    world: World
    engine: MediationEngine
    clock: FixedClock
    cases: dict[str, int] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        return self.client.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )

    def headers(self, username: str, **extra: str) -> dict[str, str]:
        if username not in self._tokens:
            response = self.login(username)
            assert response.status_code == 200, response.text
            self._tokens[username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[username]}", **extra}

    def get(self, username: str, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, headers=self.headers(username), params=params)

    def new_case(self, username: str = "mediator") -> int:
        """Register the world's standard dispute over HTTP; its id."""
        response = self.client.post(
            "/api/v1/cases",
            json=self.world.intake().model_dump(mode="json"),
            headers=self.headers(username),
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def version(self, case_id: int) -> int:
        return self.engine.get_case(case_id, Actor.system()).version

    def fire(
        self,
        username: str,
        case_id: int,
        trigger: str,
        reason: str | None = None,
        *,
        version: int | None = None,
        **payload: Any,
    ) -> httpx.Response:
        body = {
            "trigger": trigger,
            "expected_version": version if version is not None else self.version(case_id),
            "payload": payload,
            "reason": reason,
        }
        return self.client.post(
            f"/api/v1/cases/{case_id}/actions", json=body, headers=self.headers(username)
        )


def _add_users(sa_engine: sa.Engine, world: World) -> None:
    """An administrator, and a far district (outside the supervisor's) with its mediator."""
    with Session(sa_engine) as session:
        far = OrgUnit(kind=OrgKind.district, name="远山县")
        session.add(far)
        session.flush()
        far.path = f"/{far.id}/"
        committee = OrgUnit(
            kind=OrgKind.committee,
            name="远山县人民调解委员会",
            short_name="远山",
            parent_id=far.id,
        )
        session.add(committee)
        session.flush()
        committee.path = f"{far.path}{committee.id}/"
        world.units["far_district"] = far.id or 0
        world.units["far_committee"] = committee.id or 0
        for key, name, role, unit in [
            ("admin", "管理员", Role.admin, "district"),
            ("far_mediator", "远山调解员", Role.mediator, "far_committee"),
        ]:
            user = User(username=key, display_name=name)
            session.add(user)
            session.flush()
            session.add(Membership(user_id=user.id or 0, org_unit_id=world.units[unit], role=role))
            world.users[key] = user.id or 0
        session.commit()
    world.actors["far_mediator"] = Actor(
        user_id=world.users["far_mediator"],
        name="远山调解员",
        roles=frozenset({Role.mediator}),
        unit_ids=frozenset({world.units["far_district"], world.units["far_committee"]}),
    )
    with sa_engine.begin() as connection:
        connection.execute(sa.text("UPDATE users SET password_hash = :h"), {"h": _FAST_HASH})


def foreign_parties() -> tuple[PartyIntake, ...]:
    """Parties whose addresses no grid covers: the case is routed to no 中心户."""
    return (
        PartyIntake(role=PartyRole.applicant, name="钱多多", address="东溪村1组1号"),
        PartyIntake(role=PartyRole.respondent, name="孙少少", address="东溪村1组2号"),
    )


def seed_cases(engine: MediationEngine, world: World, clock: FixedClock) -> dict[str, int]:
    """A: the committee's case at intake, with mediator, lawyer and police assigned.
    B: another committee's case. C: an application at the court. E: a far district's case."""
    a = open_case(engine, world, clock)
    a.assign("mediator", "mediator")
    a.assign("lawyer", "lawyer")
    a.assign("police", "police")
    b = open_case(
        engine,
        world,
        clock,
        actor="outsider",
        committee_id=world.units["other_committee"],
        parties=foreign_parties(),
    )
    c = open_case(engine, world, clock)
    drive_to_application(c)
    e = open_case(
        engine,
        world,
        clock,
        actor="far_mediator",
        committee_id=world.units["far_committee"],
        parties=foreign_parties(),
    )
    return {"A": a.case_id, "B": b.case_id, "C": c.case_id, "E": e.case_id}


def drive_to_application(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.sign_all()
    driver.fire(
        "mediator",
        "apply_confirmation",
        court_id=driver.world.units["court"],
        applicants=driver.party_ids(),
    )


def make_api(
    sa_engine: sa.Engine,
    tmp_path: Path,
    clock: FixedClock,
    calendar: WorkingCalendar,
    **settings: Any,
) -> Iterator[Api]:
    world = build_world(sa_engine)
    _add_users(sa_engine, world)
    engine = make_engine(sa_engine, clock, calendar)
    app = create_app(Settings(data_dir=tmp_path, **settings), engine)
    with TestClient(app) as client:
        yield Api(client, world, engine, clock)


@pytest.fixture
def api(
    sa_engine: sa.Engine, tmp_path: Path, clock: FixedClock, calendar: WorkingCalendar
) -> Iterator[Api]:
    yield from make_api(sa_engine, tmp_path, clock, calendar)


@pytest.fixture
def any_api(
    any_sa_engine: sa.Engine, tmp_path: Path, clock: FixedClock, calendar: WorkingCalendar
) -> Iterator[Api]:
    yield from make_api(any_sa_engine, tmp_path, clock, calendar)


@pytest.fixture
def seeded(api: Api) -> Api:
    api.cases.update(seed_cases(api.engine, api.world, api.clock))
    return api


# --- documents and signing acts (R-ESIGN) ----------------------------------------------------

PNG = bytes.fromhex(  # a 1×1 handwritten mark
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


class Recording:
    """A one-time-code sender that keeps what it sent, for the tests to read the code."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, message: str) -> None:
        self.sent.append((phone, message))


@pytest.fixture
def service(engine: MediationEngine, tmp_path: Path) -> DocumentService:
    return DocumentService(Settings(data_dir=tmp_path / "var"), engine)


@pytest.fixture
def sender() -> Recording:
    return Recording()


@pytest.fixture
def own(service: DocumentService, sender: Recording) -> OwnActSigning:
    return OwnActSigning(service, sender)
