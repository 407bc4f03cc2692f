"""Verification ids printed in each document's QR code, under the deployment's document key."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

from api.settings import Settings

MAC_HEX = 20  # 80 bits of HMAC-SHA256: not guessable, short enough for a QR code
_PUBLIC_ID = re.compile(
    r"([1-9][0-9]{0,9})-([a-z][a-z_]{0,39})-([1-9][0-9]{0,9})-([0-9a-f]{" + str(MAC_HEX) + "})"
)


def document_key_file(settings: Settings) -> Path:
    return settings.data_dir / "keys" / "documents.key"


class PublicIds:
    """Verification ids printed in each document's QR code: "{case}-{kind}-{version}-{mac}".

    The MAC (HMAC-SHA256 under a per-deployment key) makes ids unguessable, so the public
    verification page, which names the signers, opens only to whoever holds the document.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, case_id: int, kind: str, version: int) -> str:
        message = f"{case_id}:{kind}:{version}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:MAC_HEX]

    def mint(self, case_id: int, kind: str, version: int) -> str:
        return f"{case_id}-{kind}-{version}-{self._mac(case_id, kind, version)}"

    def parse(self, public_id: str) -> tuple[int, str, int] | None:
        """(case id, kind, version) of an id this deployment minted; None for any other."""
        match = _PUBLIC_ID.fullmatch(public_id)
        if match is None:
            return None
        case_id, kind, version = int(match[1]), match[2], int(match[3])
        if not hmac.compare_digest(self._mac(case_id, kind, version), match[4]):
            return None
        return case_id, kind, version
