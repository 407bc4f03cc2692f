"""Read-only listing and search queries for hosts (the HTTP API): cases by filter and scope,
parties, sessions, assignments, org units and users. Nothing here writes.

Hand SQL on purpose: the case lists and their scope clause are tuned statements measured by
bench.scale at 1M cases.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from engine.records import Actor
from engine.records import OrgUnitRow as OrgUnitRow  # re-exported: the row org_unit() returns
from engine.repository import Tx
from engine.repository.connection import Row
from engine.repository.directory import ORG_UNIT, org_unit_row
from mediation import search
from mediation.records import SCOPE_COLUMNS, MediationCase
from mediation.repository import MediationTx

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class CaseFilters:
    """What a case list may be narrowed by; None means "any"."""

    states: tuple[str, ...] = ()
    level: str | None = None
    category_code: str | None = None
    org_unit_id: int | None = None  # the unit and its subtree
    assignee_id: int | None = None  # an active assignment
    overdue: bool | None = None
    court_ids: frozenset[int] | None = None  # applications addressed to these courts
    text: str | None = None  # case number or party name, substring


@dataclass(frozen=True, slots=True)
class CaseRow:
    id: int
    number: str
    spec_id: str
    spec_version: int
    state: str
    level: str
    category_code: str
    risk_level: str
    origin: str
    summary: str
    org_unit_id: int
    committee_id: int
    court_id: int | None
    overdue: bool
    version: int
    created_at: datetime
    state_entered_at: datetime


@dataclass(frozen=True, slots=True)
class CaseExtra:
    """The columns of a case that MediationCase leaves out."""

    summary: str
    registrar_id: int | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PartyRow:
    party_id: int
    case_party_id: int
    role: str
    kind: str
    name: str
    sex: str | None
    ethnicity: str | None
    birth_date: date | None
    occupation: str | None
    address: str
    representative: str | None
    guardian_name: str | None
    agent_name: str | None
    consent: str
    consent_at: datetime | None
    notice_acknowledged_at: datetime | None
    id_number_masked: str | None
    id_number_cipher: str | None
    phone_masked: str | None
    phone_cipher: str | None
    guardian_relation: str | None = None  # R-MINOR: the 法定代理人's relation to the party


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: int
    state: str
    level: str
    held_at: datetime
    place: str
    public: bool
    attendees: list[str]
    record: str
    recorder_id: int | None


@dataclass(frozen=True, slots=True)
class AssignmentRow:
    id: int
    user_id: int
    display_name: str
    role: str
    assigned_at: datetime
    ended_at: datetime | None
    parties_consented_at: datetime | None


@dataclass(frozen=True, slots=True)
class MembershipRow:
    org_unit_id: int
    role: str
    path: str


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    username: str
    display_name: str
    active: bool
    password_hash: str | None
    memberships: tuple[MembershipRow, ...]


def in_params(prefix: str, values: Iterable[Any], params: dict[str, Any]) -> str:
    """`:p0, :p1, ...` for an IN list, adding the values to params."""
    names = []
    for index, value in enumerate(values):
        name = f"{prefix}{index}"
        params[name] = value
        names.append(f":{name}")
    return ", ".join(names) or "NULL"


_CASE_ROW = (
    "c.id, c.number, c.spec_id, c.spec_version, c.state, c.level, c.category_code, "
    "c.risk_level, c.origin, c.summary, c.org_unit_id, c.committee_id, c.court_id, c.overdue, "
    "c.version, c.created_at, c.state_entered_at"
)


def scope_clause(actor: Actor, params: dict[str, Any]) -> str:
    """SQL true for the cases `engine.access.in_scope` lets the actor see."""
    if actor.all_units:
        return "1 = 1"
    parts = []
    if actor.unit_ids:
        units = in_params("scope", sorted(actor.unit_ids), params)
        parts += [f"c.{column} IN ({units})" for column in SCOPE_COLUMNS]
    if actor.user_id is not None:
        params["scope_user"] = actor.user_id
        parts.append(
            "EXISTS (SELECT 1 FROM assignments a WHERE a.case_id = c.id "
            "AND a.user_id = :scope_user AND a.ended_at IS NULL)"
        )
    return "(" + " OR ".join(parts) + ")" if parts else "1 = 0"


def list_cases(
    tx: Tx, actor: Actor, filters: CaseFilters, *, before_id: int | None, limit: int
) -> list[CaseRow]:
    """Visible cases matching the filters, newest first, `limit` of them before `before_id`."""
    params: dict[str, Any] = {"limit": max(1, min(limit, MAX_PAGE))}
    where = [scope_clause(actor, params)]
    if before_id is not None:
        where.append("c.id < :before_id")
        params["before_id"] = before_id
    if filters.states:
        where.append(f"c.state IN ({in_params('state', filters.states, params)})")
    if filters.level is not None:
        where.append("c.level = :level")
        params["level"] = filters.level
    if filters.category_code is not None:
        where.append("c.category_code = :category")
        params["category"] = filters.category_code
    if filters.overdue is not None:
        where.append("c.overdue = :overdue")
        params["overdue"] = filters.overdue
    if filters.org_unit_id is not None:
        where.append(
            "c.org_unit_id IN (SELECT s.id FROM org_units s, org_units u WHERE u.id = :unit "
            "AND s.path LIKE u.path || :any_suffix)"
        )
        params["unit"] = filters.org_unit_id
        params["any_suffix"] = "%"  # a parameter: a literal percent sign upsets psycopg
    if filters.assignee_id is not None:
        where.append(
            "EXISTS (SELECT 1 FROM assignments f WHERE f.case_id = c.id "
            "AND f.user_id = :assignee AND f.ended_at IS NULL)"
        )
        params["assignee"] = filters.assignee_id
    if filters.court_ids is not None:
        where.append(f"c.court_id IN ({in_params('court', sorted(filters.court_ids), params)})")
    if filters.text:
        where.append(search.matching(tx.db.dialect, filters.text, params))
    sql = (
        f"SELECT {_CASE_ROW} FROM cases c WHERE {' AND '.join(where)} "
        "ORDER BY c.id DESC LIMIT :limit"
    )
    dt = tx.codec.dt_in_required
    return [
        CaseRow(
            id=r["id"],
            number=r["number"],
            spec_id=r["spec_id"],
            spec_version=r["spec_version"],
            state=r["state"],
            level=r["level"],
            category_code=r["category_code"],
            risk_level=r["risk_level"],
            origin=r["origin"],
            summary=r["summary"],
            org_unit_id=r["org_unit_id"],
            committee_id=r["committee_id"],
            court_id=r["court_id"],
            overdue=bool(r["overdue"]),
            version=r["version"],
            created_at=dt(r["created_at"]),
            state_entered_at=dt(r["state_entered_at"]),
        )
        for r in tx.rows(sql, params)
    ]


def party_names(tx: Tx, case_ids: Sequence[int]) -> dict[int, list[str]]:
    """Party names per case, in registration order, for a page of cases."""
    if not case_ids:
        return {}
    params: dict[str, Any] = {}
    rows = tx.rows(
        "SELECT cp.case_id, p.name FROM case_parties cp JOIN parties p ON p.id = cp.party_id "
        f"WHERE cp.case_id IN ({in_params('case', case_ids, params)}) ORDER BY cp.id",
        params,
    )
    names: dict[int, list[str]] = {case_id: [] for case_id in case_ids}
    for row in rows:
        names[int(row["case_id"])].append(str(row["name"]))
    return names


def case_with_extra(tx: MediationTx, case_id: int) -> tuple[MediationCase, CaseExtra] | None:
    """The case and the columns MediationCase leaves out, in one statement (the hot read)."""
    return cases_with_extra(tx, [case_id]).get(case_id)


def cases_with_extra(
    tx: MediationTx, case_ids: Collection[int]
) -> dict[int, tuple[MediationCase, CaseExtra]]:
    """Several cases with those columns in one statement (the API coalesces its reads)."""
    params: dict[str, Any] = {}
    if len(case_ids) == 1:  # the common case keeps one statement text, prepared once
        where = "id = :id"
        params["id"] = next(iter(case_ids))
    else:
        where = f"id IN ({in_params('id', case_ids, params)})"
    rows = tx.rows(
        f"SELECT {tx.case_layout.columns}, summary, registrar_id, updated_at FROM cases "
        f"WHERE {where}",
        params,
    )
    return {int(row["id"]): (tx.case_record(row), _case_extra(tx, row)) for row in rows}


def _case_extra(tx: Tx, row: Row) -> CaseExtra:
    return CaseExtra(
        summary=row["summary"],
        registrar_id=row["registrar_id"],
        updated_at=tx.codec.dt_in_required(row["updated_at"]),
    )


def case_extra(tx: Tx, case_id: int) -> CaseExtra | None:
    row = tx.row(
        "SELECT summary, registrar_id, updated_at FROM cases WHERE id = :id", {"id": case_id}
    )
    return None if row is None else _case_extra(tx, row)


def parties(tx: Tx, case_id: int) -> list[PartyRow]:
    rows = tx.rows(
        "SELECT p.id AS party_id, cp.id AS case_party_id, cp.role, p.kind, p.name, p.sex, "
        "p.ethnicity, p.birth_date, p.occupation, p.address, p.representative, p.guardian_name, "
        "cp.agent_name, cp.consent, "
        "cp.consent_at, cp.notice_acknowledged_at, p.id_number_masked, p.id_number_cipher, "
        "p.phone_masked, p.phone_cipher, p.guardian_relation "
        "FROM case_parties cp JOIN parties p ON p.id = cp.party_id "
        "WHERE cp.case_id = :case_id ORDER BY cp.id",
        {"case_id": case_id},
    )
    dt = tx.codec.dt_in
    return [
        PartyRow(
            party_id=r["party_id"],
            case_party_id=r["case_party_id"],
            role=r["role"],
            kind=r["kind"],
            name=r["name"],
            sex=r["sex"],
            ethnicity=r["ethnicity"],
            birth_date=_date(r["birth_date"]),
            occupation=r["occupation"],
            address=r["address"],
            representative=r["representative"],
            guardian_name=r["guardian_name"],
            agent_name=r["agent_name"],
            consent=r["consent"],
            consent_at=dt(r["consent_at"]),
            notice_acknowledged_at=dt(r["notice_acknowledged_at"]),
            id_number_masked=r["id_number_masked"],
            id_number_cipher=r["id_number_cipher"],
            phone_masked=r["phone_masked"],
            phone_cipher=r["phone_cipher"],
            guardian_relation=r["guardian_relation"],
        )
        for r in rows
    ]


def _date(value: Any) -> date | None:
    """A DATE column's value: SQLite hands back its ISO text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def sessions(tx: Tx, case_id: int) -> list[SessionRow]:
    rows = tx.rows(
        "SELECT id, state, level, held_at, place, public, attendees, record, recorder_id "
        "FROM mediation_sessions WHERE case_id = :case_id ORDER BY held_at, id",
        {"case_id": case_id},
    )
    return [
        SessionRow(
            id=r["id"],
            state=r["state"],
            level=r["level"],
            held_at=tx.codec.dt_in_required(r["held_at"]),
            place=r["place"],
            public=bool(r["public"]),
            attendees=list(json.loads(r["attendees"])),
            record=r["record"],
            recorder_id=r["recorder_id"],
        )
        for r in rows
    ]


