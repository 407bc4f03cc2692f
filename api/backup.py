"""`fengqiao backup` / `fengqiao restore`: one consistent archive of a deployment.

The archive (tar.gz) holds every table's rows read in one snapshot transaction (JSON lines,
dialect-neutral, so a SQLite backup restores into PostgreSQL too), the document store's
files as stored (sealed), the audit checkpoints, and a manifest with the schema revision and
every member's sha256. Keys go in only when asked for, sealed with a passphrase (scrypt,
AES-256-GCM). A restore goes into an empty data dir and an empty database and reports
success only after every checksum, every audit chain (against the latest checkpoint) and
every document's content address has been checked.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import secrets
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from api import migrate
from api.settings import Settings
from mediation.models import METADATA

__all__ = ["BackupError", "RestoreReport", "backup", "restore", "verify_restored"]

FORMAT = "fengqiao-backup/1"
_KEYS_MEMBER = "keys.sealed"


class BackupError(Exception):
    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        if tag == "$dt":
            return datetime.fromisoformat(text)
        if tag == "$d":
            return date.fromisoformat(text)
        if tag == "$b":
            return base64.b64decode(text)
        if tag == "$dec":
            return Decimal(text)
    return value


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _key_files(settings: Settings) -> dict[str, Path]:
    return {
        "pii.key": settings.resolved_pii_key_file,
        "store.key": settings.resolved_document_store_key_file,
        "audit.key": settings.resolved_audit_key_file,
        "token.key": settings.resolved_token_key_file,
        "documents.key": settings.data_dir / "keys" / "documents.key",
    }


def _kdf(salt: bytes) -> Scrypt:
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1)


def seal_keys(files: dict[str, bytes], passphrase: str) -> bytes:
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    key = _kdf(salt).derive(passphrase.encode())
    plain = json.dumps({k: base64.b64encode(v).decode() for k, v in files.items()}).encode()
    return salt + nonce + AESGCM(key).encrypt(nonce, plain, FORMAT.encode())


def open_keys(sealed: bytes, passphrase: str) -> dict[str, bytes]:
    salt, nonce, body = sealed[:16], sealed[16:28], sealed[28:]
    key = _kdf(salt).derive(passphrase.encode())
    try:
        plain = AESGCM(key).decrypt(nonce, body, FORMAT.encode())
    except InvalidTag as exc:
        raise BackupError("口令不正确，或密钥包已损坏") from exc
    return {k: base64.b64decode(v) for k, v in json.loads(plain).items()}


def _snapshot(engine: sa.Engine) -> Iterator[tuple[str, bytes]]:
    """Every table as JSON lines, all read in one snapshot transaction."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with connection.begin():
            for table in METADATA.sorted_tables:
                order = list(table.primary_key.columns) or list(table.columns)
                lines = []
                for row in connection.execute(sa.select(table).order_by(*order)):
                    encoded = {k: _encode(v) for k, v in row._mapping.items()}
                    lines.append(json.dumps(encoded, ensure_ascii=False, sort_keys=True))
                yield f"database/{table.name}.jsonl", ("\n".join(lines) + "\n").encode()


def _folder(root: Path, prefix: str) -> Iterator[tuple[str, bytes]]:
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if not path.name.startswith(".tmp-"):
                yield f"{prefix}/{path.relative_to(root).as_posix()}", path.read_bytes()


def backup(
    settings: Settings,
    engine: sa.Engine,
    target: Path,
    *,
    passphrase: str | None = None,
) -> dict[str, Any]:
    """Write the archive to `target` (mode 0600); keys only with a passphrase.

    Returns:
        The manifest written.
    """
    members: dict[str, bytes] = {}
    for name, data in _snapshot(engine):
        members[name] = data
    for name, data in _folder(settings.documents_dir, "documents"):
        members[name] = data
    for name, data in _folder(settings.resolved_checkpoint_dir, "checkpoints"):
        members[name] = data
    if passphrase is not None:
        keys = {n: p.read_bytes() for n, p in _key_files(settings).items() if p.exists()}
        members[_KEYS_MEMBER] = seal_keys(keys, passphrase)
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "dialect": engine.dialect.name,
        "revision": head_revision(),
        "with_keys": passphrase is not None,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as archive:
        _add(archive, "manifest.json", json.dumps(manifest, indent=1).encode())
        for name, data in members.items():
            _add(archive, name, data)
    return manifest


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


@dataclass
class RestoreReport:
    tables: dict[str, int] = field(default_factory=dict)
    documents: int = 0
    checkpoints: int = 0
    chains: int = 0
    keys: list[str] = field(default_factory=list)
    missing_documents: list[str] = field(default_factory=list)


def _read(source: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(source, mode="r:gz") as archive:
            for info in archive.getmembers():
                if not info.isfile() or info.name.startswith("/") or ".." in info.name.split("/"):
                    raise BackupError(f"备份文件中有不应出现的条目：{info.name}")
                handle = archive.extractfile(info)
                assert handle is not None
                members[info.name] = handle.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"无法读取备份文件 {source}：{exc}") from exc
    try:
        manifest = json.loads(members.pop("manifest.json"))
    except (KeyError, ValueError) as exc:
        raise BackupError("备份文件缺少清单（manifest.json）") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError("备份文件格式不符")
    listed: dict[str, str] = manifest["files"]
    if set(listed) != set(members):
        raise BackupError("备份文件的内容与清单不一致（缺少或多出文件）")
    for name, digest in listed.items():
        if hashlib.sha256(members[name]).hexdigest() != digest:
            raise BackupError(f"备份文件中 {name} 的校验和不符，文件已损坏或被改动")
    return manifest, members


