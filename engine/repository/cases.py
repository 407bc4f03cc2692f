"""Cases and their history: the fire path's hand-tuned statements (load, versioned update
with its audit event in one round trip) and the events read back."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from engine.audit import CaseBinding, ChainHead
from engine.models.columns import dumps
from engine.records import CaseRecord, EventRecord
from engine.repository.connection import TxCore

CASE_COLUMNS = (
    "id, number, committee_id, spec_id, spec_version, state, level, resolved_level, "
    "category_code, risk_level, origin, org_unit_id, grid_id, court_id, referring_court_id, "
    "state_sessions, overdue, data, version, audit_seq, audit_head, created_at, "
    "state_entered_at, agreement_effective_at, closed_at"
)
CASE_COLUMN_COUNT = CASE_COLUMNS.count(",") + 1
_LOAD_CASE = f"SELECT {CASE_COLUMNS} FROM cases WHERE id = :id"
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


class CaseQueries(TxCore):
    """Tx's queries on cases and their history; Tx combines them."""

    # --- cases ---------------------------------------------------------------------------

    def load_case(self, case_id: int, *, for_update: bool = False) -> CaseRecord | None:
        text = _LOAD_CASE + (" FOR UPDATE" if for_update and not self.codec.sqlite else "")
        row = self.one(text, {"id": case_id})
        return None if row is None else self.case_record(row)

    def case_record(self, row: Sequence[Any]) -> CaseRecord:
        """A CaseRecord from a row whose first columns are CASE_COLUMNS, in that order."""
        dt = self.codec.dt_in
        return CaseRecord(
            id=row[0],
            number=row[1],
            committee_id=row[2],
            spec_id=row[3],
            spec_version=row[4],
            state=row[5],
            level=row[6],
            resolved_level=row[7],
            category_code=row[8],
            risk_level=row[9],
            origin=row[10],
            org_unit_id=row[11],
            grid_id=row[12],
            court_id=row[13],
            referring_court_id=row[14],
            state_sessions=row[15],
            overdue=bool(row[16]),
            data=json.loads(row[17]),
            version=row[18],
            audit_seq=row[19],
            audit_head=row[20],
            created_at=self.codec.dt_in_required(row[21]),
            state_entered_at=self.codec.dt_in_required(row[22]),
            agreement_effective_at=dt(row[23]),
            closed_at=dt(row[24]),
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
    ) -> bool:
        """The versioned case update and its audit event; False (nothing written) when the
        version moved on. On PostgreSQL both go in one statement: one round trip less per
        fire (bench/engine.py)."""
        update, params = self._case_update(
            case_id, expected_version, state, event.seq, event.hash, now, state_changed, changes
        )
        if self.codec.sqlite:  # no data-modifying WITH in SQLite: two statements
            if self.execute(update, params).rowcount != 1:
                return False
            self.insert_event(case_id, event)
            return True
        event_params = {f"e_{k}": v for k, v in self._event_params(case_id, event).items()}
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
        unknown = set(changes) - _MUTABLE_CASE_FIELDS
        if unknown:
            raise KeyError(f"not a mutable case field: {sorted(unknown)}")
        sets = ["state = :state", "version = :new_version", "audit_seq = :audit_seq"]
        sets += ["audit_head = :audit_head", "updated_at = :now"]
        params: dict[str, Any] = {
            "id": case_id,
            "expected": expected_version,
            "new_version": expected_version + 1,
            "state": state,
            "audit_seq": audit_seq,
            "audit_head": audit_head,
            "now": self.codec.dt_out(now),
        }
        if state_changed:
            sets.append("state_entered_at = :now")
        for name in sorted(changes):
            value = changes[name]
            if name in _DATETIME_FIELDS:
                value = self.codec.dt_out(value)
            elif name == "data":
                value = dumps(value)
            sets.append(f"{name} = :{name}")
            params[name] = value
        text = f"UPDATE cases SET {', '.join(sets)} WHERE id = :id AND version = :expected"
        return text, params

    def insert_event(self, case_id: int, event: EventRecord) -> None:
        self.execute(_INSERT_EVENT, self._event_params(case_id, event))

    def _event_params(self, case_id: int, event: EventRecord) -> dict[str, Any]:
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
            "payload": dumps(event.payload),
            "reason": event.reason,
            "prev_hash": event.prev_hash,
            "hash": event.hash,
        }

    def events(self, case_id: int) -> list[EventRecord]:
        rows = self.all(
            "SELECT seq, at, actor_id, actor_name, actor_roles, trigger, source_state, "
            "dest_state, version, payload, reason, prev_hash, hash FROM audit_events "
            "WHERE case_id = :case_id ORDER BY seq",
            {"case_id": case_id},
        )
        return [
            EventRecord(
                seq=r[0],
                at=self.codec.dt_in_required(r[1]),
                actor_id=r[2],
                actor_name=r[3],
                actor_roles=tuple(x for x in str(r[4]).split(",") if x),
                trigger=r[5],
                source_state=r[6],
                dest_state=r[7],
                version=r[8],
                payload=json.loads(r[9]),
                reason=r[10],
                prev_hash=r[11],
                hash=r[12],
            )
            for r in rows
        ]

    def case_ids(self) -> list[int]:
        """Every case's id, in order."""
        return [int(r[0]) for r in self.all("SELECT id FROM cases ORDER BY id")]

    def chain_binding(self, case_id: int) -> CaseBinding | None:
        """What the case row says its hash chain produced; None for no such case."""
        row = self.one(
            "SELECT audit_head, state, version, audit_seq FROM cases WHERE id = :id",
            {"id": case_id},
        )
        if row is None:
            return None
        return CaseBinding(str(row[1]), int(row[2]), int(row[3]), str(row[0]))

    def chain_heads(self) -> list[ChainHead]:
        """Every case's chain head (from its last event), in case order."""
        rows = self.all(
            "SELECT e.case_id, e.seq, e.hash FROM audit_events e "
            "JOIN (SELECT case_id, MAX(seq) AS seq FROM audit_events GROUP BY case_id) m "
            "ON m.case_id = e.case_id AND m.seq = e.seq ORDER BY e.case_id"
        )
        return [ChainHead(int(r[0]), int(r[1]), str(r[2])) for r in rows]
