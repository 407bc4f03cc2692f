"""What happens in a mediation case and is kept beside it: sessions and visits (the
signatures on its papers are in mediation/repository/signatures.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine.models.columns import dumps
from engine.models.org import User
from engine.repository.connection import TxCore
from engine.repository.statements import table_of
from mediation.models.cases import MediationSession, Visit
from mediation.records import VisitRecord

_SESSIONS = table_of(MediationSession)
_VISITS = table_of(Visit)
_V = _VISITS.c
_USERS = table_of(User)
_SESSION_TIMES = (
    sa.select(_SESSIONS.c.held_at)
    .where(_SESSIONS.c.case_id == sa.bindparam("case_id"))
    .order_by(_SESSIONS.c.id)
)
_VISITS_OF = (
    sa.select(_V.term_index, _V.visited_at, _V.performance, _V.satisfaction)
    .where(_V.case_id == sa.bindparam("case_id"))
    .order_by(_V.id)
)
_VISIT_REPORTS = (
    sa.select(
        _V.visited_at,
        _V.performance,
        _V.satisfaction,
        _V.new_risks,
        _V.notes,
        _USERS.c.display_name,
    )
    .join_from(_VISITS, _USERS, _USERS.c.id == _V.visitor_id, isouter=True)
    .where(_V.case_id == sa.bindparam("case_id"))
    .order_by(_V.id)
)
_ADD_SESSION = sa.insert(_SESSIONS).values(
    {
        name: sa.bindparam(name)
        for name in (
            "case_id",
            "state",
            "level",
            "held_at",
            "place",
            "public",
            "attendees",
            "record",
            "recorder_id",
        )
    }
)
_ADD_VISIT = sa.insert(_VISITS).values(
    {
        name: sa.bindparam(name)
        for name in (
            "case_id",
            "term_index",
            "visited_at",
            "visitor_id",
            "performance",
            "satisfaction",
            "new_risks",
            "notes",
        )
    }
)


@dataclass(frozen=True, slots=True)
class VisitReport:
    """A follow-up visit as its record (回访记录) prints it, with the visitor's name."""

    visited_at: datetime
    performance: str
    satisfaction: str | None
    new_risks: str | None
    notes: str | None
    visitor_name: str | None  # None: no visitor recorded


class ProceedingQueries(TxCore):
    """MediationTx's queries on sessions and visits; MediationTx combines them."""

    def session_times(self, case_id: int) -> list[datetime]:
        """When the case's sessions were held, in the order they were recorded."""
        rows = self.rows(_SESSION_TIMES, {"case_id": case_id})
        return [self.codec.dt_in_required(r["held_at"]) for r in rows]

    def visits(self, case_id: int) -> list[VisitRecord]:
        rows = self.rows(_VISITS_OF, {"case_id": case_id})
        return [
            VisitRecord(
                term_index=r["term_index"],
                visited_at=self.codec.dt_in_required(r["visited_at"]),
                performance=r["performance"],
                satisfaction=r["satisfaction"],
            )
            for r in rows
        ]

    def visit_reports(self, case_id: int) -> list[VisitReport]:
        """The case's visits in the order they were recorded, with their visitors' names."""
        rows = self.rows(_VISIT_REPORTS, {"case_id": case_id})
        return [
            VisitReport(
                visited_at=self.codec.dt_in_required(r["visited_at"]),
                performance=r["performance"],
                satisfaction=r["satisfaction"],
                new_risks=r["new_risks"],
                notes=r["notes"],
                visitor_name=r["display_name"],
            )
            for r in rows
        ]

    def add_session(
        self,
        *,
        case_id: int,
        state: str,
        level: str,
        held_at: datetime,
        place: str,
        public: bool,
        attendees: list[str],
        record: str,
        recorder_id: int | None,
    ) -> int:
        return self.insert(
            _ADD_SESSION,
            {
                "case_id": case_id,
                "state": state,
                "level": level,
                "held_at": self.codec.dt_out(held_at),
                "place": place,
                "public": public,
                "attendees": dumps(attendees),
                "record": record,
                "recorder_id": recorder_id,
            },
        )

    def add_visit(
        self,
        *,
        case_id: int,
        term_index: int | None,
        visited_at: datetime,
        visitor_id: int | None,
        performance: str,
        satisfaction: str | None,
        new_risks: str | None,
        notes: str,
    ) -> int:
        return self.insert(
            _ADD_VISIT,
            {
                "case_id": case_id,
                "term_index": term_index,
                "visited_at": self.codec.dt_out(visited_at),
                "visitor_id": visitor_id,
                "performance": performance,
                "satisfaction": satisfaction,
                "new_risks": new_risks,
                "notes": notes,
            },
        )