def assignments(tx: Tx, case_id: int) -> list[AssignmentRow]:
    rows = tx.rows(
        "SELECT a.id, a.user_id, u.display_name, a.role, a.assigned_at, a.ended_at, "
        "a.consented_at FROM assignments a JOIN users u ON u.id = a.user_id "
        "WHERE a.case_id = :case_id ORDER BY a.id",
        {"case_id": case_id},
    )
    dt = tx.codec.dt_in
    return [
        AssignmentRow(
            id=r["id"],
            user_id=r["user_id"],
            display_name=r["display_name"],
            role=r["role"],
            assigned_at=tx.codec.dt_in_required(r["assigned_at"]),
            ended_at=dt(r["ended_at"]),
            parties_consented_at=dt(r["consented_at"]),
        )
        for r in rows
    ]


def org_units(tx: Tx, *, kind: str | None = None, parent_id: int | None = None) -> list[OrgUnitRow]:
    where: list[str] = []
    params: dict[str, Any] = {}
    if kind is not None:
        where.append("kind = :kind")
        params["kind"] = kind
    if parent_id is not None:
        where.append("parent_id = :parent")
        params["parent"] = parent_id
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return [org_unit_row(r) for r in tx.rows(f"{ORG_UNIT}{clause} ORDER BY path", params)]


