"""A case's supporting papers (the bytes live in the host's document store), and the log of
who read the parties' personal data in them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine.repository.connection import TxCore
from engine.repository.statements import table_of
from mediation.models.cases import Party
from mediation.models.org import PiiAccess
from mediation.models.papers import CaseAttachment

_ATTACHMENTS = table_of(CaseAttachment)
_A = _ATTACHMENTS.c
_PARTIES = table_of(Party)
_ADD_ATTACHMENT = sa.insert(_ATTACHMENTS).values(
    case_id=sa.bindparam("case_id"),
    kind=sa.bindparam("kind"),
    party_id=sa.bindparam("party_id"),
    title=sa.bindparam("title"),
    media_type=sa.bindparam("media_type"),
    size=sa.bindparam("size"),
    sha256=sa.bindparam("sha"),
    uploaded_by=sa.bindparam("user"),
    uploaded_at=sa.bindparam("now"),
)
_ATTACHMENTS_OF = (
    sa.select(
        _A.id,
        _A.kind,
        _A.party_id,
        _PARTIES.c.name.label("party_name"),
        _A.title,
        _A.media_type,
        _A.size,
        _A.sha256,
        _A.uploaded_at,
    )
    .join_from(_ATTACHMENTS, _PARTIES, _PARTIES.c.id == _A.party_id, isouter=True)
    .where(_A.case_id == sa.bindparam("case_id"))
    .order_by(_A.id)
)
_LOG_PII_ACCESS = sa.insert(table_of(PiiAccess)).values(
    {
        name: sa.bindparam(name)
        for name in ("at", "user_id", "case_id", "party_id", "fields", "purpose")
    }
)


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    """One uploaded paper, with the name of the party it concerns (None: no one party)."""

    id: int
    kind: str
    party_id: int | None
    party_name: str | None
    title: str
    media_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class AttachmentQueries(TxCore):
    """Tx's queries on a case's attachments; Tx combines them."""

    def add_attachment(
        self,
        *,
        case_id: int,
        kind: str,
        party_id: int | None,
        title: str,
        media_type: str,
        size: int,
        sha256: str,
        uploaded_by: int | None,
        uploaded_at: datetime,
    ) -> int:
        return self.insert(
            _ADD_ATTACHMENT,
            {
                "case_id": case_id,
                "kind": kind,
                "party_id": party_id,
                "title": title,
                "media_type": media_type,
                "size": size,
                "sha": sha256,
                "user": uploaded_by,
                "now": self.codec.dt_out(uploaded_at),
            },
        )

    def attachments(self, case_id: int) -> list[AttachmentRecord]:
        """The case's attachments, oldest first."""
        rows = self.rows(
            _ATTACHMENTS_OF,
            {"case_id": case_id},
        )
        return [
            AttachmentRecord(
                id=int(r["id"]),
                kind=str(r["kind"]),
                party_id=r["party_id"],
                party_name=r["party_name"],
                title=str(r["title"]),
                media_type=str(r["media_type"]),
                size=int(r["size"]),
                sha256=str(r["sha256"]),
                uploaded_at=self.codec.dt_in_required(r["uploaded_at"]),
            )
            for r in rows
        ]

    def log_pii_access(
        self,
        *,
        at: datetime,
        user_id: int,
        case_id: int,
        party_id: int,
        fields: str,
        purpose: str,
    ) -> None:
        """One read of a party's personal data, with its purpose (R-PII)."""
        self.execute(
            _LOG_PII_ACCESS,
            {
                "at": self.codec.dt_out(at),
                "user_id": user_id,
                "case_id": case_id,
                "party_id": party_id,
                "fields": fields,
                "purpose": purpose,
            },
        )
