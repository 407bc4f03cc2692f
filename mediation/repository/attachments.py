"""A case's supporting papers (the bytes live in the host's document store), and the log of
who read the parties' personal data in them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.repository.connection import TxCore


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
            "INSERT INTO case_attachments (case_id, kind, party_id, title, media_type, size, "
            "sha256, uploaded_by, uploaded_at) VALUES (:case_id, :kind, :party_id, :title, "
            ":media_type, :size, :sha, :user, :now)",
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
            "SELECT a.id, a.kind, a.party_id, p.name AS party_name, a.title, a.media_type, "
            "a.size, a.sha256, a.uploaded_at FROM case_attachments a "
            "LEFT JOIN parties p ON p.id = a.party_id WHERE a.case_id = :case_id ORDER BY a.id",
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
            "INSERT INTO pii_access_log (at, user_id, case_id, party_id, fields, purpose) "
            "VALUES (:at, :user_id, :case_id, :party_id, :fields, :purpose)",
            {
                "at": self.codec.dt_out(at),
                "user_id": user_id,
                "case_id": case_id,
                "party_id": party_id,
                "fields": fields,
                "purpose": purpose,
            },
        )
