"""The deployment's key files, in one place: the PII master key, the token key, the key of
verification ids and of the sealed document store, and the audit checkpoints' signing key.

Import-light (the CLI's fast paths open the store without building the engine). Every key is
created once, with mode 0600, through a temporary file linked into place: two workers starting
together agree on one key (the second finds the first's). A broken or missing key is a
KeyFileError with a stable code, which commands print as they print every other failure.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path


class KeyFileError(Exception):
    """A key file that cannot be used; not an EngineError, so that loading a key imports
    nothing of the engine (the CLI's fast paths)."""

    code = "key_file_error"
    title_zh = "密钥文件不可用"

    def __init__(self, message_zh: str, path: Path) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.path = path


class KeyFileInvalid(KeyFileError):
    code = "key_file_invalid"
    title_zh = "密钥文件有误"

    def __init__(self, label: str, path: Path, expected: str = "64 位十六进制") -> None:
        super().__init__(f"{label}文件 {path} 格式有误（应为 {expected}）", path)


class KeyFileMissing(KeyFileError):
    code = "key_file_missing"
    title_zh = "缺少密钥文件"

    def __init__(self, label: str, path: Path) -> None:
        super().__init__(f"缺少{label}文件 {path}：请先运行 fengqiao init", path)


def create_once(path: Path, content: bytes) -> None:
    """Write a new key file (mode 0600) unless one exists; when two processes race, the first
    one linked into place wins and the other's is discarded."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def load_hex_key(path: Path, label: str, *, create: bool = True) -> bytes:
    """A 32-byte key stored as hex; made on first use when `create`."""
    if not path.exists():
        if not create:
            raise KeyFileMissing(label, path)
        create_once(path, secrets.token_bytes(32).hex().encode())
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise KeyFileInvalid(label, path)
    return key


def load_document_key(path: Path, label: str = "文书核验密钥") -> bytes:
    """The key of verification ids, or of the sealed store."""
    return load_hex_key(path, label)


def load_pii_key(path: Path, *, create: bool) -> bytes:
    """The PII master key (R-PII): made by `fengqiao init`, required afterwards."""
    return load_hex_key(path, "PII 密钥", create=create)


def load_token_key(path: Path) -> bytes:
    """The key that signs access tokens and web sessions; made on first start."""
    return load_hex_key(path, "令牌密钥")
