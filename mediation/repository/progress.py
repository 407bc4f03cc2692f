"""Progress links: a party's secret link to follow their case, revocable, locked for a while
after too many wrong answers to its check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine.repository.connection import TxCore
from engine.repository.statements import table_of
from mediation.models.cases import Case, ProgressLink

_LINKS = table_of(ProgressLink)
_L = _LINKS.c
_CASES = table_of(Case)
_ADD_LINK = sa.insert(_LINKS).values(
    case_id=sa.bindparam("case_id"),
    party_id=sa.bindparam("party_id"),
    token_hash=sa.bindparam("hash"),
    token_cipher=sa.bindparam("cipher"),
    created_by=sa.bindparam("user"),
    created_at=sa.bindparam("now"),
    failed_checks=0,
)
_REVOKE_LINK = (
    sa.update(_LINKS)
    .values(revoked_at=sa.bindparam("now"))
    .where(
        _L.id == sa.bindparam("id"),
        _L.case_id == sa.bindparam("case_id"),
        _L.revoked_at.is_(None),
    )
)
_LINKS_OF = (
    sa.select(_L.id, _L.party_id, _L.token_cipher, _L.created_at, _L.revoked_at)
    .where(_L.case_id == sa.bindparam("case_id"))
    .order_by(_L.id)
)
_LINK_BY_HASH = (
    sa.select(
        _L.id,
        _L.case_id,
        _L.party_id,
        _L.revoked_at,
        _L.failed_checks,
        _L.locked_until,
        _CASES.c.state,
    )
    .join_from(_LINKS, _CASES, _CASES.c.id == _L.case_id)
    .where(_L.token_hash == sa.bindparam("hash"))
)
_SET_CHECKS = (
    sa.update(_LINKS)
    .values(failed_checks=sa.bindparam("failed"), locked_until=sa.bindparam("lock"))
    .where(_L.id == sa.bindparam("id"))
)


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
            _ADD_LINK,
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
            _REVOKE_LINK,
            {"now": self.codec.dt_out(now), "id": link_id, "case_id": case_id},
        )

    def progress_links(self, case_id: int) -> list[ProgressLinkRecord]:
        rows = self.rows(_LINKS_OF, {"case_id": case_id})
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
        row = self.row(_LINK_BY_HASH, {"hash": token_hash})
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
            _SET_CHECKS,
            {"failed": failed_checks, "lock": self.codec.dt_out(locked_until), "id": link_id},
        )
