"""Key files of the deployment (verification ids, the sealed document store): small and
import-light, so the CLI's fast paths can open the store without building the engine."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path


def load_document_key(path: Path, label: str = "文书核验密钥") -> bytes:
    """A 32-byte key (of verification ids, or of the sealed store); created with mode 0600
    on first use.

    Written to a temporary file and linked into place, so two workers starting together
    agree on one key (the second finds the first's).
    """
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_bytes(32).hex())
            with contextlib.suppress(FileExistsError):  # a racing worker's key wins: use it
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
        text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise SystemExit(f"{label}文件 {path} 格式有误（应为 64 位十六进制）")
    return key
