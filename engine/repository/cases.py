"""Cases and their history: the fire path's hand-tuned statements (load, versioned update
with its audit event in one round trip) and the events read back.

The case row is the host's (its table declares the engine's CaseColumns and its own
attributes): CaseLayout derives the statements from that declaration once, per Tx class."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import datetime
from types import UnionType
from typing import Any, ClassVar, Union, get_args, get_origin

from engine.audit import CaseBinding, ChainHead
from engine.models.cases import CaseColumns
from engine.models.columns import dumps
from engine.records import CaseRecord, EventRecord
from engine.repository.connection import Row, TxCore

# the engine's columns its actions may write (ctx.set_case); a host adds its attributes
_ENGINE_MUTABLE = frozenset(
    {"level", "org_unit_id", "state_sessions", "overdue", "data", "closed_at"}
)
# the engine's columns an INSERT names (the others take their defaults or are set after it)
_ENGINE_INSERTED = (
    "number",
    "year",
    "seq",
    "spec_id",
    "spec_version",
    "state",
    "level",
    "org_unit_id",
    "registrar_id",
    "data",
)
_ENGINE_COLUMNS = frozenset(CaseColumns.model_fields)
_REQUIRED = object()  # an attribute without a default: the host names it on every start


def _kind(annotation: Any) -> str:
    """How a column's value is decoded and encoded: bool, json, time, time? or plain."""
    members = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
    optional = type(None) in members
    if optional:
        annotation = next(m for m in members if m is not type(None))
    if annotation is datetime:
        return "time?" if optional else "time"
    if annotation is bool:
        return "bool"
    if annotation is dict or get_origin(annotation) is dict:
        return "json"
    return "plain"


class CaseLayout:
    """What the engine reads and writes of a host's case row, derived once from its
    declaration: the record it loads (CaseRecord or the host's subclass, whose fields name the
    columns loaded, in order), the row's columns (CaseColumns or the host's table class: the
    host's attributes and their defaults on insert), and which attributes actions may write
    beside the engine's own. A Tx class carries one (`Tx.case_layout`; mediation: MediationTx).
    """

    def __init__(
        self,
        record: type[CaseRecord] = CaseRecord,
        row: type[CaseColumns] = CaseColumns,
        *,
        mutable: Iterable[str] = (),
    ) -> None:
        columns = row.model_fields
        kinds = {name: _kind(field.annotation) for name, field in columns.items()}
        self.record = record
        self.names = tuple(f.name for f in fields(record))
        unknown = set(self.names) - set(columns)
        if unknown:
            raise TypeError(f"{record.__name__} reads no column of {row.__name__}: {unknown}")
        self.columns = ", ".join(self.names)  # the SELECT list a record is built from
        self.load_text = f"SELECT {self.columns} FROM cases WHERE id = :id"
        # load_case decodes the row's values in place, found by position once
        positions: dict[str, list[int]] = {k: [] for k in ("bool", "json", "time", "time?")}
        for i, name in enumerate(self.names):
            positions.get(kinds[name], []).append(i)
        self.flags = tuple(positions["bool"])
        self.documents = tuple(positions["json"])
        self.required_times = tuple(positions["time"])
        self.optional_times = tuple(positions["time?"])
        # the host's attributes: the row's columns beyond the engine's, with their defaults
        self.attributes: dict[str, Any] = {}
        for name, field in columns.items():
            if name not in _ENGINE_COLUMNS:
                required = field.is_required()
                self.attributes[name] = (
                    _REQUIRED if required else field.get_default(call_default_factory=True)
                )
        self.mutable = _ENGINE_MUTABLE | frozenset(mutable)
        wrong = self.mutable - _ENGINE_MUTABLE - set(self.attributes)
        if wrong:
            raise TypeError(f"not an attribute of {row.__name__} actions may write: {wrong}")
        # the values a write encodes: timestamps through the codec, documents as JSON text
        self.encoded = {
            name: kinds[name].rstrip("?")
            for name in (*self.mutable, *self.attributes)
            if kinds[name] in ("json", "time", "time?")
        }
        inserted = (*_ENGINE_INSERTED, *self.attributes)
        self.insert_text = (
            f"INSERT INTO cases ({', '.join(inserted)}, state_sessions, overdue, version, "
            "audit_seq, audit_head, created_at, updated_at, state_entered_at) VALUES "
            f"({', '.join(':' + name for name in inserted)}, 0, false, 1, 1, '', :now, :now, "
            ":now)"
        )
        # the versioned UPDATE's text per (state changed, columns the actions wrote): a
        # handful of shapes, rendered once each rather than on every fire
        self.update_texts: dict[tuple[bool, tuple[str, ...]], str] = {}

    def update_text(self, state_changed: bool, names: tuple[str, ...]) -> str:
        """The versioned UPDATE for the columns `names` (sorted), cached in update_texts."""
        unknown = set(names) - self.mutable
        if unknown:
            raise KeyError(f"not a mutable case field: {sorted(unknown)}")
        sets = ["version = :new_version", "audit_seq = :audit_seq"]
        sets += ["audit_head = :audit_head", "updated_at = :now"]
        if state_changed:  # else left out: SQLite rewrites an indexed column's entry when it is set
            sets += ["state = :state", "state_entered_at = :now"]
        sets += [f"{name} = :{name}" for name in names]
        text = f"UPDATE cases SET {', '.join(sets)} WHERE id = :id AND version = :expected"
        self.update_texts[(state_changed, names)] = text
        return text


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


