"""The 台账's reads and its few small writes: the cases of a unit's subtree in a period with
their parties and mediators (the export), the case numbers and counters an import must not
repeat, and the log of the full numbers an export reveals (R-PII).

Plain SQL on the engine's raw transaction (Tx runs statement text on the DB-API driver), each
statement behind a named function returning named rows. The import's bulk COPY / upsert of the
cases themselves stays with its writer (api/ledger/write.py), measured by bench/ledger.py.

Hand SQL on purpose: the export's reads and the import's checks are on bench.ledger's path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.repository import Tx
from mediation.queries import in_params


@dataclass(frozen=True, slots=True)
class LedgerCase:
    """A case as its ledger row shows it: where it was registered, by whom, and its outcome."""

    id: int
    number: str
    created_at: datetime
    committee_name: str  # the room's name for a case registered in a room, else the committee's
    grid_name: str | None
    category_name: str | None
    origin: str
    data: dict[str, Any]
    risk_level: str
    summary: str
    state: str
    spec_id: str
    spec_version: int
    result: str | None  # the statistics facts' outcome
    resolved_level: str | None
    agreement_effective_at: datetime | None
    closed_at: datetime | None
    latest_performance: str | None


@dataclass(frozen=True, slots=True)
class LedgerParty:
    """A party of a case with their numbers as stored (encrypted and masked) and their
    legal representative."""

    case_id: int
    role: str
    party_id: int
    name: str
    address: str | None
    id_number_cipher: str | None
    id_number_masked: str | None
    phone_cipher: str | None
    phone_masked: str | None
    guardian_name: str | None
    guardian_id_cipher: str | None
    guardian_id_masked: str | None
    guardian_relation: str | None


def unit_id_named(tx: Tx, name: str) -> int | None:
    """The org unit whose name or short name this is (the first stored, when several)."""
    row = tx.one("SELECT id FROM org_units WHERE name = :n OR short_name = :n", {"n": name})
    return int(row[0]) if row else None


def unit_paths(tx: Tx) -> dict[int, str]:
    """Every org unit's tree path, by id."""
    return {int(i): str(p) for i, p in tx.all("SELECT id, path FROM org_units")}


def case_ids_registered(
    tx: Tx, first: datetime, after: datetime, subtree_path: str | None
) -> list[int]:
    """The cases registered in [first, after), in a unit's subtree (committee, unit or grid
    under `subtree_path`) or anywhere (None), in registration order."""
    params: dict[str, Any] = {"first": tx.codec.dt_out(first), "after": tx.codec.dt_out(after)}
    where = "c.created_at >= :first AND c.created_at < :after"
    if subtree_path is not None:
        params["path"] = subtree_path + "%"
        subtree = "SELECT id FROM org_units WHERE path LIKE :path"
        where += (
            f" AND (c.committee_id IN ({subtree}) OR c.org_unit_id IN ({subtree}) "
            f"OR c.grid_id IN ({subtree}))"
        )
    rows = tx.all(f"SELECT c.id FROM cases c WHERE {where} ORDER BY c.created_at, c.id", params)
    return [int(r[0]) for r in rows]


def ledger_cases(tx: Tx, case_ids: Sequence[int]) -> list[LedgerCase]:
    """The cases' ledger rows, in registration order."""
    params: dict[str, Any] = {}
    ids = in_params("c", case_ids, params)
    rows = tx.rows(
        "SELECT c.id, c.number, c.created_at, CASE WHEN u.kind = 'room' THEN u.name "
        "ELSE m.name END AS committee_name, g.name AS grid_name, k.name AS category_name, "
        "c.origin, c.data, c.risk_level, c.summary, c.state, c.spec_id, c.spec_version, "
        "f.result, f.resolved_level, c.agreement_effective_at, c.closed_at, "
        "f.latest_performance "
        "FROM cases c JOIN org_units u ON u.id = c.org_unit_id "
        "JOIN org_units m ON m.id = c.committee_id "
        "LEFT JOIN org_units g ON g.id = c.grid_id "
        "LEFT JOIN categories k ON k.code = c.category_code "
        f"LEFT JOIN case_facts f ON f.case_id = c.id WHERE c.id IN ({ids}) "
        "ORDER BY c.created_at, c.id",
        params,
    )
    dt = tx.codec.dt_in
    return [
        LedgerCase(
            id=int(r["id"]),
            number=r["number"],
            created_at=tx.codec.dt_in_required(r["created_at"]),
            committee_name=r["committee_name"],
            grid_name=r["grid_name"],
            category_name=r["category_name"],
            origin=r["origin"],
            data=r["data"] if isinstance(r["data"], dict) else json.loads(r["data"] or "{}"),
            risk_level=r["risk_level"],
            summary=r["summary"],
            state=r["state"],
            spec_id=r["spec_id"],
            spec_version=int(r["spec_version"]),
            result=r["result"],
            resolved_level=r["resolved_level"],
            agreement_effective_at=dt(r["agreement_effective_at"]),
            closed_at=dt(r["closed_at"]),
            latest_performance=r["latest_performance"],
        )
        for r in rows
    ]


