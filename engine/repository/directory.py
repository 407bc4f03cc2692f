"""What the fire path looks up outside the case: org units and users."""

from __future__ import annotations

from dataclasses import dataclass

from engine.records import OrgUnitRow, RoleHolder
from engine.repository.connection import Row, TxCore


@dataclass(frozen=True, slots=True)
class NamedUser:
    """A user as a paper names them: who, and the name they sign by."""

    user_id: int
    display_name: str


ORG_UNIT = "SELECT id, kind, name, short_name, parent_id, path FROM org_units"


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
        row = self.row(f"{ORG_UNIT} WHERE id = :id", {"id": unit_id})
        return None if row is None else org_unit_row(row)

    def display_name(self, user_id: int) -> str | None:
        """The user's name as they sign; None for no such user."""
        row = self.row("SELECT display_name FROM users WHERE id = :id", {"id": user_id})
        return None if row is None else str(row["display_name"])

    def members_in_role(self, unit_id: int, role: str) -> list[NamedUser]:
        """The unit's members holding `role`, in the order they were made members."""
        rows = self.rows(
            "SELECT u.id, u.display_name FROM memberships m JOIN users u ON u.id = m.user_id "
            "WHERE m.role = :role AND m.org_unit_id = :unit ORDER BY m.id",
            {"role": role, "unit": unit_id},
        )
        return [NamedUser(int(r["id"]), str(r["display_name"])) for r in rows]

    def user_exists(self, user_id: int) -> bool:
        return self.one("SELECT 1 FROM users WHERE id = :id", {"id": user_id}) is not None

    def users_holding(self, roles: tuple[str, ...]) -> list[RoleHolder]:
        """The memberships of active users in any of `roles`, by user and then unit."""
        if not roles:
            return []
        marks = ", ".join(f":r{i}" for i in range(len(roles)))
        rows = self.rows(
            "SELECT u.id, u.display_name, m.org_unit_id, m.role FROM users u "
            f"JOIN memberships m ON m.user_id = u.id WHERE u.active = :yes AND m.role IN ({marks}) "
            "ORDER BY u.id, m.org_unit_id",
            {"yes": True, **{f"r{i}": r for i, r in enumerate(roles)}},
        )
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
        marks = ", ".join(f":k{i}" for i in range(len(kinds)))
        rows = self.rows(
            f"{ORG_UNIT} WHERE kind IN ({marks}) ORDER BY id",
            {f"k{i}": k for i, k in enumerate(kinds)},
        )
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
            "INSERT INTO org_units (kind, name, short_name, parent_id, path, address) "
            "VALUES (:kind, :name, :short, :parent, :path, :address)",
            {
                "kind": kind,
                "name": name,
                "short": short_name,
                "parent": parent_id,
                "path": "/",
                "address": "",
            },
        )
        path = (parent_path or "/") + f"{unit_id}/"
        self.execute(
            "UPDATE org_units SET path = :path WHERE id = :id", {"path": path, "id": unit_id}
        )
        return unit_id

    def rename_org_unit(self, unit_id: int, name: str, seal_text: str | None) -> None:
        self.execute(
            "UPDATE org_units SET name = :name, seal_text = :seal WHERE id = :id",
            {"name": name, "seal": seal_text, "id": unit_id},
        )

    def set_unit_logo(self, unit_id: int, png: bytes | None) -> None:
        """The unit's logo as PNG (None: removed)."""
        self.execute(
            "UPDATE org_units SET logo_png = :logo WHERE id = :id", {"logo": png, "id": unit_id}
        )
