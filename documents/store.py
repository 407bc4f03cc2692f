"""Content-addressed, write-once document files: the sha256 of the bytes is the name.

A signed PDF is never changed in place; each signature produces new bytes and a new digest,
so the case keeps the chain of digests and any copy can be checked against it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from documents.errors import StoreError

_HEX = frozenset("0123456789abcdef")


class DocumentStore:
    """Files under `root/ab/cdef….pdf`, keyed by sha256 hex; never overwritten."""

    def __init__(self, root: Path, *, suffix: str = ".pdf") -> None:
        self.root = root
        self.suffix = suffix

    def path_for(self, digest: str) -> Path:
        """Where the file with this digest lives (it may not exist).

        Raises:
            StoreError: `digest` is not 64 lowercase hex characters.
        """
        if len(digest) != 64 or not set(digest) <= _HEX:
            raise StoreError(f"文书摘要格式错误：{digest!r}", digest=digest)
        return self.root / digest[:2] / f"{digest[2:]}{self.suffix}"

    def put(self, data: bytes) -> str:
        """Store `data` once and return its sha256 hex digest (idempotent)."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_for(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o444)
            with contextlib.suppress(FileExistsError):  # a racing writer stored it first
                os.link(tmp, path)  # link, unlike rename, never replaces an existing file
        finally:
            os.unlink(tmp)
        return digest

    def get(self, digest: str) -> bytes:
        """The bytes stored under `digest`, checked against it.

        Raises:
            StoreError: no such document, or the file no longer matches its digest.
        """
        path = self.path_for(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise StoreError(f"文书 {digest} 不存在", digest=digest) from exc
        if hashlib.sha256(data).hexdigest() != digest:
            raise StoreError(f"文书 {digest} 的内容与摘要不符，可能已被篡改", digest=digest)
        return data

    def __contains__(self, digest: object) -> bool:
        return isinstance(digest, str) and self.path_for(digest).exists()
