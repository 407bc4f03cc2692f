"""A case's timers: deadlines, reminders and follow-ups scheduled, moved and cancelled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.models.columns import dumps
from engine.repository.connection import TxCore

_INSERT_TIMER = (
    "INSERT INTO timers (case_id, kind, name, due_at, on_expiry, status, provisional, "
    "working_days, days, payload, created_at, attempts) VALUES (:case_id, :kind, :name, "
    ":due_at, :on_expiry, 'pending', :provisional, :working_days, :days, :payload, :now, 0)"
)
_CANCEL_TIMERS = (
    "UPDATE timers SET status = 'cancelled' WHERE case_id = :case_id AND kind = :kind "
    "AND name = :name AND status = 'pending'"
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
            "SELECT id, due_at FROM timers WHERE case_id = :case_id AND kind = :kind "
            "AND name = :name AND status = 'pending'",
            {"case_id": case_id, "kind": kind, "name": name},
        )
        return [(int(r["id"]), self.codec.dt_in_required(r["due_at"])) for r in rows]

    def pending_periods(
        self, case_id: int, kind: str, name: str
    ) -> list[tuple[int, datetime, int, bool]]:
        """(id, started at, length in days, working days?) of pending timers of (kind, name)."""
        rows = self.rows(
            "SELECT id, created_at, days, working_days FROM timers WHERE case_id = :case_id "
            "AND kind = :kind AND name = :name AND status = 'pending'",
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
            "UPDATE timers SET due_at = :due_at, provisional = :provisional, "
            "days = COALESCE(:days, days) WHERE id = :id",
            {
                "id": timer_id,
                "due_at": self.codec.dt_out(due_at),
                "provisional": provisional,
                "days": days,
            },
        )

    def cancel_all_timers(self, case_id: int) -> int:
        return self.execute(
            "UPDATE timers SET status = 'cancelled' WHERE case_id = :case_id "
            "AND status IN ('pending', 'failed')",
            {"case_id": case_id},
        ).rowcount

    def running_deadlines(self, case_id: int) -> list[PendingTimer]:
        """The case's pending state deadlines and clocks, soonest first."""
        rows = self.rows(
            "SELECT kind, name, due_at FROM timers WHERE case_id = :case_id "
            "AND status = 'pending' AND kind IN ('state_deadline', 'clock') ORDER BY due_at",
            {"case_id": case_id},
        )
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
        where = "status = :status" + (" AND case_id = :case" if case_id is not None else "")
        rows = self.rows(
            "SELECT id, case_id, kind, name, due_at, on_expiry, provisional, attempts, last_error "
            f"FROM timers WHERE {where} ORDER BY due_at LIMIT :limit",
            {"status": status, "case": case_id, "limit": limit},
        )
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
