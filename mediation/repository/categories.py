"""The dispute categories (纠纷类型, R-CATEGORIES) a case is filed under."""

from __future__ import annotations

from engine.repository.connection import Row, TxCore
from mediation.records import CategoryRecord

_CATEGORY = "SELECT code, name, excluded_from_confirmation, excluded_from_esign FROM categories"


def _category(row: Row) -> CategoryRecord:
    return CategoryRecord(
        code=row["code"],
        name=row["name"],
        excluded_from_confirmation=bool(row["excluded_from_confirmation"]),
        excluded_from_esign=bool(row["excluded_from_esign"]),
    )


class CategoryQueries(TxCore):
    """MediationTx's queries on the categories; MediationTx combines them."""

    def category(self, code: str) -> CategoryRecord | None:
        row = self.row(f"{_CATEGORY} WHERE code = :code", {"code": code})
        return None if row is None else _category(row)

    def categories(self) -> list[CategoryRecord]:
        return [_category(r) for r in self.rows(f"{_CATEGORY} ORDER BY code")]

    def active_categories(self) -> list[CategoryRecord]:
        """The categories offered at intake, in their sort order."""
        rows = self.rows(f"{_CATEGORY} WHERE active ORDER BY sort_order, code")
        return [_category(r) for r in rows]
