"""Content-addressed, write-once document files: the sha256 of the plaintext is the name.

`BlobStore` is the interface every backend implements (the local folder here, a table of blobs
in `documents.sql_store`; an S3-compatible bucket would be a third: object key = the digest,
`If-None-Match: *` on PUT for write-once, the same `Sealer` for encryption at rest).

A signed PDF is never changed in place; each signature produces new bytes and a new digest,
so the case keeps the chain of digests and any copy can be checked against it. With a key the
files are sealed with AES-256-GCM (the digest is the associated data, so a file moved under
another name does not open), and only the service user may read them: files 0400, folders
0700 — the documents carry full ID and phone numbers (R-PII).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from documents.errors import StoreError

_HEX = frozenset("0123456789abcdef")
SEALED_MAGIC = b"FQDOC1\n"  # sealed files start with this; plaintext PDFs never do
_NONCE = 12
FILE_MODE = 0o400
DIR_MODE = 0o700


@runtime_checkable
class BlobStore(Protocol):
    """A write-once, content-addressed store of documents, sealed at rest.

    Contract for every backend:
    - `put(data)` stores the plaintext's sealed form under `sha256(data)` and returns that hex
      digest; storing the same bytes again (from any machine, concurrently) is a no-op that
      returns the same digest; nothing stored is ever replaced or deleted.
    - `get(digest)` returns the plaintext after decrypting it (the digest is the AES-GCM
      associated data) and checking its sha256; `StoreError` when it is missing, does not
      decrypt, or does not match.
    - `digests()` lists every stored digest, sorted (backups, checks).
    - `digest in store` is a cheap existence check.
    """

    def put(self, data: bytes) -> str: ...

    def get(self, digest: str) -> bytes: ...

    def digests(self) -> list[str]: ...

    def __contains__(self, digest: object) -> bool: ...


def check_digest(digest: str) -> None:
    """Raises StoreError unless `digest` is 64 lowercase hex characters."""
    if len(digest) != 64 or not set(digest) <= _HEX:
        raise StoreError(f"文书摘要格式错误：{digest!r}", digest=digest)


class Sealer:
    """AES-256-GCM at rest: `FQDOC1\n` + 12-byte nonce + ciphertext, the digest as associated
    data (a blob moved under another digest does not open). Without a key blobs are stored as
    they are (tests, and files stored before sealing existed are still read)."""

    def __init__(self, key: bytes | None) -> None:
        if key is not None and len(key) != 32:
            raise StoreError("文书加密密钥须为 32 字节")
        self._aead = AESGCM(key) if key is not None else None

    def seal(self, digest: str, data: bytes) -> bytes:
        if self._aead is None:
            return data
        nonce = secrets.token_bytes(_NONCE)
        return SEALED_MAGIC + nonce + self._aead.encrypt(nonce, data, digest.encode())

    def open(self, digest: str, stored: bytes) -> bytes:
        """The plaintext, checked against its digest."""
        data = self._decrypt(digest, stored)
        if hashlib.sha256(data).hexdigest() != digest:
            raise StoreError(f"文书 {digest} 的内容与摘要不符，可能已被篡改", digest=digest)
        return data

    def _decrypt(self, digest: str, stored: bytes) -> bytes:
        if not stored.startswith(SEALED_MAGIC):
            return stored
        if self._aead is None:
            raise StoreError(f"文书 {digest} 已加密，但未配置文书加密密钥", digest=digest)
        body = stored[len(SEALED_MAGIC) :]
        try:
            return self._aead.decrypt(body[:_NONCE], body[_NONCE:], digest.encode())
        except InvalidTag as exc:
            raise StoreError(
                f"文书 {digest} 无法解密：密钥不符或文件已被篡改", digest=digest
            ) from exc


class DocumentStore:
    """Files under `root/ab/cdef….pdf`, keyed by the plaintext's sha256; never overwritten.

    Args:
        root: the folder (created 0700).
        suffix: the files' suffix.
        key: 32 bytes to seal files at rest; without it files are stored as they are (tests,
            and files stored before sealing existed are still read).
    """

    def __init__(self, root: Path, *, suffix: str = ".pdf", key: bytes | None = None) -> None:
        self.sealer = Sealer(key)
        self.root = root
        self.suffix = suffix

    def path_for(self, digest: str) -> Path:
        """Where the file with this digest lives (it may not exist).

        Raises:
            StoreError: `digest` is not 64 lowercase hex characters.
        """
        check_digest(digest)
        return self.root / digest[:2] / f"{digest[2:]}{self.suffix}"

    def _mkdir(self, folder: Path) -> None:
        for path in (self.root, folder):
            path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            if path.stat().st_mode & 0o077:
                path.chmod(DIR_MODE)  # made before sealing existed, or under a lax umask

    def put(self, data: bytes) -> str:
        """Store `data` once and return its sha256 hex digest (idempotent)."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_for(digest)
        if path.exists():
            return digest
        self._mkdir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(self.sealer.seal(digest, data))
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, FILE_MODE)
            with contextlib.suppress(FileExistsError):  # a racing writer stored it first
                os.link(tmp, path)  # link, unlike rename, never replaces an existing file
        finally:
            os.unlink(tmp)
        return digest

    def get(self, digest: str) -> bytes:
        """The plaintext stored under `digest`, checked against it.

        Raises:
            StoreError: no such document, it cannot be decrypted, or the plaintext no longer
                matches its digest.
        """
        path = self.path_for(digest)
        try:
            stored = path.read_bytes()
        except FileNotFoundError as exc:
            raise StoreError(f"文书 {digest} 不存在", digest=digest) from exc
        return self.sealer.open(digest, stored)

    def digests(self) -> list[str]:
        """Every stored digest (for backups and checks), sorted."""
        found = [
            p.parent.name + p.name.removesuffix(self.suffix)
            for p in self.root.glob(f"??/*{self.suffix}")
        ]
        return sorted(d for d in found if len(d) == 64 and set(d) <= _HEX)

    def __contains__(self, digest: object) -> bool:
        return isinstance(digest, str) and self.path_for(digest).exists()
