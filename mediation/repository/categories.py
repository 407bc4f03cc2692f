"""The dispute categories (纠纷类型, R-CATEGORIES) a case is filed under."""

from __future__ import annotations

import sqlalchemy as sa

from engine.repository.connection import Row, TxCore
from engine.repository.statements import table_of
from mediation.models.cases import Category
from mediation.records import CategoryRecord

_C = table_of(Category).c
_CATEGORY = sa.select(_C.code, _C.name, _C.excluded_from_confirmation, _C.excluded_from_esign)
_ONE_CATEGORY = _CATEGORY.where(_C.code == sa.bindparam("code"))
_ALL_CATEGORIES = _CATEGORY.order_by(_C.code)
_ACTIVE_CATEGORIES = _CATEGORY.where(_C.active == sa.true()).order_by(_C.sort_order, _C.code)


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
        row = self.row(_ONE_CATEGORY, {"code": code})
        return None if row is None else _category(row)

    def categories(self) -> list[CategoryRecord]:
        return [_category(r) for r in self.rows(_ALL_CATEGORIES)]

    def active_categories(self) -> list[CategoryRecord]:
        """The categories offered at intake, in their sort order."""
        rows = self.rows(_ACTIVE_CATEGORIES)
        return [_category(r) for r in rows]
