"""Which document store this deployment uses (settings.document_store), opened with the
store key: the local folder (one machine, SQLite's default) or the database's blob table (every
API machine behind one PostgreSQL database reads what any of them stored)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.keys import load_document_key
from documents.store import BlobStore, DocumentStore

if TYPE_CHECKING:
    import sqlalchemy as sa

    from api.settings import Settings

__all__ = ["open_document_store", "uses_database"]


def uses_database(settings: Settings, engine: sa.Engine | None = None) -> bool:
    """ "auto": the database when it is PostgreSQL (the engine's, else the settings' URL)."""
    if settings.document_store == "auto":
        if engine is not None:
            return engine.dialect.name == "postgresql"
        return settings.resolved_database_url.startswith("postgresql")
    return settings.document_store == "database"


def open_document_store(settings: Settings, engine: sa.Engine | None = None) -> BlobStore:
    """The configured store.

    Args:
        engine: the database for the blob table (a new one from the settings when None).
    """
    key = load_document_key(settings.resolved_document_store_key_file, "文书加密密钥")
    if not uses_database(settings, engine):
        return DocumentStore(settings.documents_dir, key=key)
    from documents.sql_store import DatabaseDocumentStore

    if engine is None:
        from api.wiring import make_sa_engine

        engine = make_sa_engine(settings.resolved_database_url)
    return DatabaseDocumentStore(engine, key=key)
