"""A small fixed district for tests: one of each kind of org unit and user."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session

from engine.models.org import Membership, OrgUnit, User
from engine.records import Actor
from mediation.intake import CaseIntake, Origin, PartyIntake, PartyRole
from mediation.models.cases import Category
from mediation.models.org import Household, OrgKind
from mediation.vocabulary import Role

CATEGORIES = [
    ("neighbour", "邻里", False, False),
    ("contract", "合同", False, False),
    ("marriage_family", "婚姻家庭", True, True),
    ("inheritance", "继承", False, True),
    ("land_ownership", "山林土地承包", True, False),
]

APPLICANT_ID = "11010519491231002X"
RESPONDENT_ID = "440524188001010014"


@dataclass
class World:
    units: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)

    def intake(self, **overrides: object) -> CaseIntake:
        values: dict[str, object] = {
            "committee_id": self.units["committee"],
            "spec_version": 1,  # the recorded v1 behaviour; v2 tests ask for spec_version=2
            "category_code": "neighbour",
            "summary": "相邻房屋滴水纠纷",
            "origin": Origin.party_application,
            "application_form": "written",
            "risk_level": "blue",
            "parties": (
                PartyIntake(
                    role=PartyRole.applicant,
                    name="王秀英",
                    id_number=APPLICANT_ID,
                    phone="+86 138 1234 1234",
                    address="枫桥镇枫源村3组12号",
                ),
                PartyIntake(
                    role=PartyRole.respondent,
                    name="李建国",
                    id_number=RESPONDENT_ID,
                    phone="13900001111",
                    address="枫桥镇枫源村3组14号",
                ),
            ),
        }
        values.update(overrides)
        return CaseIntake.model_validate(values)


def _unit(
    session: Session, kind: OrgKind, name: str, parent: OrgUnit | None, short: str = ""
) -> OrgUnit:
    unit = OrgUnit(kind=kind, name=name, short_name=short, parent_id=parent.id if parent else None)
    session.add(unit)
    session.flush()
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    return unit


def build_world(engine: sa.Engine) -> World:
    world = World()
    with Session(engine) as session:
        district = _unit(session, OrgKind.district, "诸暨市", None)
        street = _unit(session, OrgKind.street, "枫桥镇", district)
        community = _unit(session, OrgKind.community, "枫源村", street)
        grid = _unit(session, OrgKind.grid, "枫源村第三网格", community)
        committee = _unit(session, OrgKind.committee, "枫源村人民调解委员会", community, "枫源")
        room = _unit(session, OrgKind.room, "枫源村人民调解委员会老杨调解工作室", committee)
        court = _unit(session, OrgKind.court, "诸暨市人民法院枫桥人民法庭", district)
        firm = _unit(session, OrgKind.law_firm, "浙江枫桥律师事务所", district)
        other_committee = _unit(session, OrgKind.committee, "东溪村人民调解委员会", street, "东溪")
        for name, created in [
            ("district", district),
            ("street", street),
            ("community", community),
            ("grid", grid),
            ("committee", committee),
            ("room", room),
            ("court", court),
            ("firm", firm),
            ("other_committee", other_committee),
        ]:
            world.units[name] = created.id or 0
        people = [
            ("household", "陈阿明", Role.central_household, "grid"),
            ("mediator", "杨光明", Role.mediator, "committee"),
            ("mediator2", "周晓燕", Role.mediator, "room"),
            ("mediator3", "郭立新", Role.mediator, "committee"),
            ("lawyer", "孙律师", Role.lawyer, "firm"),
            ("judge", "赵法官", Role.judge, "court"),
            ("judge2", "钱法官", Role.judge, "court"),
            ("clerk", "吴书记员", Role.court_clerk, "court"),
            ("police", "郑警官", Role.police, "street"),
            ("supervisor", "冯主任", Role.supervisor, "district"),
            ("outsider", "外村调解员", Role.mediator, "other_committee"),
        ]
        for key, name, role, unit in people:
            user = User(username=key, display_name=name)
            session.add(user)
            session.flush()
            session.add(Membership(user_id=user.id or 0, org_unit_id=world.units[unit], role=role))
            world.users[key] = user.id or 0
        for address in ("枫桥镇枫源村3组12号", "枫桥镇枫源村3组14号"):
            session.add(
                Household(
                    grid_id=grid.id or 0,
                    address=address,
                    central_household_user_id=world.users["household"],
                )
            )
        for code, name, no_jc, no_esign in CATEGORIES:
            session.add(
                Category(
                    code=code,
                    name=name,
                    excluded_from_confirmation=no_jc,
                    excluded_from_esign=no_esign,
                )
            )
        session.commit()
    subtree = _subtrees(engine)
    for key, _, role, unit in people:
        unit_id = world.units[unit]
        world.actors[key] = Actor(
            user_id=world.users[key],
            name=key,
            roles=frozenset({role}),
            unit_ids=frozenset(subtree[unit_id]),
        )
    world.actors["system"] = Actor.system()
    return world


def _subtrees(engine: sa.Engine) -> dict[int, set[int]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, path FROM org_units")).all()
    return {
        uid: {other for other, other_path in rows if other_path.startswith(path)}
        for uid, path in rows
    }
