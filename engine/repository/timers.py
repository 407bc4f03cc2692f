"""A case's timers: deadlines, reminders and follow-ups scheduled, moved and cancelled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.models.columns import dumps
from engine.models.delivery import Timer
from engine.repository.connection import TxCore
from engine.repository.statements import table_of

_TIMERS = table_of(Timer)
_C = _TIMERS.c
_PENDING = _C.status == "pending"
_OF_KIND_AND_NAME = sa.and_(
    _C.case_id == sa.bindparam("case_id"),
    _C.kind == sa.bindparam("kind"),
    _C.name == sa.bindparam("name"),
    _PENDING,
)
# entering a state with a deadline inserts and cancels timers in the fire's transaction: Core,
# compiled once, costs a dict lookup there (bench.engine)
_INSERT_TIMER = sa.insert(_TIMERS).values(
    case_id=sa.bindparam("case_id"),
    kind=sa.bindparam("kind"),
    name=sa.bindparam("name"),
    due_at=sa.bindparam("due_at"),
    on_expiry=sa.bindparam("on_expiry"),
    status="pending",
    provisional=sa.bindparam("provisional"),
    working_days=sa.bindparam("working_days"),
    days=sa.bindparam("days"),
    payload=sa.bindparam("payload"),
    created_at=sa.bindparam("now"),
    attempts=0,
)
_CANCEL_TIMERS = sa.update(_TIMERS).values(status="cancelled").where(_OF_KIND_AND_NAME)
_PENDING_TIMERS = sa.select(_C.id, _C.due_at).where(_OF_KIND_AND_NAME)
_PENDING_PERIODS = sa.select(_C.id, _C.created_at, _C.days, _C.working_days).where(
    _OF_KIND_AND_NAME
)
_MOVE_TIMER = (
    sa.update(_TIMERS)
    .values(
        due_at=sa.bindparam("due_at"),
        provisional=sa.bindparam("provisional"),
        days=sa.func.coalesce(sa.bindparam("days"), _C.days),
    )
    .where(_C.id == sa.bindparam("id"))
)
_CANCEL_ALL_TIMERS = (
    sa.update(_TIMERS)
    .values(status="cancelled")
    .where(
        _C.case_id == sa.bindparam("case_id"),
        _C.status.in_([sa.literal("pending"), sa.literal("failed")]),
    )
)
_RUNNING_DEADLINES = (
    sa.select(_C.kind, _C.name, _C.due_at)
    .where(
        _C.case_id == sa.bindparam("case_id"),
        _PENDING,
        _C.kind.in_([sa.literal("state_deadline"), sa.literal("clock")]),
    )
    .order_by(_C.due_at)
)
_TIMER_ROW = sa.select(
    _C.id,
    _C.case_id,
    _C.kind,
    _C.name,
    _C.due_at,
    _C.on_expiry,
    _C.provisional,
    _C.attempts,
    _C.last_error,
)
_TIMERS_BY_STATUS = (
    _TIMER_ROW.where(_C.status == sa.bindparam("status"))
    .order_by(_C.due_at)
    .limit(sa.bindparam("limit"))
)
_CASE_TIMERS_BY_STATUS = (
    _TIMER_ROW.where(_C.status == sa.bindparam("status"), _C.case_id == sa.bindparam("case"))
    .order_by(_C.due_at)
    .limit(sa.bindparam("limit"))
)


@dataclass(frozen=True, slots=True)
class PendingTimer:
    """A pending timer of a case: what it is and when it falls due."""

    kind: str
    name: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class TimerRow:
    """A timer as the operator lists it: when it falls due and how its runs went."""

    id: int
    case_id: int
    kind: str
    name: str
    due_at: datetime
    on_expiry: str
    provisional: bool
    attempts: int
    last_error: str | None


class TimerQueries(TxCore):
    """Tx's queries on a case's timers; Tx combines them."""

    # --- timers --------------------------------------------------------------------------

    def insert_timer(
        self,
        *,
        case_id: int,
        kind: str,
        name: str,
        due_at: datetime,
        on_expiry: str,
        provisional: bool,
        working_days: bool,
        days: int,
        now: datetime,
        payload: Mapping[str, Any] | None = None,
    ) -> int:
        return self.insert(
            _INSERT_TIMER,
            {
                "case_id": case_id,
                "kind": kind,
                "name": name,
                "due_at": self.codec.dt_out(due_at),
                "on_expiry": on_expiry,
                "provisional": provisional,
                "working_days": working_days,
                "days": days,
                "payload": dumps(dict(payload or {})),
                "now": self.codec.dt_out(now),
            },
        )

    def cancel_timers(self, case_id: int, kind: str, name: str) -> int:
        return self.execute(
            _CANCEL_TIMERS, {"case_id": case_id, "kind": kind, "name": name}
        ).rowcount

    def pending_timers(self, case_id: int, kind: str, name: str) -> list[tuple[int, datetime]]:
        rows = self.rows(
            _PENDING_TIMERS,
            {"case_id": case_id, "kind": kind, "name": name},
        )
        return [(int(r["id"]), self.codec.dt_in_required(r["due_at"])) for r in rows]

    def pending_periods(
        self, case_id: int, kind: str, name: str
    ) -> list[tuple[int, datetime, int, bool]]:
        """(id, started at, length in days, working days?) of pending timers of (kind, name)."""
        rows = self.rows(
            _PENDING_PERIODS,
            {"case_id": case_id, "kind": kind, "name": name},
        )
        return [
            (
                int(r["id"]),
                self.codec.dt_in_required(r["created_at"]),
                int(r["days"]),
                bool(r["working_days"]),
            )
            for r in rows
        ]

    def move_timer(
        self, timer_id: int, due_at: datetime, provisional: bool, days: int | None = None
    ) -> None:
        self.execute(
            _MOVE_TIMER,
            {
                "id": timer_id,
                "due_at": self.codec.dt_out(due_at),
                "provisional": provisional,
                "days": days,
            },
        )

    def cancel_all_timers(self, case_id: int) -> int:
        return self.execute(_CANCEL_ALL_TIMERS, {"case_id": case_id}).rowcount

    def running_deadlines(self, case_id: int) -> list[PendingTimer]:
        """The case's pending state deadlines and clocks, soonest first."""
        rows = self.rows(_RUNNING_DEADLINES, {"case_id": case_id})
        return [
            PendingTimer(
                kind=str(r["kind"]),
                name=str(r["name"]),
                due_at=self.codec.dt_in_required(r["due_at"]),
            )
            for r in rows
        ]

    def timers_by_status(self, status: str, *, case_id: int | None, limit: int) -> list[TimerRow]:
        """Timers in one status (of one case, or every case), soonest due first."""
        statement = _TIMERS_BY_STATUS if case_id is None else _CASE_TIMERS_BY_STATUS
        rows = self.rows(statement, {"status": status, "case": case_id, "limit": limit})
        return [
            TimerRow(
                id=int(r["id"]),
                case_id=int(r["case_id"]),
                kind=str(r["kind"]),
                name=str(r["name"]),
                due_at=self.codec.dt_in_required(r["due_at"]),
                on_expiry=str(r["on_expiry"]),
                provisional=bool(r["provisional"]),
                attempts=int(r["attempts"]),
                last_error=r["last_error"],
            )
            for r in rows
        ]
