"""The 人民调解案件登记台账 in and out: import from the Excel ledgers offices keep (checked row
by row, all or nothing, or only the good rows when asked) and export in the same layout."""

from api.ledger.columns import COLUMNS, IMPORT_TRIGGER, SHEET_TITLE, Problem
from api.ledger.export import Period, export_ledger
from api.ledger.read import RowError
from api.ledger.service import LEDGER_ROLES, ImportReport, LedgerRejected, import_ledger

__all__ = [
    "COLUMNS",
    "IMPORT_TRIGGER",
    "LEDGER_ROLES",
    "SHEET_TITLE",
    "ImportReport",
    "LedgerRejected",
    "Period",
    "Problem",
    "RowError",
    "export_ledger",
    "import_ledger",
]