def _require_empty(settings: Settings, engine: sa.Engine) -> None:
    for folder in (settings.documents_dir, settings.resolved_checkpoint_dir):
        if folder.is_dir() and any(folder.iterdir()):
            raise BackupError(f"恢复须在空的数据目录中进行：{folder} 不为空")
    names = set(sa.inspect(engine).get_table_names())
    with engine.connect() as connection:
        for table in METADATA.sorted_tables:
            if (
                table.name in names
                and connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            ):
                raise BackupError(f"恢复须在空数据库中进行：表 {table.name} 中已有数据")


def _write_file(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def restore(
    settings: Settings, engine: sa.Engine, source: Path, *, passphrase: str | None = None
) -> RestoreReport:
    """Restore the archive into an empty data dir and database, then check everything.

    Raises:
        BackupError: a checksum, the schema revision, the target not being empty, the
            passphrase, an audit chain or a document's content address.
    """
    manifest, members = _read(source)
    if manifest["revision"] != head_revision():
        raise BackupError(
            f"备份的数据库版本（{manifest['revision']}）与本程序（{head_revision()}）不同"
        )
    _require_empty(settings, engine)
    report = RestoreReport()
    if _KEYS_MEMBER in members:
        if passphrase is None:
            raise BackupError("备份包含密钥：请用 --passphrase 提供备份时的口令")
        for name, data in open_keys(members.pop(_KEYS_MEMBER), passphrase).items():
            target = _key_files(settings)[name]
            if target.exists():
                if target.read_bytes() != data:
                    raise BackupError(f"数据目录中已有不同的密钥 {target}")
                continue
            _write_file(target, data, 0o600)
            report.keys.append(name)
    migrate.upgrade(engine)
    with engine.begin() as connection:
        for table in METADATA.sorted_tables:
            text = members.get(f"database/{table.name}.jsonl", b"").decode()
            rows = [
                {k: _decode(v) for k, v in json.loads(line).items()}
                for line in text.splitlines()
                if line.strip()
            ]
            if rows:
                connection.execute(table.insert(), rows)
            report.tables[table.name] = len(rows)
            if engine.dialect.name == "postgresql" and "id" in table.columns and rows:
                sequence = sa.func.pg_get_serial_sequence(table.name, "id")
                highest = sa.select(sa.func.max(table.c.id)).scalar_subquery()
                connection.execute(sa.select(sa.func.setval(sequence, highest)))
    for name, data in members.items():
        if name.startswith("documents/"):
            _write_file(settings.documents_dir / name.removeprefix("documents/"), data, 0o400)
            report.documents += 1
        elif name.startswith("checkpoints/"):
            target = settings.resolved_checkpoint_dir / name.removeprefix("checkpoints/")
            _write_file(target, data, 0o400)
            report.checkpoints += 1
    return report


def verify_restored(settings: Settings, report: RestoreReport) -> None:
    """Every audit chain (against the latest checkpoint) and every stored document's content
    address, with the keys now in the data dir.

    Raises:
        BackupError: a key is missing, a chain is broken, or a document does not open to the
            bytes its digest names.
    """
    from api.checkpoints import CheckpointError
    from api.document_store import open_document_store
    from api.scheduler import checkpointer_from_settings
    from api.wiring import build_engine
    from documents import StoreError

    for name in ("pii.key", "store.key"):
        if not _key_files(settings)[name].exists():
            raise BackupError(f"缺少密钥 {name}：请用 --with-keys 备份，或先放回原密钥文件")
    engine = build_engine(settings)
    try:
        try:
            checkpoint = checkpointer_from_settings(settings, engine).latest()
        except CheckpointError as exc:
            raise BackupError(exc.message_zh) from exc
        breaks = engine.verify_audit(covered=checkpoint.covered() if checkpoint else {})
        if breaks:
            raise BackupError("审计链校验失败：" + "；".join(b.describe() for b in breaks[:5]))
        documents, cases = METADATA.tables["documents"], METADATA.tables["cases"]
        with engine.db.engine.connect() as connection, connection.begin():
            digests = {str(d) for d in connection.scalars(sa.select(documents.c.sha256).distinct())}
            count = sa.select(sa.func.count()).select_from(cases)
            report.chains = int(connection.execute(count).scalar_one())
        store = open_document_store(settings, engine.db.engine)
        stored = set(store.digests())
        for digest in sorted(stored):
            try:
                store.get(digest)  # decrypts and checks the plaintext against its address
            except StoreError as exc:
                raise BackupError(exc.message_zh) from exc
        # recorded but never stored in the source either (a deployment without the document
        # service, such as `demo --no-documents`): reported, not a failure of the restore
        report.missing_documents = sorted(digests - stored)
    finally:
        engine.db.engine.dispose()
