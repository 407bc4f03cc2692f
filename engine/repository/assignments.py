"""A case's assigned members (the host keeps its own people of a case: mediation's parties)."""

from __future__ import annotations

from datetime import datetime
from functools import cache

import sqlalchemy as sa

from engine.models.cases import Assignment
from engine.models.org import User
from engine.records import AssignmentRecord
from engine.repository.connection import TxCore
from engine.repository.directory import NamedUser
from engine.repository.statements import marks, table_of

_ASSIGNMENTS = table_of(Assignment)
_A = _ASSIGNMENTS.c
_USERS = table_of(User)
_OF_CASE = _A.case_id == sa.bindparam("case_id")
_ASSIGNMENTS_OF = (
    sa.select(_A.id, _A.user_id, _A.role, _A.assigned_at, _A.ended_at, _A.consented_at)
    .where(_OF_CASE)
    .order_by(_A.id)
)
_IS_ASSIGNED = sa.select(_A.id).where(
    _OF_CASE, _A.user_id == sa.bindparam("user_id"), _A.ended_at.is_(None)
)
_ADD_ASSIGNMENT = sa.insert(_ASSIGNMENTS).values(
    case_id=sa.bindparam("case_id"),
    user_id=sa.bindparam("user_id"),
    role=sa.bindparam("role"),
    assigned_at=sa.bindparam("now"),
    consented_at=sa.bindparam("consented"),
)
_END_ASSIGNMENT = (
    sa.update(_ASSIGNMENTS)
    .values(ended_at=sa.bindparam("now"))
    .where(
        _OF_CASE,
        _A.user_id == sa.bindparam("user_id"),
        _A.role == sa.bindparam("role"),
        _A.ended_at.is_(None),
    )
)


@cache  # one statement per length, kept: statements.py keeps what it compiled
def _active_assignees(count: int) -> sa.Select[tuple[int, str]]:
    return (
        sa.select(_A.user_id, _USERS.c.display_name)
        .join_from(_ASSIGNMENTS, _USERS, _USERS.c.id == _A.user_id)
        .where(_OF_CASE, _A.ended_at.is_(None), _A.role.in_(marks("r", count)))
        .order_by(_A.id)
    )


class AssignmentQueries(TxCore):
    """Tx's queries on a case's assigned members; Tx combines them."""

    # --- what guards read ----------------------------------------------------------------

    def assignments(self, case_id: int) -> list[AssignmentRecord]:
        rows = self.rows(
            _ASSIGNMENTS_OF,
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
        rows = self.rows(
            _active_assignees(len(roles)),
            {"case_id": case_id, **{f"r{i}": r for i, r in enumerate(roles)}},
        )
        return [NamedUser(int(r["user_id"]), str(r["display_name"])) for r in rows]

    def is_assigned(self, case_id: int, user_id: int) -> bool:
        row = self.one(
            _IS_ASSIGNED,
            {"case_id": case_id, "user_id": user_id},
        )
        return row is not None

    # --- what actions write --------------------------------------------------------------

    def add_assignment(
        self, case_id: int, user_id: int, role: str, now: datetime, consented: bool
    ) -> int:
        return self.insert(
            _ADD_ASSIGNMENT,
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
            _END_ASSIGNMENT,
            {"case_id": case_id, "user_id": user_id, "role": role, "now": self.codec.dt_out(now)},
        ).rowcount
