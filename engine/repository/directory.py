"""What the fire path looks up outside the case: org units and users."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa

from engine.models.org import Membership, OrgUnit, User
from engine.records import OrgUnitRow, RoleHolder
from engine.repository.connection import Row, TxCore
from engine.repository.statements import marks, table_of

_UNITS = table_of(OrgUnit)
_USERS = table_of(User)
_MEMBERS = table_of(Membership)


@dataclass(frozen=True, slots=True)
class NamedUser:
    """A user as a paper names them: who, and the name they sign by."""

    user_id: int
    display_name: str


ORG_UNIT = "SELECT id, kind, name, short_name, parent_id, path FROM org_units"  # mediation's
# hand SQL of the units in a scope (bench.scale) starts from it; _UNIT_ROW is the same in Core
_UNIT_ROW = sa.select(
    _UNITS.c.id,
    _UNITS.c.kind,
    _UNITS.c.name,
    _UNITS.c.short_name,
    _UNITS.c.parent_id,
    _UNITS.c.path,
)
_ORG_UNIT = _UNIT_ROW.where(_UNITS.c.id == sa.bindparam("id"))
_DISPLAY_NAME = sa.select(_USERS.c.display_name).where(_USERS.c.id == sa.bindparam("id"))
_MEMBERS_IN_ROLE = (
    sa.select(_USERS.c.id, _USERS.c.display_name)
    .join_from(_MEMBERS, _USERS, _USERS.c.id == _MEMBERS.c.user_id)
    .where(_MEMBERS.c.role == sa.bindparam("role"), _MEMBERS.c.org_unit_id == sa.bindparam("unit"))
    .order_by(_MEMBERS.c.id)
)
_USER_EXISTS = sa.select(_USERS.c.id).where(_USERS.c.id == sa.bindparam("id"))
_ADD_ORG_UNIT = sa.insert(_UNITS).values(
    kind=sa.bindparam("kind"),
    name=sa.bindparam("name"),
    short_name=sa.bindparam("short"),
    parent_id=sa.bindparam("parent"),
    path="/",
    address="",
)
_SET_PATH = (
    sa.update(_UNITS).values(path=sa.bindparam("path")).where(_UNITS.c.id == sa.bindparam("id"))
)
_RENAME_ORG_UNIT = (
    sa.update(_UNITS)
    .values(name=sa.bindparam("name"), seal_text=sa.bindparam("seal"))
    .where(_UNITS.c.id == sa.bindparam("id"))
)
_SET_UNIT_LOGO = (
    sa.update(_UNITS).values(logo_png=sa.bindparam("logo")).where(_UNITS.c.id == sa.bindparam("id"))
)


@cache  # one statement per length, kept: statements.py keeps what it compiled
def _users_holding(count: int) -> sa.Select[tuple[int, str, int, str]]:
    return (
        sa.select(_USERS.c.id, _USERS.c.display_name, _MEMBERS.c.org_unit_id, _MEMBERS.c.role)
        .join_from(_USERS, _MEMBERS, _MEMBERS.c.user_id == _USERS.c.id)
        .where(_USERS.c.active == sa.true(), _MEMBERS.c.role.in_(marks("r", count)))
        .order_by(_USERS.c.id, _MEMBERS.c.org_unit_id)
    )


@cache  # one statement per length, kept: statements.py keeps what it compiled
def _org_units_of(count: int) -> sa.Select[tuple[int, str, str, str, int | None, str]]:
    return _UNIT_ROW.where(_UNITS.c.kind.in_(marks("k", count))).order_by(_UNITS.c.id)


def org_unit_row(row: Row) -> OrgUnitRow:
    """An OrgUnitRow from a row holding ORG_UNIT's columns."""
    return OrgUnitRow(
        id=row["id"],
        kind=row["kind"],
        name=row["name"],
        short_name=row["short_name"],
        parent_id=row["parent_id"],
        path=row["path"],
    )


class DirectoryQueries(TxCore):
    """Tx's queries on org units and users; Tx combines them."""

    def org_unit(self, unit_id: int) -> OrgUnitRow | None:
        row = self.row(_ORG_UNIT, {"id": unit_id})
        return None if row is None else org_unit_row(row)

    def display_name(self, user_id: int) -> str | None:
        """The user's name as they sign; None for no such user."""
        row = self.row(_DISPLAY_NAME, {"id": user_id})
        return None if row is None else str(row["display_name"])

    def members_in_role(self, unit_id: int, role: str) -> list[NamedUser]:
        """The unit's members holding `role`, in the order they were made members."""
        rows = self.rows(_MEMBERS_IN_ROLE, {"role": role, "unit": unit_id})
        return [NamedUser(int(r["id"]), str(r["display_name"])) for r in rows]

    def user_exists(self, user_id: int) -> bool:
        return self.one(_USER_EXISTS, {"id": user_id}) is not None

    def users_holding(self, roles: tuple[str, ...]) -> list[RoleHolder]:
        """The memberships of active users in any of `roles`, by user and then unit."""
        if not roles:
            return []
        rows = self.rows(_users_holding(len(roles)), {f"r{i}": r for i, r in enumerate(roles)})
        return [
            RoleHolder(
                user_id=int(r["id"]),
                display_name=str(r["display_name"]),
                org_unit_id=int(r["org_unit_id"]),
                role=str(r["role"]),
            )
            for r in rows
        ]

    def org_units_of(self, kinds: tuple[str, ...]) -> list[OrgUnitRow]:
        """The org units of the given kinds, by id."""
        if not kinds:
            return []
        rows = self.rows(_org_units_of(len(kinds)), {f"k{i}": k for i, k in enumerate(kinds)})
        return [org_unit_row(r) for r in rows]

    # --- what administrators change ------------------------------------------------------

    def add_org_unit(
        self,
        *,
        kind: str,
        name: str,
        short_name: str,
        parent_path: str | None,
        parent_id: int | None,
    ) -> int:
        """A new unit under `parent_id` (None: at the top), its path ending in its own id."""
        unit_id = self.insert(
            _ADD_ORG_UNIT,
            {"kind": kind, "name": name, "short": short_name, "parent": parent_id},
        )
        path = (parent_path or "/") + f"{unit_id}/"
        self.execute(_SET_PATH, {"path": path, "id": unit_id})
        return unit_id

    def rename_org_unit(self, unit_id: int, name: str, seal_text: str | None) -> None:
        self.execute(
            _RENAME_ORG_UNIT,
            {"name": name, "seal": seal_text, "id": unit_id},
        )

    def set_unit_logo(self, unit_id: int, png: bytes | None) -> None:
        """The unit's logo as PNG (None: removed)."""
        self.execute(_SET_UNIT_LOGO, {"logo": png, "id": unit_id})