def org_unit(tx: Tx, unit_id: int) -> OrgUnitRow | None:
    return tx.org_unit(unit_id)


def subtree_ids(tx: Tx, paths: Iterable[str]) -> frozenset[int]:
    """Every org unit under (and including) the units with these materialised paths."""
    found: set[int] = set()
    for path in sorted(set(paths)):
        rows = tx.rows("SELECT id FROM org_units WHERE path LIKE :p", {"p": path + "%"})
        found.update(int(r["id"]) for r in rows)
    return frozenset(found)


_USER = "SELECT id, username, display_name, active, password_hash FROM users"


def _memberships(tx: Tx, user_ids: Sequence[int]) -> dict[int, list[MembershipRow]]:
    if not user_ids:
        return {}
    params: dict[str, Any] = {}
    rows = tx.rows(
        "SELECT m.user_id, m.org_unit_id, m.role, o.path FROM memberships m "
        "JOIN org_units o ON o.id = m.org_unit_id "
        f"WHERE m.user_id IN ({in_params('user', user_ids, params)}) ORDER BY m.id",
        params,
    )
    found: dict[int, list[MembershipRow]] = {uid: [] for uid in user_ids}
    for r in rows:
        found[int(r["user_id"])].append(
            MembershipRow(
                org_unit_id=int(r["org_unit_id"]), role=str(r["role"]), path=str(r["path"])
            )
        )
    return found


