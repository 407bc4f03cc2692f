"""Cases and their history: the fire path's hand-tuned statements (load, versioned update
with its audit event in one round trip) and the events read back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any

from engine.audit import CaseBinding, ChainHead
from engine.models.columns import dumps
from engine.records import CaseRecord, EventRecord
from engine.repository.connection import Row, TxCore

CASE_COLUMNS = (
    "id, number, committee_id, spec_id, spec_version, state, level, resolved_level, "
    "category_code, risk_level, origin, org_unit_id, grid_id, court_id, referring_court_id, "
    "state_sessions, overdue, data, version, audit_seq, audit_head, created_at, "
    "state_entered_at, agreement_effective_at, closed_at"
)
_LOAD_CASE = f"SELECT {CASE_COLUMNS} FROM cases WHERE id = :id"
# load_case builds its record from the row's values in place: CASE_COLUMNS name CaseRecord's
# fields in order (checked here, so neither can move without the other), and the values
# needing decoding are found by name once
_CASE_NAMES = tuple(name.strip() for name in CASE_COLUMNS.split(","))
if tuple(f.name for f in fields(CaseRecord)) != _CASE_NAMES:
    raise AssertionError("CASE_COLUMNS must name CaseRecord's fields in order")
_OVERDUE, _DATA = _CASE_NAMES.index("overdue"), _CASE_NAMES.index("data")
_REQUIRED_TIMES = tuple(_CASE_NAMES.index(n) for n in ("created_at", "state_entered_at"))
_OPTIONAL_TIMES = tuple(_CASE_NAMES.index(n) for n in ("agreement_effective_at", "closed_at"))
_EVENT_COLUMN_NAMES = (
    "case_id",
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "actor_roles",
    "trigger",
    "source_state",
    "dest_state",
    "version",
    "payload",
    "reason",
    "prev_hash",
    "hash",
)
_EVENT_COLUMNS = ", ".join(_EVENT_COLUMN_NAMES)
_INSERT_EVENT = (
    f"INSERT INTO audit_events ({_EVENT_COLUMNS}) "
    f"VALUES ({', '.join(':' + c for c in _EVENT_COLUMN_NAMES)})"
)
_MUTABLE_CASE_FIELDS = frozenset(
    {
        "level",
        "resolved_level",
        "risk_level",
        "category_code",
        "summary",
        "org_unit_id",
        "grid_id",
        "court_id",
        "state_sessions",
        "overdue",
        "data",
        "agreement_effective_at",
        "closed_at",
    }
)
_DATETIME_FIELDS = frozenset({"agreement_effective_at", "closed_at"})
# the versioned UPDATE's text per (state changed, columns the actions wrote): a handful of
# shapes, rendered once each rather than on every fire
_UPDATE_TEXTS: dict[tuple[bool, tuple[str, ...]], str] = {}


def _update_text(state_changed: bool, names: tuple[str, ...]) -> str:
    """The versioned UPDATE for the columns `names` (sorted), cached in _UPDATE_TEXTS."""
    unknown = set(names) - _MUTABLE_CASE_FIELDS
    if unknown:
        raise KeyError(f"not a mutable case field: {sorted(unknown)}")
    sets = ["version = :new_version", "audit_seq = :audit_seq"]
    sets += ["audit_head = :audit_head", "updated_at = :now"]
    if state_changed:  # else left out: SQLite rewrites an indexed column's entry when it is set
        sets += ["state = :state", "state_entered_at = :now"]
    sets += [f"{name} = :{name}" for name in names]
    text = f"UPDATE cases SET {', '.join(sets)} WHERE id = :id AND version = :expected"
    _UPDATE_TEXTS[(state_changed, names)] = text
    return text


class CaseQueries(TxCore):
    """Tx's queries on cases and their history; Tx combines them."""

    # --- cases ---------------------------------------------------------------------------

    def load_case(self, case_id: int, *, for_update: bool = False) -> CaseRecord | None:
        text = _LOAD_CASE + (" FOR UPDATE" if for_update and not self.codec.sqlite else "")
        row = self.one(text, {"id": case_id})
        if row is None:
            return None
        values = list(row)
        values[_OVERDUE] = bool(values[_OVERDUE])
        values[_DATA] = json.loads(values[_DATA])
        for i in _REQUIRED_TIMES:
            values[i] = self.codec.dt_in_required(values[i])
        for i in _OPTIONAL_TIMES:
            values[i] = self.codec.dt_in(values[i])
        return CaseRecord(*values)

    def case_record(self, row: Row) -> CaseRecord:
        """A CaseRecord from a row holding CASE_COLUMNS (by name; other columns are left)."""
        dt = self.codec.dt_in
        return CaseRecord(
            id=row["id"],
            number=row["number"],
            committee_id=row["committee_id"],
            spec_id=row["spec_id"],
            spec_version=row["spec_version"],
            state=row["state"],
            level=row["level"],
            resolved_level=row["resolved_level"],
            category_code=row["category_code"],
            risk_level=row["risk_level"],
            origin=row["origin"],
            org_unit_id=row["org_unit_id"],
            grid_id=row["grid_id"],
            court_id=row["court_id"],
            referring_court_id=row["referring_court_id"],
            state_sessions=row["state_sessions"],
            overdue=bool(row["overdue"]),
            data=json.loads(row["data"]),
            version=row["version"],
            audit_seq=row["audit_seq"],
            audit_head=row["audit_head"],
            created_at=self.codec.dt_in_required(row["created_at"]),
            state_entered_at=self.codec.dt_in_required(row["state_entered_at"]),
            agreement_effective_at=dt(row["agreement_effective_at"]),
            closed_at=dt(row["closed_at"]),
        )

    def record_transition(
        self,
        case_id: int,
        expected_version: int,
        *,
        state: str,
        now: datetime,
        state_changed: bool,
        changes: Mapping[str, Any],
        event: EventRecord,
        payload_text: str | None = None,
    ) -> bool:
        """The versioned case update and its audit event; False (nothing written) when the
        version moved on. On PostgreSQL both go in one statement: one round trip less per
        fire (bench/engine.py). `payload_text`: `dumps(event.payload)` when already at hand."""
        update, params = self._case_update(
            case_id, expected_version, state, event.seq, event.hash, now, state_changed, changes
        )
        if self.codec.sqlite:  # no data-modifying WITH in SQLite: two statements
            if self.execute(update, params).rowcount != 1:
                return False
            self.insert_event(case_id, event, payload_text)
            return True
        event_params = {
            f"e_{k}": v for k, v in self._event_params(case_id, event, payload_text).items()
        }
        text = (
            f"WITH moved AS ({update} RETURNING id) INSERT INTO audit_events ({_EVENT_COLUMNS}) "
            f"SELECT {', '.join(':e_' + c for c in _EVENT_COLUMN_NAMES)} FROM moved"
        )
        return self.execute(text, {**params, **event_params}).rowcount == 1

    def _case_update(
        self,
        case_id: int,
        expected_version: int,
        state: str,
        audit_seq: int,
        audit_head: str,
        now: datetime,
        state_changed: bool,
        changes: Mapping[str, Any],
    ) -> tuple[str, dict[str, Any]]:
        names = tuple(sorted(changes))
        text = _UPDATE_TEXTS.get((state_changed, names))
        if text is None:
            text = _update_text(state_changed, names)
        params: dict[str, Any] = {
            "id": case_id,
            "expected": expected_version,
            "new_version": expected_version + 1,
            "state": state,
            "audit_seq": audit_seq,
            "audit_head": audit_head,
            "now": self.codec.dt_out(now),
        }
        for name in names:
            value = changes[name]
            if name in _DATETIME_FIELDS:
                value = self.codec.dt_out(value)
            elif name == "data":
                value = dumps(value)
            params[name] = value
        return text, params

    def insert_event(
        self, case_id: int, event: EventRecord, payload_text: str | None = None
    ) -> None:
        """`payload_text`: `dumps(event.payload)` when the caller has it already."""
        self.execute(_INSERT_EVENT, self._event_params(case_id, event, payload_text))

    def _event_params(
        self, case_id: int, event: EventRecord, payload_text: str | None
    ) -> dict[str, Any]:
        return {
            "case_id": case_id,
            "seq": event.seq,
            "at": self.codec.dt_out(event.at),
            "actor_id": event.actor_id,
            "actor_name": event.actor_name,
            "actor_roles": ",".join(event.actor_roles),
            "trigger": event.trigger,
            "source_state": event.source_state,
            "dest_state": event.dest_state,
            "version": event.version,
            "payload": dumps(event.payload) if payload_text is None else payload_text,
            "reason": event.reason,
            "prev_hash": event.prev_hash,
            "hash": event.hash,
        }

    def events(self, case_id: int) -> list[EventRecord]:
        rows = self.rows(
            "SELECT seq, at, actor_id, actor_name, actor_roles, trigger, source_state, "
            "dest_state, version, payload, reason, prev_hash, hash FROM audit_events "
            "WHERE case_id = :case_id ORDER BY seq",
            {"case_id": case_id},
        )
        return [
            EventRecord(
                seq=r["seq"],
                at=self.codec.dt_in_required(r["at"]),
                actor_id=r["actor_id"],
                actor_name=r["actor_name"],
                actor_roles=tuple(x for x in str(r["actor_roles"]).split(",") if x),
                trigger=r["trigger"],
                source_state=r["source_state"],
                dest_state=r["dest_state"],
                version=r["version"],
                payload=json.loads(r["payload"]),
                reason=r["reason"],
                prev_hash=r["prev_hash"],
                hash=r["hash"],
            )
            for r in rows
        ]

    def case_ids(self) -> list[int]:
        """Every case's id, in order."""
        return [int(r["id"]) for r in self.rows("SELECT id FROM cases ORDER BY id")]

    def closed_without_document(self, kind: str, limit: int) -> list[int]:
        """Closed cases with no document of `kind` yet, the earliest closed first."""
        rows = self.rows(
            "SELECT c.id FROM cases c WHERE c.closed_at IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM documents d WHERE d.case_id = c.id AND d.kind = :kind) "
            "ORDER BY c.closed_at, c.id LIMIT :n",
            {"kind": kind, "n": limit},
        )
        return [int(r["id"]) for r in rows]

    def chain_binding(self, case_id: int) -> CaseBinding | None:
        """What the case row says its hash chain produced; None for no such case."""
        row = self.row(
            "SELECT audit_head, state, version, audit_seq FROM cases WHERE id = :id",
            {"id": case_id},
        )
        if row is None:
            return None
        return CaseBinding(
            state=str(row["state"]),
            version=int(row["version"]),
            seq=int(row["audit_seq"]),
            head=str(row["audit_head"]),
        )

    def chain_heads(self) -> list[ChainHead]:
        """Every case's chain head (from its last event), in case order."""
        rows = self.rows(
            "SELECT e.case_id, e.seq, e.hash FROM audit_events e "
            "JOIN (SELECT case_id, MAX(seq) AS seq FROM audit_events GROUP BY case_id) m "
            "ON m.case_id = e.case_id AND m.seq = e.seq ORDER BY e.case_id"
        )
        return [
            ChainHead(case_id=int(r["case_id"]), seq=int(r["seq"]), hash=str(r["hash"]))
            for r in rows
        ]
