"""The navigation bar: one entry per area, shown to the roles that work there. Pages added
later (statistics, lawyers, administration) add their entry here."""

from __future__ import annotations

from dataclasses import dataclass

from api.authz import CASE_OPENING_ROLES, COURT_ROLES, Principal
from mediation.vocabulary import Role


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    label: str
    roles: frozenset[Role] | None  # None: everyone signed in


NAV: list[NavItem] = [
    NavItem("/", "工作台", None),
    NavItem("/cases", "案件", None),
    NavItem("/cases/new", "新建案件", CASE_OPENING_ROLES),
    NavItem("/court", "司法确认", COURT_ROLES),
    NavItem("/statistics", "统计督办", frozenset({Role.supervisor, Role.admin})),
    NavItem("/lawyers", "法律服务", frozenset({Role.lawyer, Role.supervisor, Role.admin})),
    NavItem("/admin/units", "系统管理", frozenset({Role.admin})),
]


def nav_for(principal: Principal) -> list[NavItem]:
    return [i for i in NAV if i.roles is None or principal.has_any(i.roles)]
