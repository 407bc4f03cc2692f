"""Due items: claim timer rows, run each one's effect, complete it in the same transaction.

The host decides when (api/scheduler.py ticks with APScheduler; tests call `fire_due` with a
frozen clock). Any number of workers may tick at once: rows are claimed with
`FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite serialises writers), and a timer's effect
commits together with its completion, so a crash between claim and completion leaves the
row to be claimed again once its lease runs out — never lost, never applied twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.errors import EngineError
from engine.ports import DeadlineCalendar
from engine.records import Actor
from engine.repository import Tx
from engine.runtime import Engine

log = logging.getLogger(__name__)

_CLAIM = (
    "UPDATE timers SET status = 'claimed', claimed_at = :now, attempts = attempts + 1 "
    "WHERE id IN (SELECT id FROM timers WHERE (status = 'pending' AND due_at <= :now) "
    "OR (status = 'claimed' AND claimed_at < :stale) ORDER BY due_at LIMIT :limit{lock}) "
    "RETURNING id, case_id, kind, name, due_at, on_expiry, payload, attempts"
)


@dataclass(frozen=True, slots=True)
class ClaimedTimer:
    """A timer this worker holds; `token` (the attempt count) proves the claim is still ours."""

    id: int
    case_id: int
    kind: str
    name: str
    due_at: datetime
    on_expiry: str
    payload: dict[str, Any]
    token: int


@dataclass
class TickReport:
    claimed: int = 0
    fired: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    lags: list[float] = field(default_factory=list)  # seconds from due to fired


class TimerService:
    """Runs due timers through the engine; stateless apart from its settings, thread-safe."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease: timedelta = timedelta(minutes=5),
        max_attempts: int = 5,
        batch: int = 500,
    ) -> None:
        self.engine = engine
        self.lease = lease
        self.max_attempts = max_attempts
        self.batch = batch

    def fire_due(self, now: datetime | None = None, *, limit: int | None = None) -> TickReport:
        """Claim the timers due at `now` (default: the engine's clock) and run each one.

        Returns:
            What happened, with the lag of every timer fired.
        """
        now = now or self.engine.clock.now()
        report = TickReport()
        remaining = limit
        while remaining is None or remaining > 0:
            size = self.batch if remaining is None else min(self.batch, remaining)
            claimed = self.claim(now, size)
            if not claimed:
                break
            report.claimed += len(claimed)
            for timer in claimed:
                outcome = self.run(timer, now)
                setattr(report, outcome, getattr(report, outcome) + 1)
                if outcome == "fired":
                    report.lags.append((now - timer.due_at).total_seconds())
            if remaining is not None:
                remaining -= len(claimed)
            if len(claimed) < size:
                break
        return report

    def claim(self, now: datetime, limit: int) -> list[ClaimedTimer]:
        """Mark up to `limit` due timers (and ones whose claim lapsed) as ours, in one commit."""
        db = self.engine.db
        lock = " FOR UPDATE SKIP LOCKED" if db.dialect == "postgresql" else ""
        with db.transaction(write=True) as tx:
            rows = tx.rows(
                _CLAIM.format(lock=lock),
                {
                    "now": tx.codec.dt_out(now),
                    "stale": tx.codec.dt_out(now - self.lease),
                    "limit": limit,
                },
            )
        timers = [
            ClaimedTimer(
                id=int(r["id"]),
                case_id=int(r["case_id"]),
                kind=str(r["kind"]),
                name=str(r["name"]),
                due_at=db.codec.dt_in_required(r["due_at"]),
                on_expiry=str(r["on_expiry"]),
                payload=_json(r["payload"]),
                token=int(r["attempts"]),
            )
            for r in rows
        ]
        return sorted(timers, key=lambda t: (t.due_at, t.id))

    def run(self, timer: ClaimedTimer, now: datetime) -> str:
        """Apply one claimed timer; returns fired, skipped, failed or retried."""
        db = self.engine.db
        try:
            with db.transaction(write=True) as tx:
                if not self._still_ours(tx, timer):
                    return "skipped"
                outcome = self._apply(tx, timer, now)
                tx.execute(
                    "UPDATE timers SET status = :status, fired_at = :now, last_error = NULL "
                    "WHERE id = :id",
                    {
                        "status": "done" if outcome == "fired" else "cancelled",
                        "now": tx.codec.dt_out(now),
                        "id": timer.id,
                    },
                )
                return outcome
        except EngineError as exc:
            # A rule said no (a guard, a missing input): retrying cannot help; show it.
            self._give_up(timer, f"{exc.code}: {exc.message_zh}")
            return "failed"
        except Exception as exc:  # per-item isolation: one broken timer never stops the tick
            log.exception("timer %s failed", timer.id)
            if timer.token >= self.max_attempts:
                self._give_up(timer, f"{type(exc).__name__}: {exc}")
                return "failed"
            with db.transaction(write=True) as tx:
                tx.execute(
                    "UPDATE timers SET status = 'pending', last_error = :error "
                    "WHERE id = :id AND status = 'claimed' AND attempts = :token",
                    {"error": f"{type(exc).__name__}: {exc}", "id": timer.id, "token": timer.token},
                )
            return "retried"

    def _still_ours(self, tx: Tx, timer: ClaimedTimer) -> bool:
        lock = " FOR UPDATE" if tx.db.dialect == "postgresql" else ""
        row = tx.row(f"SELECT status, attempts FROM timers WHERE id = :id{lock}", {"id": timer.id})
        if row is None or row["status"] != "claimed":
            return False
        return int(row["attempts"]) == timer.token

    def _apply(self, tx: Tx, timer: ClaimedTimer, now: datetime) -> str:
        engine = self.engine
        case = tx.load_case(timer.case_id, for_update=True)
        if case is None:
            return "skipped"
        compiled = engine.registry.get(case.spec_id, case.spec_version)
        if compiled.states[case.state].final:
            return "skipped"
        period = timer.payload.get("period", timer.name)
        if timer.kind == "state_deadline" and timer.name != case.state:
            return "skipped"  # the case left the state; its deadline no longer applies
        if timer.kind == "reminder" and period in compiled.states and period != case.state:
            return "skipped"
        bound = compiled.transition(case.state, timer.on_expiry)
        if bound is None:
            bound = compiled.expiry_actions.get(timer.on_expiry)
        if bound is None:
            return "skipped"  # a trigger not available from the current state
        label = _period_label(compiled, timer)
        engine.apply(
            tx,
            case,
            compiled,
            bound,
            Actor.system(),
            {**timer.payload, "timer_id": timer.id, "due_at": timer.due_at.isoformat()},
            f"期限届满：{label}" if timer.kind != "reminder" else f"期限将届满：{label}",
            now,
        )
        return "fired"

    def _give_up(self, timer: ClaimedTimer, error: str) -> None:
        with self.engine.db.transaction(write=True) as tx:
            tx.execute(
                "UPDATE timers SET status = 'failed', last_error = :error "
                "WHERE id = :id AND attempts = :token",
                {"error": error[:2000], "id": timer.id, "token": timer.token},
            )

    def retry_failed(self, timer_ids: list[int] | None = None) -> int:
        """Put failed timers back in the queue (after the cause was fixed); returns how many."""
        with self.engine.db.transaction(write=True) as tx:
            if timer_ids:
                marks = ", ".join(f":t{i}" for i in range(len(timer_ids)))
                params: dict[str, Any] = {f"t{i}": t for i, t in enumerate(timer_ids)}
                where = f" AND id IN ({marks})"
            else:
                params, where = {}, ""
            sql = "UPDATE timers SET status = 'pending', attempts = 0 WHERE status = 'failed'"
            return tx.execute(sql + where, params).rowcount

    def recompute_provisional(self, calendar: DeadlineCalendar | None = None) -> int:
        """Recompute every pending due date that was computed without its year's holidays.

        Called when a year's holiday data arrives; returns how many timers moved.
        """
        calendar = calendar or self.engine.calendar
        moved = 0
        with self.engine.db.transaction(write=True) as tx:
            rows = tx.rows(
                "SELECT id, created_at, days, working_days, payload, due_at FROM timers "
                "WHERE status = 'pending' AND provisional = :yes",
                {"yes": True},
            )
            for row in rows:
                started = tx.codec.dt_in_required(row["created_at"])
                due = calendar.add_days(
                    started, int(row["days"]), working_days=bool(row["working_days"])
                )
                before = timedelta(days=int(_json(row["payload"]).get("days_before", 0)))
                due_at = due.due_at - before
                if due_at != tx.codec.dt_in_required(row["due_at"]) or not due.provisional:
                    tx.move_timer(int(row["id"]), due_at, provisional=due.provisional)
                    moved += 1
        return moved


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    loaded = json.loads(value) if value else {}
    return loaded if isinstance(loaded, dict) else {}


def _period_label(compiled: Any, timer: ClaimedTimer) -> str:
    period = timer.payload.get("period", timer.name)
    state = compiled.states.get(period)
    if state is not None and state.deadline is not None:
        return str(state.deadline.label or state.label)
    clock = next((c for c in compiled.spec.clocks if c.name == period), None)
    if clock is not None:
        return str(clock.label)
    return str(timer.payload.get("label", period))
