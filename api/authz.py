"""Authorisation in one place: who a logged-in user is (roles, org-unit scope), which cases
they see and which routes and personal data their roles open.

Case visibility itself is engine/access.py's rule (units of the case ∩ the actor's scope, or
an active assignment); this module decides what scope each role brings to it:

| role | scope |
| --- | --- |
| 中心户, mediator, supervisor | their unit's subtree (grid; room or committee; district) |
| judge, court clerk | their court's subtree: applications addressed to it, cases it referred |
| lawyer, prosecutor, police | none: only the cases they are assigned to |
| admin | every unit |
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from api.errors import Forbidden, NotAuthenticated, PiiNotPermitted
from engine import access
from engine.errors import CaseNotFound, InvalidInput
from engine.records import Actor
from engine.repository import Tx
from mediation import queries
from mediation.engine import MediationEngine
from mediation.records import MediationCase
from mediation.repository import MediationTx
from mediation.vocabulary import ROLE_LABELS, Role

SUBTREE_ROLES = frozenset(
    {Role.central_household, Role.mediator, Role.supervisor, Role.judge, Role.court_clerk}
)
COURT_ROLES = frozenset({Role.judge, Role.court_clerk})
CASE_OPENING_ROLES = frozenset({Role.central_household, Role.mediator, Role.supervisor})
COURT_QUEUE_STATES = ("jc_applied", "jc_reviewing")
# who may register a court's referral (诉前委派/诉中委托): naming the court opens the parties'
# ID numbers to it (R-JC-PACKAGE), so never a 中心户
REFERRAL_ROLES = frozenset({Role.mediator, Role.supervisor, Role.admin})


@dataclass(frozen=True, slots=True)
class Membership:
    org_unit_id: int
    role: Role


@dataclass(frozen=True, slots=True)
class Principal:
    """The logged-in user: who they are, and the engine Actor their memberships make."""

    user_id: int
    username: str
    display_name: str
    memberships: tuple[Membership, ...]
    actor: Actor

    @property
    def roles(self) -> frozenset[str]:
        return self.actor.roles

    def has_any(self, roles: Iterable[Role]) -> bool:
        return not self.actor.roles.isdisjoint(roles)


def build_principal(tx: Tx, user_id: int) -> Principal:
    """Raises:
    NotAuthenticated: the user no longer exists or was deactivated.
    """
    row = queries.user(tx, user_id)
    if row is None or not row.active:
        raise NotAuthenticated("账号不存在或已停用，请联系管理员")
    memberships = tuple(Membership(m.org_unit_id, Role(m.role)) for m in row.memberships)
    roles = frozenset(m.role for m in memberships)
    scoped_paths = [m.path for m in row.memberships if Role(m.role) in SUBTREE_ROLES]
    actor = Actor(
        user_id=row.id,
        name=row.display_name,
        roles=roles,
        unit_ids=queries.subtree_ids(tx, scoped_paths),
        all_units=Role.admin in roles,
    )
    return Principal(row.id, row.username, row.display_name, memberships, actor)


class PrincipalCache:
    """Principals per user for a few seconds: a token check must not cost three queries.

    Every request still reads the user's active flag and token epoch (one primary-key read),
    so disabling a user or changing their password or roles — each bumps the epoch — refuses
    their older tokens at once on every worker; the cached roles and scope are those of the
    epoch they were built at. Changes made behind the API's back (no epoch bump) take effect
    within `ttl_seconds`.
    """

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[int, tuple[float, int, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, engine: MediationEngine, user_id: int, epoch: int, session_id: str) -> Principal:
        """Raises:
        NotAuthenticated: no such user, disabled, the token's epoch is not the user's, or
            its session was logged out.
        """
        now = time.monotonic()
        with engine.db.transaction(write=False, snapshot=False) as tx:
            state = queries.session_state(tx, user_id, session_id)
        if state is None or not state[0]:
            raise NotAuthenticated("账号不存在或已停用，请联系管理员")
        if state[1] != epoch:
            raise NotAuthenticated("登录已失效（密码、角色或账号状态已变更），请重新登录")
        if state[2]:
            raise NotAuthenticated("您已退出登录，请重新登录")
        entry = self._entries.get(user_id)
        if entry is not None and entry[0] > now and entry[1] == epoch:
            return entry[2]
        with engine.db.transaction(write=False) as tx:
            principal = build_principal(tx, user_id)
        if self.ttl > 0:
            with self._lock:
                self._entries[user_id] = (now + self.ttl, epoch, principal)
        return principal

    def forget(self, user_id: int) -> None:
        with self._lock:
            self._entries.pop(user_id, None)


def revoke_tokens(tx: Tx, user_id: int) -> None:
    """Bump the user's token epoch: every token issued before is refused from now on."""
    tx.bump_token_epoch(user_id)


