"""Reference data every deployment starts with (R-CATEGORIES); editable afterwards."""

from __future__ import annotations

from sqlmodel import Session, select

from mediation.models.cases import Category

# code, name, excluded_from_confirmation (R-JC-EXCLUDE), excluded_from_esign (R-ESIGN-EXCLUDE)
CATEGORIES: list[tuple[str, str, bool, bool]] = [
    ("marriage_family", "婚姻家庭", False, True),
    ("personal_status", "婚姻效力、解除婚姻、亲子关系与收养", True, True),
    ("inheritance", "继承", False, True),
    ("neighbour", "邻里", False, False),
    ("housing_homestead", "房屋宅基地", False, False),
    ("contract", "合同", False, False),
    ("damages", "损害赔偿", False, False),
    ("labour", "劳动争议", False, False),
    ("property_management", "物业", False, False),
    ("land_contract", "山林土地承包", False, False),
    ("ownership", "物权及知识产权权属确认", True, False),
    ("expropriation", "征地拆迁", False, False),
    ("medical", "医疗", False, False),
    ("traffic", "交通事故", False, False),
    ("consumer", "消费", False, False),
    ("village_affairs", "村务管理", False, False),
    ("environment", "环境", False, False),
    ("other", "其他", False, False),
]


def seed_categories(session: Session) -> int:
    """Insert the categories that are missing; returns how many were added."""
    existing = set(session.exec(select(Category.code)).all())
    added = 0
    for order, (code, name, no_confirmation, no_esign) in enumerate(CATEGORIES):
        if code in existing:
            continue
        session.add(
            Category(
                code=code,
                name=name,
                excluded_from_confirmation=no_confirmation,
                excluded_from_esign=no_esign,
                sort_order=order,
            )
        )
        added += 1
    session.commit()
    return added
