"""Signing acts: one signer's single-use act of signing one document version, with its
identity check (ID document, SMS code or password) and the certificate it was signed under."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.repository.connection import TxCore
from engine.repository.statements import table_of
from mediation.models.cases import Party
from mediation.models.papers import SigningAct

_ACTS = table_of(SigningAct)
_A = _ACTS.c
_PARTIES = table_of(Party)
_P = _PARTIES.c
_NOW: sa.BindParameter[Any] = sa.bindparam("now")
_USER: sa.BindParameter[Any] = sa.bindparam("user")
_ADD_PARTY_ACT = sa.insert(_ACTS).values(
    case_id=sa.bindparam("case_id"),
    document_kind=sa.bindparam("kind"),
    document_sha256=sa.bindparam("sha"),
    signer_kind="party",
    party_id=sa.bindparam("party_id"),
    signer_name=sa.bindparam("signer"),
    channel=sa.bindparam("channel"),
    token_hash=sa.bindparam("hash"),
    created_by=_USER,
    created_at=_NOW,
    expires_at=sa.bindparam("expires"),
    identity_failures=0,
    otp_attempts=0,
)
_ADD_MEDIATOR_ACT = sa.insert(_ACTS).values(
    case_id=sa.bindparam("case_id"),
    document_kind=sa.bindparam("kind"),
    document_sha256=sa.bindparam("sha"),
    signer_kind="mediator",
    user_id=_USER,
    signer_name=sa.bindparam("name"),
    channel="session",
    token_hash=sa.bindparam("hash"),
    created_by=_USER,
    created_at=_NOW,
    expires_at=_NOW,
    identity_method="password",
    identity_checked_at=_NOW,
    identity_checked_by=_USER,
    identity_failures=0,
    otp_attempts=0,
    used_at=_NOW,
)
_ONE = _A.id == sa.bindparam("id")
_ACT_BY_HASH = (
    sa.select(
        _A.id,
        _A.case_id,
        _A.party_id,
        _P.name.label("party_name"),
        _P.guardian_name,
        _A.signer_name,
        _A.channel,
        _A.document_kind,
        _A.document_sha256,
        _A.expires_at,
        _A.identity_method,
        _A.used_at,
        _A.created_by,
    )
    .join_from(_ACTS, _PARTIES, _P.id == _A.party_id, isouter=True)
    .where(_A.token_hash == sa.bindparam("hash"))
)
_SIGNER_IDENTITY = (
    sa.select(_P.id_number_cipher, _P.guardian_id_cipher, _P.guardian_name, _A.identity_failures)
    .join_from(_ACTS, _PARTIES, _P.id == _A.party_id)
    .where(_ONE)
)
_COUNT_IDENTITY_FAILURE = (
    sa.update(_ACTS).values(identity_failures=_A.identity_failures + 1).where(_ONE)
)
_SET_SIGNING_CODE = (
    sa.update(_ACTS)
    .values(otp_hash=sa.bindparam("hash"), otp_expires_at=sa.bindparam("expires"), otp_attempts=0)
    .where(_ONE)
)
_SIGNING_CODE = sa.select(_A.otp_hash, _A.otp_expires_at, _A.otp_attempts).where(_ONE)
_RECORD_CODE_ATTEMPT = (
    sa.update(_ACTS)
    .values(
        otp_attempts=_A.otp_attempts + sa.bindparam("n"),
        otp_hash=sa.case((sa.bindparam("ok", type_=sa.Boolean), sa.null()), else_=_A.otp_hash),
    )
    .where(_ONE)
)
_RECORD_IDENTITY = (
    sa.update(_ACTS)
    .values(
        identity_method=sa.bindparam("method"),
        identity_checked_at=_NOW,
        identity_checked_by=sa.bindparam("by"),
    )
    .where(_ONE)
)
_CLAIM_ACT = sa.update(_ACTS).values(used_at=_NOW).where(_ONE, _A.used_at.is_(None))
_RELEASE_ACT = sa.update(_ACTS).values(used_at=None).where(_ONE)
_SET_CERTIFICATE_SERIAL = (
    sa.update(_ACTS).values(certificate_serial=sa.bindparam("serial")).where(_ONE)
)


@dataclass(frozen=True, slots=True)
class SigningActRecord:
    """A signing act as its secret opens it, with the party's name and representative."""

    id: int
    case_id: int
    party_id: int | None
    party_name: str | None
    guardian_name: str | None
    signer_name: str
    channel: str
    document_kind: str
    document_sha256: str
    expires_at: datetime
    identity_method: str | None
    used_at: datetime | None
    created_by: int


@dataclass(frozen=True, slots=True)
class SignerIdentity:
    """What the signer's ID document is checked against, and the failed checks so far."""

    id_number_cipher: str | None
    guardian_id_cipher: str | None
    guardian_name: str | None
    identity_failures: int


