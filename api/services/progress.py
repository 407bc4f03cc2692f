"""Party progress links: each party gets a link (and its QR code) to a page showing where
their case stands, without an account, once they type the last four digits of their phone.
The page shows nothing about anyone else; a link can be revoked, and stops working when the
case is closed. Wrong digits lock the link for a while (R-PII: four digits are few)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from api.authz import Principal, visible_case
from engine.errors import InvalidInput, NotFound
from mediation import queries
from mediation.engine import MediationEngine
from mediation.repository.progress import ProgressLinkState
from mediation.vocabulary import Role
from workflows.scheduling import upcoming_session

MAX_FAILED_CHECKS = 5
LOCK = timedelta(minutes=30)
PASS_LIFETIME = timedelta(hours=2)  # how long a correct check opens the page in that browser
LINK_ROLES = frozenset({Role.mediator, Role.central_household})
FINAL = frozenset({"closed", "terminated", "withdrawn", "inadmissible"})

# Where the case stands, said to a party in plain words.
PLAIN_STATES = {
    "intake": "您的纠纷已登记，正在安排调解。",
    "central_household": "您的纠纷正由中心户调解。",
    "mediation_room": "您的纠纷正在调解室调解。",
    "joint_mediation": "您的纠纷正在进行联合调解。",
    "agreement_drafted": "调解协议已拟好，等待各方签署。",
    "signing": "调解协议正在签署。",
    "agreement_in_effect": "调解协议已生效，请按协议履行。",
    "jc_applied": "已向法院申请司法确认，等待法院受理。",
    "jc_reviewing": "法院正在审查司法确认申请。",
    "confirmed": "法院已裁定确认调解协议有效。",
    "jc_rejected": "法院裁定驳回了司法确认申请，调解员会与您联系。",
    "followup": "调解员会回访协议的履行情况，请按协议履行。",
}


@dataclass(frozen=True, slots=True)
class LinkRow:
    id: int
    party_id: int
    party_name: str
    token: str
    created_at: datetime
    revoked: bool


@dataclass(frozen=True, slots=True)
class ProgressView:
    link_id: int
    case_id: int
    number: str
    party_name: str
    state: str
    plain: str
    confirmed: bool
    last_session: tuple[datetime, str] | None
    next_session: dict[str, Any] | None  # time, place and note of a session still to come
    agreement_version: int | None  # the latest agreement, when it names this party


def link_url(base_url: str, token: str) -> str:
    """The party's page: the secret is the link, and nothing else is in it."""
    return f"{base_url.rstrip('/')}/p/{token}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(engine: MediationEngine, principal: Principal, case_id: int, party_id: int) -> str:
    """A new link for one party of the case; its secret, once.

    Raises:
        CaseNotFound: out of scope.  NotFound: not a party of the case.
    """
    if not principal.has_any(LINK_ROLES):
        raise InvalidInput("只有调解员或中心户可以生成当事人查询链接", field="party_id")
    token = secrets.token_urlsafe(24)
    now = engine.clock.now()
    with engine.db.transaction(write=True) as tx:
        visible_case(tx, case_id, principal)
        if party_id not in {p.party_id for p in queries.parties(tx, case_id)}:
            raise NotFound("当事人", party_id)
        tx.add_progress_link(
            case_id=case_id,
            party_id=party_id,
            token_hash=_hash(token),
            token_cipher=engine.pii.encrypt(token),
            created_by=principal.user_id,
            now=now,
        )
    return token


def revoke_link(engine: MediationEngine, principal: Principal, case_id: int, link_id: int) -> None:
    now = engine.clock.now()
    with engine.db.transaction(write=True) as tx:
        visible_case(tx, case_id, principal)
        tx.revoke_progress_link(case_id, link_id, now)


def case_links(engine: MediationEngine, principal: Principal, case_id: int) -> list[LinkRow]:
    with engine.db.transaction(write=False) as tx:
        visible_case(tx, case_id, principal)
        names = {p.party_id: p.name for p in queries.parties(tx, case_id)}
        links = tx.progress_links(case_id)
    return [
        LinkRow(
            link.id,
            link.party_id,
            names.get(link.party_id, ""),
            engine.pii.decrypt(link.token_cipher),
            link.created_at,
            link.revoked_at is not None,
        )
        for link in links
    ]