def _user_row(row: Row, members: Sequence[MembershipRow]) -> UserRow:
    return UserRow(
        id=int(row["id"]),
        username=row["username"],
        display_name=row["display_name"],
        active=bool(row["active"]),
        password_hash=row["password_hash"],
        memberships=tuple(members),
    )


def _user(tx: Tx, row: Row) -> UserRow:
    return _user_row(row, _memberships(tx, [int(row["id"])])[int(row["id"])])


def user(tx: Tx, user_id: int) -> UserRow | None:
    row = tx.row(f"{_USER} WHERE id = :id", {"id": user_id})
    return None if row is None else _user(tx, row)


def user_by_username(tx: Tx, username: str) -> UserRow | None:
    row = tx.row(f"{_USER} WHERE username = :username", {"username": username})
    return None if row is None else _user(tx, row)


def token_state(tx: Tx, user_id: int) -> tuple[bool, int] | None:
    """(active, token epoch) of a user."""
    row = tx.row("SELECT active, token_epoch FROM users WHERE id = :id", {"id": user_id})
    return None if row is None else (bool(row["active"]), int(row["token_epoch"]))


def session_state(tx: Tx, user_id: int, session_id: str) -> tuple[bool, int, bool] | None:
    """(active, token epoch, session revoked) in one read: what every authenticated request
    checks."""
    row = tx.row(
        "SELECT active, token_epoch, (SELECT COUNT(*) FROM revoked_sessions "
        "WHERE session_id = :sid) AS revoked FROM users WHERE id = :id",
        {"id": user_id, "sid": session_id},
    )
    if row is None:
        return None
    return bool(row["active"]), int(row["token_epoch"]), bool(row["revoked"])


def password_hash(tx: Tx, user_id: int) -> str | None:
    row = tx.row("SELECT password_hash FROM users WHERE id = :id", {"id": user_id})
    return None if row is None or row["password_hash"] is None else str(row["password_hash"])