@dataclass(frozen=True, slots=True)
class SigningCode:
    """The SMS code sent for an act (its hash), until when it holds, and the tries made."""

    otp_hash: str | None
    otp_expires_at: datetime | None
    otp_attempts: int


class SigningActQueries(TxCore):
    """Tx's queries on signing acts; Tx combines them."""

    def add_party_signing_act(
        self,
        *,
        case_id: int,
        document_kind: str,
        document_sha256: str,
        party_id: int,
        signer_name: str,
        channel: str,
        token_hash: str,
        created_by: int | None,
        now: datetime,
        expires_at: datetime,
    ) -> int:
        """A party's act, opened by a secret, usable until `expires_at`."""
        return self.insert(
            _ADD_PARTY_ACT,
            {
                "case_id": case_id,
                "kind": document_kind,
                "sha": document_sha256,
                "party_id": party_id,
                "signer": signer_name,
                "channel": channel,
                "hash": token_hash,
                "user": created_by,
                "now": self.codec.dt_out(now),
                "expires": self.codec.dt_out(expires_at),
            },
        )

    def add_mediator_signing_act(
        self,
        *,
        case_id: int,
        document_kind: str,
        document_sha256: str,
        user_id: int | None,
        signer_name: str,
        token_hash: str,
        now: datetime,
    ) -> int:
        """The mediator's own act in their session: checked by password and used at once."""
        return self.insert(
            _ADD_MEDIATOR_ACT,
            {
                "case_id": case_id,
                "kind": document_kind,
                "sha": document_sha256,
                "user": user_id,
                "name": signer_name,
                "hash": token_hash,
                "now": self.codec.dt_out(now),
            },
        )

    def signing_act(self, token_hash: str) -> SigningActRecord | None:
        """The act whose secret hashes to `token_hash`."""
        row = self.row(
            _ACT_BY_HASH,
            {"hash": token_hash},
        )
        if row is None:
            return None
        return SigningActRecord(
            id=int(row["id"]),
            case_id=int(row["case_id"]),
            party_id=row["party_id"],
            party_name=row["party_name"],
            guardian_name=row["guardian_name"],
            signer_name=str(row["signer_name"]),
            channel=str(row["channel"]),
            document_kind=str(row["document_kind"]),
            document_sha256=str(row["document_sha256"]),
            expires_at=self.codec.dt_in_required(row["expires_at"]),
            identity_method=row["identity_method"],
            used_at=self.codec.dt_in(row["used_at"]),
            created_by=int(row["created_by"]),
        )

    def signer_identity(self, act_id: int) -> SignerIdentity | None:
        row = self.row(
            _SIGNER_IDENTITY,
            {"id": act_id},
        )
        if row is None:
            return None
        return SignerIdentity(
            id_number_cipher=row["id_number_cipher"],
            guardian_id_cipher=row["guardian_id_cipher"],
            guardian_name=row["guardian_name"],
            identity_failures=int(row["identity_failures"]),
        )

    def count_identity_failure(self, act_id: int) -> None:
        self.execute(
            _COUNT_IDENTITY_FAILURE,
            {"id": act_id},
        )

    def set_signing_code(self, act_id: int, otp_hash: str, expires_at: datetime) -> None:
        """A new code for the act: its hash, until when it holds, no tries made yet."""
        self.execute(
            _SET_SIGNING_CODE,
            {"hash": otp_hash, "expires": self.codec.dt_out(expires_at), "id": act_id},
        )

    def signing_code(self, act_id: int) -> SigningCode | None:
        row = self.row(
            _SIGNING_CODE,
            {"id": act_id},
        )
        if row is None:
            return None
        return SigningCode(
            otp_hash=row["otp_hash"],
            otp_expires_at=self.codec.dt_in(row["otp_expires_at"]),
            otp_attempts=int(row["otp_attempts"]),
        )

    def record_code_attempt(self, act_id: int, *, ok: bool) -> None:
        """A wrong code counts a try; the right one is used up."""
        self.execute(
            _RECORD_CODE_ATTEMPT,
            {"n": 0 if ok else 1, "ok": ok, "id": act_id},
        )

    def record_identity(self, act_id: int, method: str, by: int | None, now: datetime) -> None:
        self.execute(
            _RECORD_IDENTITY,
            {"method": method, "now": self.codec.dt_out(now), "by": by, "id": act_id},
        )

    def claim_signing_act(self, act_id: int, now: datetime) -> bool:
        """Mark the act used; False when it was used already (single use)."""
        return (
            self.execute(
                _CLAIM_ACT,
                {"now": self.codec.dt_out(now), "id": act_id},
            ).rowcount
            == 1
        )

    def release_signing_act(self, act_id: int) -> None:
        """The act was not signed after all: usable again."""
        self.execute(_RELEASE_ACT, {"id": act_id})

    def set_certificate_serial(self, act_id: int, serial: str) -> None:
        self.execute(
            _SET_CERTIFICATE_SERIAL,
            {"serial": serial, "id": act_id},
        )
