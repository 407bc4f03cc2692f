"""What happens in a mediation case and is kept beside it: sessions and visits (the
signatures on its papers are the engine's, engine/repository/documents.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.models.columns import dumps
from engine.repository.connection import TxCore
from mediation.records import VisitRecord


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
        rows = self.rows(
            "SELECT held_at FROM mediation_sessions WHERE case_id = :case_id ORDER BY id",
            {"case_id": case_id},
        )
        return [self.codec.dt_in_required(r["held_at"]) for r in rows]

    def visits(self, case_id: int) -> list[VisitRecord]:
        rows = self.rows(
            "SELECT term_index, visited_at, performance, satisfaction FROM visits "
            "WHERE case_id = :case_id ORDER BY id",
            {"case_id": case_id},
        )
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
        rows = self.rows(
            "SELECT v.visited_at, v.performance, v.satisfaction, v.new_risks, v.notes, "
            "u.display_name FROM visits v LEFT JOIN users u ON u.id = v.visitor_id "
            "WHERE v.case_id = :case_id ORDER BY v.id",
            {"case_id": case_id},
        )
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
            "INSERT INTO mediation_sessions (case_id, state, level, held_at, place, public, "
            "attendees, record, recorder_id) VALUES (:case_id, :state, :level, :held_at, :place, "
            ":public, :attendees, :record, :recorder_id)",
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
            "INSERT INTO visits (case_id, term_index, visited_at, visitor_id, performance, "
            "satisfaction, new_risks, notes) VALUES (:case_id, :term_index, :visited_at, "
            ":visitor_id, :performance, :satisfaction, :new_risks, :notes)",
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
