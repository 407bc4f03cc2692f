"""Mediation's storage: the engine's Tx with mediation's queries added (parties, categories,
sessions and visits, supporting papers and the PII read log, signatures and signing acts,
progress links), on the engine's one connection machinery (engine/repository/).

MediationEngine runs on a MediationDatabase, so every transaction it opens, and every one its
guards, actions and observers see, is a MediationTx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import sqlalchemy as sa

from engine.repository import Database, Transaction, Tx
from engine.repository.cases import CaseLayout
from engine.repository.connection import Row
from mediation.models.cases import Case
from mediation.records import MediationCase
from mediation.repository.attachments import AttachmentQueries
from mediation.repository.categories import CategoryQueries
from mediation.repository.parties import PartyQueries
from mediation.repository.proceedings import ProceedingQueries, VisitReport
from mediation.repository.progress import ProgressLinkQueries
from mediation.repository.signatures import SignatureQueries
from mediation.repository.signing import SigningActQueries

__all__ = ["MediationDatabase", "MediationTx", "VisitReport"]


class MediationTx(
    Tx,
    PartyQueries,
    CategoryQueries,
    ProceedingQueries,
    AttachmentQueries,
    SignatureQueries,
    SigningActQueries,
    ProgressLinkQueries,
):
    """One open transaction with the engine's queries and mediation's, on mediation's case
    row: it loads MediationCase records, and actions may write these attributes of it."""

    case_layout: ClassVar[CaseLayout] = CaseLayout(
        MediationCase,
        Case,
        mutable=(
            "resolved_level",
            "risk_level",
            "category_code",
            "summary",
            "grid_id",
            "court_id",
            "agreement_effective_at",
        ),
    )

    if TYPE_CHECKING:  # the records the layout builds, typed as what they are

        def load_case(self, case_id: int, *, for_update: bool = False) -> MediationCase | None: ...

        def case_record(self, row: Row) -> MediationCase: ...


class MediationDatabase(Database):
    """A Database whose transactions are MediationTx."""

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine, tx_class=MediationTx)

    if TYPE_CHECKING:  # the same transactions, typed as what they are

        def transaction(
            self, *, write: bool, snapshot: bool = True
        ) -> Transaction[MediationTx]: ...
