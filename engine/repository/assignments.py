"""A case's assigned members (the host keeps its own people of a case: mediation's parties)."""

from __future__ import annotations

from datetime import datetime

from engine.records import AssignmentRecord
from engine.repository.connection import TxCore
from engine.repository.directory import NamedUser


class AssignmentQueries(TxCore):
    """Tx's queries on a case's assigned members; Tx combines them."""

    # --- what guards read ----------------------------------------------------------------

    def assignments(self, case_id: int) -> list[AssignmentRecord]:
        rows = self.rows(
            "SELECT id, user_id, role, assigned_at, ended_at, consented_at "
            "FROM assignments WHERE case_id = :case_id ORDER BY id",
            {"case_id": case_id},
        )
        dt = self.codec.dt_in
        return [
            AssignmentRecord(
                id=r["id"],
                user_id=r["user_id"],
                role=r["role"],
                assigned_at=self.codec.dt_in_required(r["assigned_at"]),
                ended_at=dt(r["ended_at"]),
                consented_at=dt(r["consented_at"]),
            )
            for r in rows
        ]

    def active_assignees(self, case_id: int, roles: tuple[str, ...]) -> list[NamedUser]:
        """The case's active assignees in any of `roles`, in assignment order (a user assigned
        in two roles comes twice)."""
        if not roles:
            return []
        marks = ", ".join(f":r{i}" for i in range(len(roles)))
        rows = self.rows(
            "SELECT a.user_id, u.display_name FROM assignments a JOIN users u ON u.id = a.user_id "
            f"WHERE a.case_id = :case_id AND a.ended_at IS NULL AND a.role IN ({marks}) "
            "ORDER BY a.id",
            {"case_id": case_id, **{f"r{i}": r for i, r in enumerate(roles)}},
        )
        return [NamedUser(int(r["user_id"]), str(r["display_name"])) for r in rows]

    def is_assigned(self, case_id: int, user_id: int) -> bool:
        row = self.one(
            "SELECT 1 FROM assignments WHERE case_id = :case_id AND user_id = :user_id "
            "AND ended_at IS NULL",
            {"case_id": case_id, "user_id": user_id},
        )
        return row is not None

    # --- what actions write --------------------------------------------------------------

    def add_assignment(
        self, case_id: int, user_id: int, role: str, now: datetime, consented: bool
    ) -> int:
        return self.insert(
            "INSERT INTO assignments (case_id, user_id, role, assigned_at, consented_at) "
            "VALUES (:case_id, :user_id, :role, :now, :consented)",
            {
                "case_id": case_id,
                "user_id": user_id,
                "role": role,
                "now": self.codec.dt_out(now),
                "consented": self.codec.dt_out(now) if consented else None,
            },
        )

    def end_assignment(self, case_id: int, user_id: int, role: str, now: datetime) -> int:
        return self.execute(
            "UPDATE assignments SET ended_at = :now WHERE case_id = :case_id "
            "AND user_id = :user_id AND role = :role AND ended_at IS NULL",
            {"case_id": case_id, "user_id": user_id, "role": role, "now": self.codec.dt_out(now)},
        ).rowcount
