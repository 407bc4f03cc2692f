"""What the fire path looks up outside the case: categories, org units and users."""

from __future__ import annotations

from dataclasses import dataclass

from engine.records import CategoryRecord, OrgUnitRow
from engine.repository.connection import TxCore


@dataclass(frozen=True, slots=True)
class NamedUser:
    """A user as a paper names them: who, and the name they sign by."""

    user_id: int
    display_name: str


class DirectoryQueries(TxCore):
    """Tx's queries on categories, org units and users; Tx combines them."""

    def category(self, code: str) -> CategoryRecord | None:
        row = self.one(
            "SELECT code, name, excluded_from_confirmation, excluded_from_esign "
            "FROM categories WHERE code = :code",
            {"code": code},
        )
        return None if row is None else CategoryRecord(row[0], row[1], bool(row[2]), bool(row[3]))

    def categories(self) -> list[CategoryRecord]:
        rows = self.all(
            "SELECT code, name, excluded_from_confirmation, excluded_from_esign "
            "FROM categories ORDER BY code"
        )
        return [CategoryRecord(r[0], r[1], bool(r[2]), bool(r[3])) for r in rows]

    def org_unit(self, unit_id: int) -> OrgUnitRow | None:
        row = self.one(
            "SELECT id, kind, name, short_name, parent_id, path FROM org_units WHERE id = :id",
            {"id": unit_id},
        )
        return None if row is None else OrgUnitRow(*row)

    def display_name(self, user_id: int) -> str | None:
        """The user's name as they sign; None for no such user."""
        row = self.one("SELECT display_name FROM users WHERE id = :id", {"id": user_id})
        return None if row is None else str(row[0])

    def members_in_role(self, unit_id: int, role: str) -> list[NamedUser]:
        """The unit's members holding `role`, in the order they were made members."""
        rows = self.all(
            "SELECT u.id, u.display_name FROM memberships m JOIN users u ON u.id = m.user_id "
            "WHERE m.role = :role AND m.org_unit_id = :unit ORDER BY m.id",
            {"role": role, "unit": unit_id},
        )
        return [NamedUser(int(r[0]), str(r[1])) for r in rows]

    def user_exists(self, user_id: int) -> bool:
        return self.one("SELECT 1 FROM users WHERE id = :id", {"id": user_id}) is not None

    def users_holding(self, roles: tuple[str, ...]) -> list[tuple[int, str, int, str]]:
        """(user id, display name, org unit id, role) of active users holding any of `roles`."""
        if not roles:
            return []
        marks = ", ".join(f":r{i}" for i in range(len(roles)))
        rows = self.all(
            "SELECT u.id, u.display_name, m.org_unit_id, m.role FROM users u "
            f"JOIN memberships m ON m.user_id = u.id WHERE u.active = :yes AND m.role IN ({marks}) "
            "ORDER BY u.id, m.org_unit_id",
            {"yes": True, **{f"r{i}": r for i, r in enumerate(roles)}},
        )
        return [(int(r[0]), str(r[1]), int(r[2]), str(r[3])) for r in rows]

    def org_units_of(self, kinds: tuple[str, ...]) -> list[tuple[int, str, str, int | None]]:
        """(id, name, path, parent id) of the org units of the given kinds, by id."""
        if not kinds:
            return []
        marks = ", ".join(f":k{i}" for i in range(len(kinds)))
        rows = self.all(
            f"SELECT id, name, path, parent_id FROM org_units WHERE kind IN ({marks}) ORDER BY id",
            {f"k{i}": k for i, k in enumerate(kinds)},
        )
        return [(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]
