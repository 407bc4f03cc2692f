"""Signing acts: one signer's single-use act of signing one document version, with its
identity check (ID document, SMS code or password) and the certificate it was signed under."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.repository.connection import TxCore


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
            "INSERT INTO signing_acts (case_id, document_kind, document_sha256, "
            "signer_kind, party_id, signer_name, channel, token_hash, created_by, "
            "created_at, expires_at, identity_failures, otp_attempts) VALUES (:case_id, "
            ":kind, :sha, 'party', :party_id, :signer, :channel, :hash, :user, :now, "
            ":expires, 0, 0)",
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
            "INSERT INTO signing_acts (case_id, document_kind, document_sha256, "
            "signer_kind, user_id, signer_name, channel, token_hash, created_by, "
            "created_at, expires_at, identity_method, identity_checked_at, "
            "identity_checked_by, identity_failures, otp_attempts, used_at) VALUES "
            "(:case_id, :kind, :sha, 'mediator', :user, :name, 'session', :hash, :user, "
            ":now, :now, 'password', :now, :user, 0, 0, :now)",
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
            "SELECT a.id, a.case_id, a.party_id, p.name AS party_name, p.guardian_name, "
            "a.signer_name, a.channel, a.document_kind, a.document_sha256, a.expires_at, "
            "a.identity_method, a.used_at, a.created_by FROM signing_acts a "
            "LEFT JOIN parties p ON p.id = a.party_id WHERE a.token_hash = :hash",
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
            "SELECT p.id_number_cipher, p.guardian_id_cipher, p.guardian_name, "
            "a.identity_failures FROM signing_acts a JOIN parties p ON p.id = a.party_id "
            "WHERE a.id = :id",
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
            "UPDATE signing_acts SET identity_failures = identity_failures + 1 WHERE id = :id",
            {"id": act_id},
        )

    def set_signing_code(self, act_id: int, otp_hash: str, expires_at: datetime) -> None:
        """A new code for the act: its hash, until when it holds, no tries made yet."""
        self.execute(
            "UPDATE signing_acts SET otp_hash = :hash, otp_expires_at = :expires, "
            "otp_attempts = 0 WHERE id = :id",
            {"hash": otp_hash, "expires": self.codec.dt_out(expires_at), "id": act_id},
        )

    def signing_code(self, act_id: int) -> SigningCode | None:
        row = self.row(
            "SELECT otp_hash, otp_expires_at, otp_attempts FROM signing_acts WHERE id = :id",
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
            "UPDATE signing_acts SET otp_attempts = otp_attempts + :n, "
            "otp_hash = CASE WHEN :ok THEN NULL ELSE otp_hash END WHERE id = :id",
            {"n": 0 if ok else 1, "ok": ok, "id": act_id},
        )

    def record_identity(self, act_id: int, method: str, by: int | None, now: datetime) -> None:
        self.execute(
            "UPDATE signing_acts SET identity_method = :method, identity_checked_at = :now, "
            "identity_checked_by = :by WHERE id = :id",
            {"method": method, "now": self.codec.dt_out(now), "by": by, "id": act_id},
        )

    def claim_signing_act(self, act_id: int, now: datetime) -> bool:
        """Mark the act used; False when it was used already (single use)."""
        return (
            self.execute(
                "UPDATE signing_acts SET used_at = :now WHERE id = :id AND used_at IS NULL",
                {"now": self.codec.dt_out(now), "id": act_id},
            ).rowcount
            == 1
        )

    def release_signing_act(self, act_id: int) -> None:
        """The act was not signed after all: usable again."""
        self.execute("UPDATE signing_acts SET used_at = NULL WHERE id = :id", {"id": act_id})

    def set_certificate_serial(self, act_id: int, serial: str) -> None:
        self.execute(
            "UPDATE signing_acts SET certificate_serial = :serial WHERE id = :id",
            {"serial": serial, "id": act_id},
        )
