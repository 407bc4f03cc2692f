"""ID and phone numbers encrypted at rest (R-PII): AES-256-GCM for the value, an HMAC blind
index so a number can still be found by exact match without decrypting every row."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"
_AAD = _VERSION.encode()


class AesGcmProtector:
    """A PiiProtector from one 32-byte master key (the host loads or creates it)."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("PII master key must be 32 bytes")
        self._aead = AESGCM(hmac.new(master_key, b"fengqiao-pii-encrypt", hashlib.sha256).digest())
        self._index_key = hmac.new(master_key, b"fengqiao-pii-index", hashlib.sha256).digest()

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), _AAD)
        return f"{_VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, ciphertext: str) -> str:
        version, _, body = ciphertext.partition(":")
        if version != _VERSION:
            raise ValueError(f"unknown PII cipher version {version!r}")
        raw = base64.urlsafe_b64decode(body)
        return self._aead.decrypt(raw[:12], raw[12:], _VERSION.encode()).decode()

    def blind_index(self, plaintext: str) -> str:
        # hmac.digest is the one-shot C path: a third of hmac.new(...).hexdigest()'s cost
        return hmac.digest(self._index_key, plaintext.encode(), "sha256").hex()
