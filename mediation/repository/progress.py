"""Progress links: a party's secret link to follow their case, revocable, locked for a while
after too many wrong answers to its check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.repository.connection import TxCore


@dataclass(frozen=True, slots=True)
class ProgressLinkRecord:
    """A case's link as its mediator lists it (the secret kept encrypted)."""

    id: int
    party_id: int
    token_cipher: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ProgressLinkState:
    """A link as its secret opens it: whose, whether revoked or locked, the case's state."""

    id: int
    case_id: int
    party_id: int
    revoked_at: datetime | None
    failed_checks: int
    locked_until: datetime | None
    case_state: str


class ProgressLinkQueries(TxCore):
    """Tx's queries on progress links; Tx combines them."""

    def add_progress_link(
        self,
        *,
        case_id: int,
        party_id: int,
        token_hash: str,
        token_cipher: str,
        created_by: int | None,
        now: datetime,
    ) -> None:
        self.execute(
            "INSERT INTO progress_links (case_id, party_id, token_hash, token_cipher, "
            "created_by, created_at, failed_checks) VALUES (:case_id, :party_id, :hash, "
            ":cipher, :user, :now, 0)",
            {
                "case_id": case_id,
                "party_id": party_id,
                "hash": token_hash,
                "cipher": token_cipher,
                "user": created_by,
                "now": self.codec.dt_out(now),
            },
        )

    def revoke_progress_link(self, case_id: int, link_id: int, now: datetime) -> None:
        self.execute(
            "UPDATE progress_links SET revoked_at = :now "
            "WHERE id = :id AND case_id = :case_id AND revoked_at IS NULL",
            {"now": self.codec.dt_out(now), "id": link_id, "case_id": case_id},
        )

    def progress_links(self, case_id: int) -> list[ProgressLinkRecord]:
        rows = self.rows(
            "SELECT id, party_id, token_cipher, created_at, revoked_at FROM progress_links "
            "WHERE case_id = :case_id ORDER BY id",
            {"case_id": case_id},
        )
        return [
            ProgressLinkRecord(
                id=int(r["id"]),
                party_id=int(r["party_id"]),
                token_cipher=str(r["token_cipher"]),
                created_at=self.codec.dt_in_required(r["created_at"]),
                revoked_at=self.codec.dt_in(r["revoked_at"]),
            )
            for r in rows
        ]

    def progress_link(self, token_hash: str) -> ProgressLinkState | None:
        """The link whose secret hashes to `token_hash`."""
        row = self.row(
            "SELECT l.id, l.case_id, l.party_id, l.revoked_at, l.failed_checks, l.locked_until, "
            "c.state FROM progress_links l JOIN cases c ON c.id = l.case_id "
            "WHERE l.token_hash = :hash",
            {"hash": token_hash},
        )
        if row is None:
            return None
        return ProgressLinkState(
            id=int(row["id"]),
            case_id=int(row["case_id"]),
            party_id=int(row["party_id"]),
            revoked_at=self.codec.dt_in(row["revoked_at"]),
            failed_checks=int(row["failed_checks"]),
            locked_until=self.codec.dt_in(row["locked_until"]),
            case_state=str(row["state"]),
        )

    def set_progress_checks(
        self, link_id: int, failed_checks: int, locked_until: datetime | None
    ) -> None:
        """The wrong answers counted so far, and the lock (None: not locked)."""
        self.execute(
            "UPDATE progress_links SET failed_checks = :failed, locked_until = :lock "
            "WHERE id = :id",
            {"failed": failed_checks, "lock": self.codec.dt_out(locked_until), "id": link_id},
        )