def revoke_session(tx: Tx, user_id: int, session_id: str, expires_at: datetime) -> None:
    """End one signed-in session (logout): its token is refused from now on, on every worker;
    the row lives until the token would have expired anyway (then the tick deletes it)."""
    tx.add_revoked_session(session_id, user_id, expires_at)


def forget_revoked_sessions(tx: Tx, now: datetime) -> int:
    """Delete the revocations of tokens that have expired by now (they are refused anyway)."""
    return tx.forget_revoked_sessions(now)


def require_roles(principal: Principal, roles: Iterable[Role], what: str) -> None:
    """Raises:
    Forbidden: none of the principal's roles opens this route.
    """
    wanted = frozenset(roles)
    if principal.has_any(wanted):
        return
    labels = "、".join(ROLE_LABELS[r] for r in sorted(wanted))
    raise Forbidden(f"{what}须由以下角色办理：{labels}", required_roles=sorted(wanted))


# the kinds of unit each role's membership may be in (a judge at a court, a 中心户 at a grid)
ROLE_UNIT_KINDS: dict[Role, frozenset[str]] = {
    Role.central_household: frozenset({"grid"}),
    Role.mediator: frozenset({"committee", "room"}),
    Role.supervisor: frozenset({"district", "street", "community"}),
    Role.judge: frozenset({"court"}),
    Role.court_clerk: frozenset({"court"}),
    Role.lawyer: frozenset({"law_firm"}),
    Role.prosecutor: frozenset({"procuratorate"}),
    Role.police: frozenset({"police_station", "street", "district"}),
    Role.admin: frozenset({"district"}),
}


def check_membership(role: Role, unit_kind: str, unit_name: str, field: str) -> None:
    """Raises:
    InvalidInput: the unit is not of a kind the role works in.
    """
    kinds = ROLE_UNIT_KINDS.get(role, frozenset())
    if unit_kind not in kinds:
        raise InvalidInput(
            f"{ROLE_LABELS[role]}不能隶属于“{unit_name}”（{unit_kind}）："
            f"须为 {'、'.join(sorted(kinds)) or '—'}",
            field=field,
        )


def check_registration(principal: Principal, referring_court_id: int | None) -> None:
    """What the role alone decides about a registration; the units are the engine's check.

    Raises:
        Forbidden: a role outside REFERRAL_ROLES names a referring court.
    """
    if referring_court_id is not None:
        require_roles(principal, REFERRAL_ROLES, "登记法院委派、委托的案件")


def visible_case(tx: MediationTx, case_id: int, principal: Principal) -> MediationCase:
    """The case if the principal may see it; out-of-scope answers exactly like missing.

    Raises:
        CaseNotFound: no such case, or not visible to this principal.
    """
    return require_visible(
        tx.load_case(case_id),
        case_id,
        principal,
        lambda: tx.is_assigned(case_id, principal.user_id),
    )


def require_visible(
    case: MediationCase | None, case_id: int, principal: Principal, is_assigned: Callable[[], bool]
) -> MediationCase:
    """`visible_case` for a case the caller loaded itself (with more columns, say);
    `is_assigned` asks the database, and only when the principal's units do not cover it."""
    if case is None or not access.in_scope(principal.actor, case, is_assigned):
        raise CaseNotFound(case_id)
    return case


def court_units(principal: Principal) -> frozenset[int]:
    """The courts whose application queue this principal works."""
    require_roles(principal, COURT_ROLES, "查看司法确认申请")
    return principal.actor.unit_ids


def pii_purpose(tx: Tx, principal: Principal, case: MediationCase) -> str:
    """Why this principal may read the case's parties' full ID and phone numbers (R-PII).

    Only the roles whose work needs them: the case's own mediator (to contact the parties and
    draft the agreement) and the court the confirmation application is addressed to (R-JC-
    PACKAGE asks for identity proofs and phones).

    Raises:
        PiiNotPermitted: no such need.
    """
    roles = principal.roles
    if Role.mediator in roles and any(
        a.user_id == principal.user_id and a.role == Role.mediator and a.active
        for a in tx.assignments(case.id)
    ):
        return "本案调解员"
    if (
        not roles.isdisjoint(COURT_ROLES)
        and case.court_id is not None
        and case.court_id in principal.actor.unit_ids
    ):
        return "受理司法确认申请的法院"
    raise PiiNotPermitted(case.id)