def ledger_parties(tx: Tx, case_ids: Sequence[int]) -> dict[int, list[LedgerParty]]:
    """The cases' parties by case, each case's in the order they were added."""
    params: dict[str, Any] = {}
    ids = in_params("c", case_ids, params)
    parties: dict[int, list[LedgerParty]] = {}
    for r in tx.rows(
        "SELECT cp.case_id, cp.role, p.id AS party_id, p.name, p.address, p.id_number_cipher, "
        "p.id_number_masked, p.phone_cipher, p.phone_masked, p.guardian_name, "
        "p.guardian_id_cipher, p.guardian_id_masked, p.guardian_relation FROM case_parties cp "
        f"JOIN parties p ON p.id = cp.party_id WHERE cp.case_id IN ({ids}) ORDER BY cp.id",
        params,
    ):
        party = LedgerParty(**{**r, "case_id": int(r["case_id"]), "party_id": int(r["party_id"])})
        parties.setdefault(party.case_id, []).append(party)
    return parties


def mediator_names(tx: Tx, case_ids: Sequence[int]) -> dict[int, list[str]]:
    """The display names of the cases' mediators by case, in the order they were assigned."""
    params: dict[str, Any] = {}
    ids = in_params("c", case_ids, params)
    mediators: dict[int, list[str]] = {}
    for case_id, name in tx.all(
        "SELECT a.case_id, u.display_name FROM assignments a JOIN users u ON u.id = a.user_id "
        f"WHERE a.case_id IN ({ids}) AND a.role = 'mediator' ORDER BY a.id",
        params,
    ):
        mediators.setdefault(int(case_id), []).append(str(name))
    return mediators


def log_pii_reads(
    tx: Tx, at: datetime, user_id: int | None, purpose: str, reads: Iterable[Mapping[str, Any]]
) -> None:
    """R-PII: unmasked reads, each `{case_id, party_id, fields}`, logged in one round."""
    stamp = tx.codec.dt_out(at)
    tx.execute_many(
        "INSERT INTO pii_access_log (at, user_id, case_id, party_id, fields, purpose) "
        "VALUES (:at, :user_id, :case_id, :party_id, :fields, :purpose)",
        [{**r, "at": stamp, "user_id": user_id, "purpose": purpose} for r in reads],
    )


def numbers_stored(tx: Tx, numbers: Sequence[str]) -> set[str]:
    """Which of these case numbers are stored already."""
    params: dict[str, Any] = {}
    found = tx.all(
        f"SELECT number FROM cases WHERE number IN ({in_params('n', numbers, params)})", params
    )
    return {str(n) for (n,) in found}


def seqs_taken(tx: Tx, office_id: int, year: int) -> set[int]:
    """The sequence numbers a committee's cases of a year hold."""
    rows = tx.all(
        "SELECT seq FROM cases WHERE committee_id = :o AND year = :y", {"o": office_id, "y": year}
    )
    return {int(s) for (s,) in rows}


def last_seq(tx: Tx, office_id: int, year: int) -> int:
    """The highest sequence number a committee's year has given: its cases' or its counter's."""
    params = {"o": office_id, "y": year}
    found = tx.one("SELECT MAX(seq) FROM cases WHERE committee_id = :o AND year = :y", params)
    counter = tx.one(
        "SELECT last_seq FROM case_counters WHERE office_id = :o AND year = :y", params
    )
    return max(int(found[0] or 0) if found else 0, int(counter[0]) if counter else 0)


def raise_counters(tx: Tx, last: Mapping[tuple[int, int], int]) -> None:
    """Move each (committee, year) counter up to at least the given sequence number."""
    tx.execute_many(
        "INSERT INTO case_counters (office_id, year, last_seq) VALUES (:o, :y, :s) "
        "ON CONFLICT (office_id, year) DO UPDATE SET last_seq = CASE WHEN excluded.last_seq > "
        "case_counters.last_seq THEN excluded.last_seq ELSE case_counters.last_seq END",
        [{"o": o, "y": y, "s": s} for (o, y), s in last.items()],
    )