def username_taken(tx: Tx, username: str) -> bool:
    """Whether a user already has this name in any letter case (`ADMIN` beside `admin`)."""
    row = tx.row("SELECT 1 FROM users WHERE lower(username) = :name", {"name": username.lower()})
    return row is not None


def user_id_any_case(tx: Tx, username: str) -> int | None:
    """The id of the user of this name in any letter case (names are unique that way)."""
    row = tx.row("SELECT id FROM users WHERE lower(username) = lower(:u)", {"u": username})
    return None if row is None else int(row["id"])


def users(tx: Tx, *, before_id: int | None, limit: int) -> list[UserRow]:
    params: dict[str, Any] = {"limit": max(1, min(limit, MAX_PAGE))}
    clause = ""
    if before_id is not None:
        clause = " WHERE id < :before_id"
        params["before_id"] = before_id
    rows = tx.rows(f"{_USER}{clause} ORDER BY id DESC LIMIT :limit", params)
    members = _memberships(tx, [int(r["id"]) for r in rows])
    return [_user_row(r, members[int(r["id"])]) for r in rows]


@dataclass(frozen=True, slots=True)
class AssignedCase:
    """A case someone took part in under a role, with its data (opinions, hours)."""

    id: int
    number: str
    state: str
    user_id: int
    data: dict[str, Any]


def assigned_cases(
    tx: Tx, role: str, *, user_id: int | None = None, actor: Actor | None = None
) -> list[AssignedCase]:
    """Cases anyone (or `user_id`) was ever assigned to under `role`, ended assignments
    included, within `actor`'s scope when given; newest first, each (case, person) once."""
    params: dict[str, Any] = {"role": role}
    people = "role = :role"
    if user_id is not None:
        people += " AND user_id = :user_id"
        params["user_id"] = user_id
    scope = scope_clause(actor, params) if actor is not None else "1 = 1"
    rows = tx.rows(  # DISTINCT on the assignments only: PostgreSQL cannot compare json values
        "SELECT c.id, c.number, c.state, a.user_id, c.data FROM cases c JOIN "
        f"(SELECT DISTINCT case_id, user_id FROM assignments WHERE {people}) a "
        f"ON a.case_id = c.id WHERE {scope} ORDER BY c.id DESC",
        params,
    )
    return [
        AssignedCase(
            id=int(r["id"]),
            number=str(r["number"]),
            state=str(r["state"]),
            user_id=int(r["user_id"]),
            data=json.loads(r["data"]) if isinstance(r["data"], str) else dict(r["data"] or {}),
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class FollowupDue:
    """A follow-up visit falling due, with its case's number and the timer's payload."""

    case_id: int
    number: str
    due_at: datetime
    payload: dict[str, Any]


def followups_due(tx: Tx, actor: Actor, until: datetime, *, limit: int) -> list[FollowupDue]:
    """Pending follow-ups of the actor's cases due by `until`, soonest first."""
    params: dict[str, Any] = {"until": tx.codec.dt_out(until), "limit": limit}
    scope = scope_clause(actor, params)
    rows = tx.rows(
        "SELECT t.case_id, c.number, t.payload, t.due_at FROM timers t "
        "JOIN cases c ON c.id = t.case_id "
        f"WHERE t.kind = 'followup' AND t.status = 'pending' AND t.due_at <= :until AND {scope} "
        "ORDER BY t.due_at LIMIT :limit",
        params,
    )
    found = []
    for r in rows:
        payload = r["payload"]
        data = json.loads(payload) if isinstance(payload, str) else payload  # JSON text column
        found.append(
            FollowupDue(
                case_id=int(r["case_id"]),
                number=str(r["number"]),
                due_at=tx.codec.dt_in_required(r["due_at"]),
                payload=data if isinstance(data, dict) else {},
            )
        )
    return found


def unit_branding(tx: Tx, unit_id: int) -> tuple[str | None, bytes | None]:
    """An org unit's seal text and logo (PNG), as its documents print them."""
    row = tx.row("SELECT seal_text, logo_png FROM org_units WHERE id = :id", {"id": unit_id})
    if row is None:
        return None, None
    logo = row["logo_png"]
    return row["seal_text"], bytes(logo) if logo is not None else None
