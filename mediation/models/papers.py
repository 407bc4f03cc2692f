"""Mediation's tables about a case's papers: the signatures on the agreement, the signing acts
that produce them, the supporting papers uploaded for the court, and the sealed blobs of the
host's database document store.

Moved out of engine/models/documents.py (same tables, same columns, same foreign keys): the
engine keeps only the document versions its guards and actions read and add.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.models.columns import _ts


class Signature(SQLModel, table=True):
    """A signature on the agreement: who (party, mediator, seal), when, and on which version."""

    __tablename__ = "signatures"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    document_id: int | None = Field(default=None, foreign_key="documents.id")
    signer_kind: str = Field(max_length=20)  # party | mediator | seal
    party_id: int | None = Field(default=None, foreign_key="parties.id")
    user_id: int | None = Field(default=None, foreign_key="users.id")
    method: str = Field(default="electronic", max_length=20)  # electronic | paper
    signer_name: str | None = Field(default=None, max_length=64)  # who signed for the party
    signed_at: datetime = _ts()


class SigningAct(SQLModel, table=True):
    """R-ESIGN: one act of signing by its signer — a party (or their 法定代理人) on their own
    device through a personal link or on the room's kiosk, or the mediator in their session —
    bound to the exact document version shown, after a recorded identity check. Single use;
    the event certificate's key is never stored (only the certificate's serial)."""

    __tablename__ = "signing_acts"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    document_kind: str = Field(max_length=40)  # agreement | confirmation_application
    document_sha256: str = Field(max_length=64)  # the version shown and signed
    signer_kind: str = Field(max_length=20)  # party | mediator
    party_id: int | None = Field(default=None, foreign_key="parties.id")
    user_id: int | None = Field(default=None, foreign_key="users.id")  # a mediator signing
    signer_name: str = Field(max_length=64)  # who performs the act (a representative for a minor)
    channel: str = Field(max_length=20)  # link | kiosk | session
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 of the act's secret
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    identity_method: str | None = Field(default=None, max_length=20)
    identity_checked_at: datetime | None = _ts(nullable=True)
    identity_checked_by: int | None = Field(default=None, foreign_key="users.id")
    identity_failures: int = 0
    otp_hash: str | None = Field(default=None, max_length=200)  # salt$pbkdf2, never the code
    otp_expires_at: datetime | None = _ts(nullable=True)
    otp_attempts: int = 0
    used_at: datetime | None = _ts(nullable=True)
    certificate_serial: str | None = Field(default=None, max_length=64)


class DocumentBlob(SQLModel, table=True):
    """A sealed document (documents.sql_store): write-once, keyed by the plaintext's sha256;
    where the documents live when several API machines share one database. The documents
    package may import nothing of ours, so the host's schema declares its table."""

    __tablename__ = "document_blobs"

    digest: str = Field(primary_key=True, max_length=64)
    sealed: bytes = Field(sa_column=sa.Column(sa.LargeBinary(), nullable=False))
    size: int
    created_at: datetime = _ts()


class CaseAttachment(SQLModel, table=True):
    """R-JC-PACKAGE: a supporting paper the court needs (identity, property, guardianship
    proofs, powers of attorney), uploaded as PDF/JPEG/PNG; the bytes are in the sealed,
    content-addressed document store, never overwritten."""

    __tablename__ = "case_attachments"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=30)  # identity_proof | property_proof | power_of_attorney ...
    party_id: int | None = Field(default=None, foreign_key="parties.id")
    title: str = Field(max_length=100)
    media_type: str = Field(max_length=40)
    size: int
    sha256: str = Field(max_length=64)
    uploaded_by: int = Field(foreign_key="users.id")
    uploaded_at: datetime = _ts()
