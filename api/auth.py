"""Authentication: argon2 password hashes, short-lived HMAC-signed bearer tokens, and the
login rate limit. Who may do what once logged in is api/authz.py's business."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.errors import NotAuthenticated, TooManyLoginAttempts
from engine.runtime import Engine

_TOKEN_VERSION = "v1"
_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so a miss costs as much as a wrong one."""
    return _HASHER.hash(secrets.token_hex(16))


def hash_password(password: str, hasher: PasswordHasher = _HASHER) -> str:
    return hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-ish time whether or not the user exists or has a password set."""
    try:
        return _HASHER.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def load_token_key(path: Path) -> bytes:
    """The 32-byte token signing key, created with mode 0600 on first start."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker created it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_bytes(32).hex())
    key = bytes.fromhex(path.read_text().strip())
    if len(key) != 32:
        raise SystemExit(f"令牌密钥文件 {path} 格式有误（应为 64 位十六进制）")
    return key


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    issued_at: int
    expires_at: int


class TokenSigner:
    """`v1.<claims>.<HMAC-SHA256>`: no library, no algorithm field to confuse, one key."""

    def __init__(
        self, key: bytes, *, lifetime_seconds: int, now: Callable[[], float] = time.time
    ) -> None:
        self._key = key
        self.lifetime_seconds = lifetime_seconds
        self._now = now

    def _sign(self, body: str) -> str:
        mac = hmac.new(self._key, f"{_TOKEN_VERSION}.{body}".encode(), hashlib.sha256)
        return _b64(mac.digest())

    def issue(self, user_id: int) -> str:
        issued = int(self._now())
        claims = {"sub": user_id, "iat": issued, "exp": issued + self.lifetime_seconds}
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{_TOKEN_VERSION}.{body}.{self._sign(body)}"

    def verify(self, token: str) -> TokenClaims:
        """Raises:
        NotAuthenticated: the token is malformed, forged or expired.
        """
        parts = token.split(".")
        if len(token) > 1024 or len(parts) != 3 or parts[0] != _TOKEN_VERSION:
            raise NotAuthenticated("登录凭据无效，请重新登录")
        body, signature = parts[1], parts[2]
        expected = self._sign(body)
        if not hmac.compare_digest(signature.encode(errors="replace"), expected.encode()):
            raise NotAuthenticated("登录凭据无效，请重新登录")
        try:
            claims = json.loads(_unb64(body))
            result = TokenClaims(
                _claim_int(claims["sub"]), _claim_int(claims["iat"]), _claim_int(claims["exp"])
            )
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            raise NotAuthenticated("登录凭据无效，请重新登录") from exc
        if result.expires_at <= self._now():
            raise NotAuthenticated("登录已过期，请重新登录")
        return result


def _claim_int(value: object) -> int:
    """A claim that must be a plain integer (a float, a bool or 1e400 is not).

    Raises:
        TypeError: anything else.
    """
    if type(value) is not int or not -(2**62) < value < 2**62:
        raise TypeError("claim is not an integer")
    return value


class LoginLimiter:
    """At most `max_failures` failed logins per (username, client address) in a sliding window.

    Each attempt is counted before its password is checked and forgotten when it succeeds,
    so guesses sent in parallel cannot all pass the check while argon2 runs; the attempts
    are rows in the database, so every worker process counts the same ones (in memory, N
    workers allowed N × the limit).
    """

    def __init__(self, engine: Engine, max_failures: int, window_seconds: int) -> None:
        self.db = engine.db
        self.clock = engine.clock
        self.max_failures = max_failures
        self.window = timedelta(seconds=window_seconds)

    def attempt(self, username: str, address: str) -> None:
        """Count an attempt, to be forgotten by `succeeded`.

        Raises:
            TooManyLoginAttempts: the window is full; says when the oldest attempt expires.
        """
        now = self.clock.now()
        who = {"username": _login_name(username), "address": address[:64]}
        with self.db.transaction(write=True) as tx:
            if self.db.dialect == "postgresql":  # attempts for one name and address in turn
                key = int.from_bytes(hashlib.sha256(repr(who).encode()).digest()[:8], "big")
                tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": key - (1 << 63)})
            since = tx.codec.dt_out(now - self.window)
            # what has left every window goes, so the table stays the size of one window
            tx.execute("DELETE FROM login_failures WHERE at <= :since", {"since": since})
            count, oldest = tx.one(
                "SELECT COUNT(*), MIN(at) FROM login_failures "
                "WHERE username = :username AND address = :address",
                who,
            ) or (0, None)
            first = tx.codec.dt_in(oldest)
            if count >= self.max_failures and first is not None:
                wait = (first + self.window - now).total_seconds()
                raise TooManyLoginAttempts(max(1, math.ceil(wait)))
            tx.execute(
                "INSERT INTO login_failures (username, address, at) "
                "VALUES (:username, :address, :at)",
                {**who, "at": tx.codec.dt_out(now)},
            )

    def succeeded(self, username: str, address: str) -> None:
        with self.db.transaction(write=True) as tx:
            tx.execute(
                "DELETE FROM login_failures WHERE username = :username AND address = :address",
                {"username": _login_name(username), "address": address[:64]},
            )


def _login_name(username: str) -> str:
    return username.lower()[:64]