def _open(link: ProgressLinkState | None) -> bool:
    return link is not None and link.revoked_at is None and link.case_state not in FINAL


def usable(engine: MediationEngine, token: str) -> bool:
    """Whether the link exists, is not revoked and its case is not closed."""
    with engine.db.transaction(write=False) as tx:
        link = tx.progress_link(_hash(token))
    return _open(link)


def check_digits(engine: MediationEngine, token: str, digits: str) -> tuple[int | None, str | None]:
    """(link id, None) when `digits` are the last four of the party's phone; else (None, why).
    Each wrong answer counts; five in a row lock the link for half an hour."""
    now = engine.clock.now()
    with engine.db.transaction(write=True) as tx:
        link = tx.progress_link(_hash(token))
        if link is None or not _open(link):
            return None, "该链接已失效，请与调解员联系"
        link_id, case_id, party_id = link.id, link.case_id, link.party_id
        locked = link.locked_until
        if locked is not None and locked > now:
            minutes = max(1, int((locked - now).total_seconds() // 60))
            return None, f"输错次数过多，请 {minutes} 分钟后再试"
        party = next((p for p in queries.parties(tx, case_id) if p.party_id == party_id), None)
        phone = engine.pii.decrypt(party.phone_cipher) if party and party.phone_cipher else ""
        if len(digits) == 4 and phone and hmac.compare_digest(phone[-4:], digits):
            tx.set_progress_checks(link_id, 0, None)
            return link_id, None
        failed = link.failed_checks + 1
        lock = now + LOCK if failed >= MAX_FAILED_CHECKS else None
        tx.set_progress_checks(link_id, 0 if lock else failed, lock)
    if not phone:
        return None, "登记时没有留手机号码，请与调解员联系"
    return None, "手机号码后四位不对，请重新输入"


def issue_pass(engine: MediationEngine, link_id: int) -> str:
    """The cookie that opens the page in this browser for a while: authenticated encryption,
    so nobody makes one without the server's key."""
    expires = int((engine.clock.now() + PASS_LIFETIME).timestamp())
    return engine.pii.encrypt(f"progress:{link_id}:{expires}")


def pass_link(engine: MediationEngine, value: str | None) -> int | None:
    if not value:
        return None
    try:
        kind, link_id, expires = engine.pii.decrypt(value).split(":")
    except Exception:  # a forged or garbled cookie: not a pass (InvalidTag, ValueError, ...)
        return None
    if kind != "progress" or int(expires) < engine.clock.now().timestamp():
        return None
    return int(link_id)


def progress(engine: MediationEngine, token: str, link_id: int) -> ProgressView | None:
    """The party's view, if `link_id` (from their pass) is this token's usable link."""
    with engine.db.transaction(write=False) as tx:
        link = tx.progress_link(_hash(token))
        if link is None or link.id != link_id or not _open(link):
            return None
        case_id, party_id = link.case_id, link.party_id
        case = tx.load_case(case_id)
        assert case is not None  # the link's foreign key
        party = next((p for p in queries.parties(tx, case_id) if p.party_id == party_id), None)
        sessions = queries.sessions(tx, case_id)
        agreements = tx.documents(case_id, "agreement")  # every party is a party to it
    spec = engine.registry.get(case.spec_id, case.spec_version).spec
    label = spec.state(case.state).label
    return ProgressView(
        link_id=link_id,
        case_id=case_id,
        number=case.number,
        party_name=party.name if party else "",
        state=case.state,
        plain=PLAIN_STATES.get(case.state, f"案件目前处于“{label}”阶段。"),
        confirmed=case.data.get("confirmation", {}).get("outcome") == "confirmed",
        last_session=(sessions[-1].held_at, sessions[-1].place) if sessions else None,
        next_session=upcoming_session(case.data, engine.clock.now()),
        agreement_version=agreements[-1].version if agreements else None,
    )


def agreement_digest(engine: MediationEngine, token: str, link_id: int) -> tuple[str, int] | None:
    """The party's own agreement (latest version) for download, when their pass is valid."""
    view = progress(engine, token, link_id)
    if view is None or view.agreement_version is None:
        return None
    with engine.db.transaction(write=False) as tx:
        latest = tx.documents(view.case_id, "agreement")[-1]
    return latest.sha256, latest.version
