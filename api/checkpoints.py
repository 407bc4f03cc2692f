"""Signed audit checkpoints: every chain's head, a Merkle root over them, signed with an
Ed25519 key the database does not hold, written to a folder outside the database and sent
through the outbox to a receiver the deployment configures.

An administrator who can write the database can rewrite or shorten a chain and fix up the
case row; what they cannot do without the checkpoint key (and every copy the receiver got)
is make an event a checkpoint covered disappear or change unseen.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from api.keys import create_once
from engine.audit import ChainHead, merkle_root
from mediation.engine import MediationEngine

__all__ = [
    "CHECKPOINT_KIND",
    "Checkpoint",
    "CheckpointError",
    "Checkpointer",
    "load_signing_key",
]

CHECKPOINT_KIND = "audit_checkpoint"  # the outbox message kind
CHECKPOINT_RECIPIENT = "audit"  # route it: FENGQIAO_EMAIL_ROUTES {"audit": …} or the webhook
_FORMAT = "fengqiao-audit-checkpoint/1"
_NAME_TIME = "%Y%m%dT%H%M%S%fZ"  # file names sort in time order


class CheckpointError(Exception):
    """A checkpoint file is unreadable, or its signature or root does not verify."""

    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


def load_signing_key(path: Path, *, create: bool) -> Ed25519PrivateKey:
    """The checkpoint signing key (PEM, mode 0600), created on `fengqiao init`."""
    if not path.exists():
        if not create:
            raise CheckpointError(f"缺少审计检查点签名密钥 {path}：请先运行 fengqiao init")
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        create_once(path, pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"审计检查点签名密钥 {path} 不是 Ed25519 密钥")
    return key


@dataclass(frozen=True, slots=True)
class Checkpoint:
    created_at: datetime
    root: str
    heads: tuple[ChainHead, ...]
    signature: str  # hex Ed25519 over the signed text
    path: Path | None = None

    def signed_text(self) -> bytes:
        return signed_text(self.created_at, self.root, len(self.heads))

    def covered(self) -> dict[int, ChainHead]:
        return {h.case_id: h for h in self.heads}

    def to_json(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "created_at": self.created_at.isoformat(),
            "root": self.root,
            "cases": len(self.heads),
            "heads": [[h.case_id, h.seq, h.hash] for h in self.heads],
            "signature": self.signature,
        }


def signed_text(created_at: datetime, root: str, cases: int) -> bytes:
    return f"{_FORMAT}|{created_at.isoformat()}|{cases}|{root}".encode()


class Checkpointer:
    """Makes, stores and checks checkpoints.

    Args:
        engine: where the chains are; None to read and check checkpoints only (a verify
            needs no flows loaded).
        key: the signing key (its public half verifies).
        folder: where checkpoint files go (outside the database).
    """

    def __init__(
        self, engine: MediationEngine | None, key: Ed25519PrivateKey, folder: Path
    ) -> None:
        self.engine = engine
        self.key = key
        self.public_key: Ed25519PublicKey = key.public_key()
        self.folder = folder

    def make(self, now: datetime | None = None) -> Checkpoint:
        """Sign every chain's head now, write the file and queue it for the receiver."""
        assert self.engine is not None, "a checkpointer made to read checkpoints only"
        created = (now or self.engine.clock.now()).astimezone(UTC)
        heads = tuple(self.engine.chain_heads())
        root = merkle_root(heads)
        signature = self.key.sign(signed_text(created, root, len(heads))).hex()
        checkpoint = Checkpoint(created, root, heads, signature)
        path = self._write(checkpoint)
        with self.engine.db.transaction(write=True) as tx:
            tx.add_outbox(
                case_id=None,
                kind=CHECKPOINT_KIND,
                recipient=CHECKPOINT_RECIPIENT,
                payload={
                    "created_at": created.isoformat(),
                    "root": root,
                    "cases": len(heads),
                    "signature": signature,
                    "public_key": self.public_hex(),
                },
                now=created,
            )
        return Checkpoint(created, root, heads, signature, path)

    def public_hex(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        ).hex()

    def _write(self, checkpoint: Checkpoint) -> Path:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"checkpoint-{checkpoint.created_at.strftime(_NAME_TIME)}.json"
        path = self.folder / name
        data = json.dumps(checkpoint.to_json(), separators=(",", ":")).encode()
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o400)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
        return path

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("checkpoint-*.json")) if self.folder.is_dir() else []

    def latest_time(self) -> datetime | None:
        """When the latest checkpoint was made, from its file name (cheap: the tick asks)."""
        files = self.files()
        if not files:
            return None
        stamp = files[-1].stem.removeprefix("checkpoint-")
        return datetime.strptime(stamp, _NAME_TIME).replace(tzinfo=UTC)

    def load(self, path: Path) -> Checkpoint:
        """Read and check one checkpoint file: its signature and its root.

        Raises:
            CheckpointError: unreadable, not signed by this key, or the root does not match.
        """
        try:
            raw = json.loads(path.read_bytes())
            if raw.get("format") != _FORMAT:
                raise CheckpointError(f"检查点 {path.name} 格式不符")
            created = datetime.fromisoformat(raw["created_at"])
            heads = tuple(ChainHead(int(c), int(s), str(h)) for c, s, h in raw["heads"])
            root, signature = str(raw["root"]), str(raw["signature"])
            self.public_key.verify(bytes.fromhex(signature), signed_text(created, root, len(heads)))
        except InvalidSignature as exc:
            raise CheckpointError(f"检查点 {path.name} 的签名无效，文件被改动") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"检查点 {path.name} 无法读取：{exc}") from exc
        if merkle_root(heads) != root:
            raise CheckpointError(f"检查点 {path.name} 的链头与其签名的根不符，文件被改动")
        return Checkpoint(created, root, heads, signature, path)

    def latest(self) -> Checkpoint | None:
        files = self.files()
        return self.load(files[-1]) if files else None
