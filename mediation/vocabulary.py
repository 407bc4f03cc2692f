"""The mediation vocabularies the engine does not know: who acts (roles), the ladder of
grassroots mediation (levels) and where cases come from (origins, mediation/intake.py), with
their Chinese labels.

The codes are what the application's logic names; the registry receives them as the
deployment's `roles` and `levels` declarations (workflows/hookset.py), and a file
workflows/vocabularies/roles.yaml or levels.yaml replaces them for a deployment that calls
its household heads or its levels otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from engine.fields import Vocabulary, VocabularyOption
from engine.spec import LEVELS_VOCABULARY, ROLES_VOCABULARY, SYSTEM_LABEL, SYSTEM_ROLE
from mediation.intake import ORIGIN_LABELS
from mediation.spec import ORIGINS_VOCABULARY


class Role(StrEnum):
    """Who an actor is. `system` is the timer tick; it never logs in."""

    central_household = "central_household"
    mediator = "mediator"
    lawyer = "lawyer"
    judge = "judge"
    prosecutor = "prosecutor"
    police = "police"
    court_clerk = "court_clerk"
    supervisor = "supervisor"
    admin = "admin"
    system = SYSTEM_ROLE


ROLE_LABELS: dict[Role, str] = {
    Role.central_household: "综治中心户",
    Role.mediator: "调解员",
    Role.lawyer: "律师",
    Role.judge: "法官",
    Role.prosecutor: "检察官",
    Role.police: "民警",
    Role.court_clerk: "法院司法确认窗口",
    Role.supervisor: "督办人员",
    Role.admin: "管理员",
    Role.system: SYSTEM_LABEL,
}


class Level(StrEnum):
    """Where in the ladder of grassroots mediation a state sits, lowest first."""

    intake = "intake"
    grid = "grid"
    community = "community"
    street = "street"
    court = "court"
    closed = "closed"


LEVEL_ORDER: dict[Level, int] = {level: rank for rank, level in enumerate(Level)}
LEVEL_LABELS: dict[Level, str] = {
    Level.intake: "受理",
    Level.grid: "网格",
    Level.community: "社区",
    Level.street: "街道",
    Level.court: "法院",
    Level.closed: "结案",
}


def _vocabulary(name: str, label: str, labels: Iterable[tuple[str, str]]) -> Vocabulary:
    return Vocabulary(
        name=name,
        label=label,
        options=tuple(VocabularyOption(code=str(c), label=t) for c, t in labels),
    )


ROLES = _vocabulary(ROLES_VOCABULARY, "角色", ROLE_LABELS.items())
LEVELS = _vocabulary(LEVELS_VOCABULARY, "层级", LEVEL_LABELS.items())
ORIGINS = _vocabulary(ORIGINS_VOCABULARY, "案件来源", ORIGIN_LABELS.items())
DECLARATIONS = {v.name: v for v in (ROLES, LEVELS, ORIGINS)}