class CaseQueries(TxCore):
    """Tx's queries on cases and their history; Tx combines them."""

    case_layout: ClassVar[CaseLayout] = CaseLayout()  # a host's Tx names its own

    # --- cases ---------------------------------------------------------------------------

    def load_case(self, case_id: int, *, for_update: bool = False) -> CaseRecord | None:
        layout = self.case_layout
        text = layout.load_text + (" FOR UPDATE" if for_update and not self.codec.sqlite else "")
        row = self.one(text, {"id": case_id})
        if row is None:
            return None
        return self._decoded(layout, list(row))

    def case_record(self, row: Row) -> CaseRecord:
        """The case's record from a row holding `case_layout.columns` (by name; other
        columns are left)."""
        layout = self.case_layout
        return self._decoded(layout, [row[name] for name in layout.names])

    def _decoded(self, layout: CaseLayout, values: list[Any]) -> CaseRecord:
        """The record of the row's `values` (layout.names, in order), decoded in place."""
        for i in layout.flags:
            values[i] = bool(values[i])
        for i in layout.documents:
            values[i] = json.loads(values[i])
        for i in layout.required_times:
            values[i] = self.codec.dt_in_required(values[i])
        for i in layout.optional_times:
            values[i] = self.codec.dt_in(values[i])
        return layout.record(*values)

    def insert_case(self, row: Mapping[str, Any], now: datetime) -> int:
        """Insert a case row: the engine's columns (number, year, seq, spec_id, spec_version,
        state, level, org_unit_id, registrar_id, data) and the host's attributes (those not
        given take their declared defaults); its id. Its audit head is set by the caller."""
        layout = self.case_layout
        unknown = set(row) - set(_ENGINE_INSERTED) - set(layout.attributes)
        if unknown:
            raise ValueError(f"not a column a case is started with: {sorted(unknown)}")
        values = {**layout.attributes, **row, "now": self.codec.dt_out(now)}
        missing = sorted(name for name, value in values.items() if value is _REQUIRED)
        if missing:
            raise ValueError(f"the case row needs a value for: {missing}")
        for name, value in values.items():
            kind = layout.encoded.get(name)
            if kind is not None and value is not None:
                values[name] = self.codec.dt_out(value) if kind == "time" else dumps(value)
        return self.insert(layout.insert_text, values)

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
        layout = self.case_layout
        text = layout.update_texts.get((state_changed, names))
        if text is None:
            text = layout.update_text(state_changed, names)
        params: dict[str, Any] = {
            "id": case_id,
            "expected": expected_version,
            "new_version": expected_version + 1,
            "state": state,
            "audit_seq": audit_seq,
            "audit_head": audit_head,
            "now": self.codec.dt_out(now),
        }
        encoded = layout.encoded
        for name in names:
            value = changes[name]
            kind = encoded.get(name)
            if kind is not None:
                value = self.codec.dt_out(value) if kind == "time" else dumps(value)
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
