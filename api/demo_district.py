"""The demo's fictional district: its street, communities, grids and 中心户, two brand-name
rooms, the court and volunteer lawyers, and their users (all names invented). `fengqiao demo`
builds it first, then drives its cases through the engine (api/demo.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from engine.models.org import Membership, OrgUnit, User
from engine.records import Actor
from mediation.intake import ApplicationForm, CaseIntake, Origin, PartyIntake, PartyRole
from mediation.models.org import Household, OrgKind
from mediation.validation import check_digit
from mediation.vocabulary import Role

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡"
    "贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段"
)
GIVEN = (
    "建国秀英志强丽华海燕明辉桂兰春梅晓东永红德明淑珍国华玉兰金凤"
    "小平文静俊杰雪梅振华子涵思远嘉怡浩然雨桐"
)
DISPUTES = [
    ("neighbour", "相邻房屋滴水、采光纠纷"),
    ("housing_homestead", "宅基地界址争议"),
    ("contract", "装修合同款项纠纷"),
    ("damages", "饲养的狗咬伤邻居赔偿纠纷"),
    ("labour", "建筑工地拖欠工资纠纷"),
    ("property_management", "小区物业费与漏水维修纠纷"),
    ("land_contract", "承包山林边界纠纷"),
    ("traffic", "电动车与行人碰撞赔偿纠纷"),
    ("consumer", "家电质量退换纠纷"),
    ("marriage_family", "赡养老人费用分担纠纷"),
    ("inheritance", "父母遗留房屋继承纠纷"),
    ("medical", "诊所治疗费用纠纷"),
    ("village_affairs", "村集体分红分配纠纷"),
    ("environment", "养殖场异味扰民纠纷"),
]
# Every demo user is a person with a name: they sign papers as themselves (R-TRANSCRIPT).
STAFF = {
    "police_qingshi": "郑卫东",
    "police_liuwan": "蒋立新",
    "mediator_qingshi": "周明远",
    "recorder_qingshi": "钱淑芬",
    "mediator_liuwan": "陆文海",
    "recorder_liuwan": "沈雅琴",
    "mediator_qs_east": "吴志刚",
    "recorder_qs_east": "许丽萍",
    "mediator_qs_mill": "孙德福",
    "recorder_qs_mill": "曹红梅",
    "mediator_lw_river": "金海生",
    "recorder_lw_river": "潘月娥",
    "mediator_lw_hill": "邵国庆",
    "recorder_lw_hill": "叶春兰",
    "household_qs_east_grid1": "韩桂英",
    "household_qs_east_grid2": "冯长根",
    "household_qs_mill_grid1": "董阿福",
    "household_qs_mill_grid2": "袁素珍",
    "household_lw_river_grid1": "程水根",
    "household_lw_river_grid2": "彭金娣",
    "household_lw_hill_grid1": "吕伯康",
    "household_lw_hill_grid2": "蔡凤仙",
}
DEMO_PASSWORD = "fengqiao2026"  # printed by the command; for the demo district only


@dataclass
class District:
    units: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    grids: list[tuple[int, int, int, list[str]]] = field(
        default_factory=list
    )  # grid, committee, 中心户, addresses


def person_id(rng: random.Random) -> tuple[str, str]:
    birth = datetime(1950, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 365 * 50))
    order = rng.randrange(100, 999)
    body = f"330681{birth:%Y%m%d}{order:03d}"
    return body + check_digit(body), "male" if order % 2 else "female"


def person_name(rng: random.Random) -> str:
    given = GIVEN[rng.randrange(0, len(GIVEN) // 2) * 2 :][:2]
    return rng.choice(SURNAMES) + given


def _password_hash() -> str | None:
    try:
        from argon2 import PasswordHasher
    except ImportError:  # pragma: no cover - argon2-cffi is a pinned dependency
        return None
    return PasswordHasher().hash(DEMO_PASSWORD)


def build_district(session: Session) -> District:
    district = District()
    subtree: dict[int, str] = {}

    def unit(
        key: str, kind: OrgKind, name: str, parent: str | None, short: str = "", address: str = ""
    ) -> OrgUnit:
        parent_row = session.get(OrgUnit, district.units[parent]) if parent else None
        row = OrgUnit(
            kind=kind,
            name=name,
            short_name=short,
            parent_id=parent_row.id if parent_row else None,
            address=address,
        )
        session.add(row)
        session.flush()
        row.path = (parent_row.path if parent_row else "/") + f"{row.id}/"
        district.units[key] = row.id or 0
        subtree[row.id or 0] = row.path
        return row

    password = _password_hash()

    def user(key: str, name: str, role: Role, unit_key: str) -> None:
        row = User(username=key, display_name=name, password_hash=password)
        session.add(row)
        session.flush()
        session.add(
            Membership(user_id=row.id or 0, org_unit_id=district.units[unit_key], role=role)
        )
        district.users[key] = row.id or 0

    unit("district", OrgKind.district, "枫溪区", None)
    unit("court", OrgKind.court, "枫溪区人民法院", "district", address="枫溪区法院路1号")
    unit(
        "tribunal",
        OrgKind.court,
        "枫溪区人民法院青石人民法庭",
        "court",
        address="青石街道法庭路8号",
    )
    unit("procuratorate", OrgKind.procuratorate, "枫溪区人民检察院", "district")
    unit("firm", OrgKind.law_firm, "浙江溪桥律师事务所", "district")
    user("admin", "系统管理员", Role.admin, "district")
    user("supervisor", "沈督办", Role.supervisor, "district")
    user("judge_lin", "林清远", Role.judge, "tribunal")
    user("judge_he", "何若水", Role.judge, "tribunal")
    user("clerk_tang", "唐晓雯", Role.court_clerk, "tribunal")
    user("prosecutor_qin", "秦正平", Role.prosecutor, "procuratorate")
    for i, lawyer in enumerate(["严立诚", "陆思源", "方婉清"], start=1):
        user(f"lawyer_{i}", lawyer, Role.lawyer, "firm")

    streets = [("qingshi", "青石街道", "青石"), ("liuwan", "柳湾镇", "柳湾")]
    communities = {
        "qingshi": [("qs_east", "东桥社区"), ("qs_mill", "磨坊村")],
        "liuwan": [("lw_river", "河埠村"), ("lw_hill", "后山村")],
    }
    for street_key, street_name, short in streets:
        unit(street_key, OrgKind.street, street_name, "district")
        unit(f"{street_key}_police", OrgKind.police_station, f"{street_name}派出所", street_key)
        user(
            f"police_{street_key}",
            STAFF[f"police_{street_key}"],
            Role.police,
            f"{street_key}_police",
        )
        unit(
            f"{street_key}_committee",
            OrgKind.committee,
            f"{street_name}人民调解委员会",
            street_key,
            short,
        )
        user(
            f"mediator_{street_key}",
            STAFF[f"mediator_{street_key}"],
            Role.mediator,
            f"{street_key}_committee",
        )
        # R-TRANSCRIPT: a committee member other than the mediator records the sessions
        user(
            f"recorder_{street_key}",
            STAFF[f"recorder_{street_key}"],
            Role.mediator,
            f"{street_key}_committee",
        )
        for c_key, c_name in communities[street_key]:
            unit(c_key, OrgKind.community, c_name, street_key)
            unit(
                f"{c_key}_committee",
                OrgKind.committee,
                f"{c_name}人民调解委员会",
                c_key,
                c_name[:2],
            )
            user(
                f"mediator_{c_key}", STAFF[f"mediator_{c_key}"], Role.mediator, f"{c_key}_committee"
            )
            user(
                f"recorder_{c_key}", STAFF[f"recorder_{c_key}"], Role.mediator, f"{c_key}_committee"
            )
            for g in (1, 2):
                g_key = f"{c_key}_grid{g}"
                unit(g_key, OrgKind.grid, f"{c_name}第{g}网格", c_key)
                user(
                    f"household_{g_key}", STAFF[f"household_{g_key}"], Role.central_household, g_key
                )
                addresses = [f"{street_name}{c_name}{g}组{n}号" for n in range(1, 41)]
                for address in addresses:
                    session.add(
                        Household(
                            grid_id=district.units[g_key],
                            address=address,
                            central_household_user_id=district.users[f"household_{g_key}"],
                        )
                    )
                district.grids.append(
                    (
                        district.units[g_key],
                        district.units[f"{c_key}_committee"],
                        district.users[f"household_{g_key}"],
                        addresses,
                    )
                )
    # two personal-brand rooms: "committee + person + 调解工作室", sealed by the parent committee
    unit("room_xiu", OrgKind.room, "青石街道人民调解委员会修丽君调解工作室", "qingshi_committee")
    user("mediator_xiu", "修丽君", Role.mediator, "room_xiu")
    unit("room_lao", OrgKind.room, "柳湾镇人民调解委员会老杨调解工作室", "liuwan_committee")
    user("mediator_yang", "杨守正", Role.mediator, "room_lao")
    session.commit()

    memberships = session.exec(select(Membership)).all()
    paths = dict(subtree)
    for member in memberships:
        user_row = session.get(User, member.user_id)
        assert user_row is not None
        scope = frozenset(
            uid for uid, path in paths.items() if path.startswith(paths[member.org_unit_id])
        )
        key = next(k for k, v in district.users.items() if v == member.user_id)
        district.actors[key] = Actor(
            user_id=member.user_id,
            name=user_row.display_name,
            roles=frozenset({Role(member.role)}),
            unit_ids=scope,
        )
    district.actors["system"] = Actor.system()
    return district


def demo_intake(
    rng: random.Random,
    grid: tuple[int, int, int, list[str]],
    category: str,
    summary: str,
    risk: str,
) -> CaseIntake:
    """A dispute between two invented villagers of the grid, as a 中心户 registers it."""
    parties = []
    for role in (PartyRole.applicant, PartyRole.respondent):
        id_number, sex = person_id(rng)
        parties.append(
            PartyIntake(
                role=role,
                name=person_name(rng),
                id_number=id_number,
                sex=sex,
                phone=f"13{rng.randrange(5, 10)}{rng.randrange(10**7, 10**8)}",
                address=rng.choice(grid[3]),
                ethnicity="汉族",
                occupation=rng.choice(["农民", "个体工商户", "职员", "退休人员", "务工人员"]),
            )
        )
    origin = Origin.grid_report if rng.random() < 0.6 else Origin.party_application
    # R-APPLY: a party's application, written or oral (from the summary: the demo's random
    # sequence, and so its spread over states, stays as it was)
    spoken = len(summary) % 2 == 1
    return CaseIntake(
        committee_id=grid[1],
        category_code=category,
        summary=summary,
        origin=origin,
        application_form=(
            (ApplicationForm.oral if spoken else ApplicationForm.written)
            if origin is Origin.party_application
            else None
        ),
        risk_level=risk,
        parties=tuple(parties),
    )
