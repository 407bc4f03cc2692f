"""Authentication: argon2 password hashes, short-lived HMAC-signed bearer tokens, and the
login rate limit. Who may do what once logged in is api/authz.py's business."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request

from api.errors import InvalidCredentials, NotAuthenticated, TooManyLoginAttempts
from engine.repository import Tx
from mediation.engine import MediationEngine

_T = TypeVar("_T")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

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


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    issued_at: int
    expires_at: int
    epoch: int  # the user's token epoch when issued: a later epoch revokes the token
    session_id: str  # this sign-in's own id: logging out revokes it alone (revoked_sessions)


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

    def issue(self, user_id: int, epoch: int) -> str:
        issued = int(self._now())
        claims = {
            "sub": user_id,
            "iat": issued,
            "exp": issued + self.lifetime_seconds,
            "ep": epoch,
            "sid": secrets.token_urlsafe(12),
        }
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
                _claim_int(claims["sub"]),
                _claim_int(claims["iat"]),
                _claim_int(claims["exp"]),
                _claim_int(claims["ep"]),
                _claim_sid(claims["sid"]),
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


def _claim_sid(value: object) -> str:
    """The session id claim: a short URL-safe string (tokens issued before sessions had ids
    have none, and are refused: their holders sign in once more).

    Raises:
        TypeError: anything else.
    """
    if type(value) is not str or not 8 <= len(value) <= 32:
        raise TypeError("claim is not a session id")
    return value


class LoginLimiter:
    """At most `max_failures` failed logins per (username, client address), and at most
    `max_per_username` per username from all addresses, in a sliding window.

    Attempts for one username are taken in turn (a PostgreSQL advisory lock held while the
    password is checked; on SQLite a lock per process and the attempt counted before the
    check), so parallel guesses cannot all pass the check while argon2 runs, and only real
    failures count: twenty correct logins at once all get in. The failures are rows in the
    database, so every worker process counts the same ones.
    """

    def __init__(
        self,
        engine: MediationEngine,
        max_failures: int,
        window_seconds: int,
        *,
        max_per_username: int | None = None,
    ) -> None:
        self.db = engine.db
        self.clock = engine.clock
        self.max_failures = max_failures
        self.max_per_username = max_per_username or max_failures * 4
        self.window = timedelta(seconds=window_seconds)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def check(self, username: str, address: str, verify: Callable[[], _T | None]) -> _T:
        """Run `verify` (the password check) in turn with the other attempts for this
        username; None from it is a failure, counted.

        Raises:
            TooManyLoginAttempts: a window is full; says when its oldest failure expires.
            InvalidCredentials: `verify` returned None.
        """
        who = {"username": _login_name(username), "address": address[:64]}
        if self.db.dialect == "postgresql":
            return self._check_locked_in_database(who, verify)
        with self._lock_for(who["username"]):
            self._count(who)  # counted before the check: a crash leaves it counted
            result = verify()
            if result is None:
                raise InvalidCredentials()
            with self.db.transaction(write=True) as tx:
                self._forget(tx, who)
            return result

    def _check_locked_in_database(self, who: dict[str, str], verify: Callable[[], _T | None]) -> _T:
        key = int.from_bytes(hashlib.sha256(who["username"].encode()).digest()[:8], "big")
        with self.db.transaction(write=True) as tx:
            tx.lock_logins_of(key - (1 << 63))
            self._refuse_when_full(tx, who)
            result = verify()
            if result is None:
                self._insert(tx, who)
            else:
                self._forget(tx, who)
        if result is None:  # committed: the failure counts
            raise InvalidCredentials()
        return result

    def _lock_for(self, username: str) -> threading.Lock:
        with self._locks_guard:
            if len(self._locks) > 10_000:
                self._locks.clear()  # bounded: a lock held now stays with its holders
            return self._locks.setdefault(username, threading.Lock())

    def _count(self, who: dict[str, str]) -> None:
        with self.db.transaction(write=True) as tx:
            self._refuse_when_full(tx, who)
            self._insert(tx, who)

    def _refuse_when_full(self, tx: Tx, who: dict[str, str]) -> None:
        now = self.clock.now()
        # what has left every window goes, so the table stays the size of one window
        tx.forget_login_failures(now - self.window)
        for address, limit in (
            (who["address"], self.max_failures),
            (None, self.max_per_username),
        ):
            failures = tx.login_failures(who["username"], address)
            first = failures.oldest
            if failures.count >= limit and first is not None:
                wait = (first + self.window - now).total_seconds()
                raise TooManyLoginAttempts(max(1, math.ceil(wait)))

    def _insert(self, tx: Tx, who: dict[str, str]) -> None:
        tx.add_login_failure(who["username"], who["address"], self.clock.now())

    @staticmethod
    def _forget(tx: Tx, who: dict[str, str]) -> None:
        tx.clear_login_failures(who["username"], who["address"])


def request_address(request: Request, trusted: Sequence[IPNetwork]) -> str:
    """`client_address` of a request: the one way routes and pages name the client."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.get("x-forwarded-for"), trusted)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> str:
    """The client's address: the peer's, or — only when the peer is a trusted proxy — the
    right-most address in X-Forwarded-For that is not itself a trusted proxy."""
    if peer is None:
        return "unknown"
    if not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a forged, malformed hop: fall back to what we know
    return hops[0] if hops else peer


def _is_trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def parse_networks(values: Sequence[str]) -> tuple[IPNetwork, ...]:
    """FENGQIAO_TRUSTED_PROXIES entries (addresses or CIDR blocks).

    Raises:
        ValueError: an entry is neither.
    """
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _login_name(username: str) -> str:
    return username.lower()[:64]
