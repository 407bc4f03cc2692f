"""Documents in the database: a table of sealed blobs every API machine reads and writes.

Same contract as the local folder (`documents.store.BlobStore`): write-once, keyed by the
plaintext's sha256, sealed with AES-256-GCM by the same `Sealer` (a blob copied from the folder
into the table, or back, opens with the same key). Inserting an existing digest does nothing
(`ON CONFLICT DO NOTHING`), so two machines storing the same bytes at once both succeed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa

from documents.errors import StoreError
from documents.store import Sealer, check_digest

__all__ = ["BLOBS", "DatabaseDocumentStore"]

# the table as migration 0013 creates it (mediation.models.papers.DocumentBlob is the same table)
BLOBS = sa.table(
    "document_blobs",
    sa.column("digest", sa.String),
    sa.column("sealed", sa.LargeBinary),
    sa.column("size", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


class DatabaseDocumentStore:
    """Sealed blobs in the `document_blobs` table.

    Args:
        engine: the deployment's database (PostgreSQL in a multi-machine deployment).
        key: 32 bytes to seal blobs at rest (None: stored as they are, tests only).
    """

    def __init__(self, engine: sa.Engine, *, key: bytes | None = None) -> None:
        self.engine = engine
        self.sealer = Sealer(key)

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if digest in self:
            return digest
        values = {
            "digest": digest,
            "sealed": self.sealer.seal(digest, data),
            "size": len(data),
            "created_at": datetime.now(UTC),
        }
        statement: sa.Insert
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            statement = pg_insert(BLOBS).values(values).on_conflict_do_nothing()
        else:  # SQLite keeps naive UTC, like engine.models.columns.UtcDateTime
            values["created_at"] = datetime.now(UTC).replace(tzinfo=None)
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            statement = sqlite_insert(BLOBS).values(values).on_conflict_do_nothing()
        with self.engine.begin() as connection:
            connection.execute(statement)
        return digest

    def get(self, digest: str) -> bytes:
        check_digest(digest)
        with self.engine.connect() as connection:
            stored = connection.execute(
                sa.select(BLOBS.c.sealed).where(BLOBS.c.digest == digest)
            ).scalar_one_or_none()
        if stored is None:
            raise StoreError(f"文书 {digest} 不存在", digest=digest)
        return self.sealer.open(digest, bytes(stored))

    def digests(self) -> list[str]:
        with self.engine.connect() as connection:
            found = connection.execute(sa.select(BLOBS.c.digest).order_by(BLOBS.c.digest))
            return [str(d) for d in found.scalars()]

    def __contains__(self, digest: object) -> bool:
        if not isinstance(digest, str):
            return False
        check_digest(digest)
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(sa.literal(1)).where(BLOBS.c.digest == digest)
            ).first()
        return row is not None
