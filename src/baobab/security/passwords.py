"""Password hashing (argon2id) and a verification cache.

An argon2 verification costs tens of milliseconds by design; Basic auth would pay it on every
request. Successful verifications are remembered, keyed by a SHA-256 of (hash, password) — the
password itself is never kept — for ``ttl`` seconds, so only the first request pays.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from baobab.config.settings import Argon2Settings

__all__ = ["MIN_PASSWORD_LENGTH", "PasswordVerifier", "hash_password", "settings_hasher"]

_hasher = PasswordHasher()

# the one password rule: what ``@users`` accepts for a site user, and the CLI for root and
# configured users
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def settings_hasher(argon: Argon2Settings) -> PasswordHasher:
    """The hasher for new hashes at the configured cost (``auth.argon2``)."""
    return PasswordHasher(
        time_cost=argon.time_cost, memory_cost=argon.memory_cost, parallelism=argon.parallelism
    )


class PasswordVerifier:
    """Verifies with ``hasher`` (the parameters come from each hash; the hasher is the
    implementation, the application's own so that every check goes through one place)."""

    def __init__(
        self, hasher: PasswordHasher | None = None, ttl: float = 300.0, size: int = 4096
    ) -> None:
        self.hasher = hasher or _hasher
        self.ttl = ttl
        self.size = size
        self._ok: OrderedDict[bytes, float] = OrderedDict()

    def _key(self, hashed: str, password: str) -> bytes:
        return hashlib.sha256(f"{hashed}\x00{password}".encode()).digest()

    def cached(self, hashed: str, password: str) -> bool:
        """True when this pair verified recently (cheap; safe on the event loop)."""
        key = self._key(hashed, password)
        stamp = self._ok.get(key)
        if stamp is None or time.monotonic() - stamp > self.ttl:
            return False
        self._ok.move_to_end(key)
        return True

    def verify(self, hashed: str, password: str) -> bool:
        """Full argon2 verification (slow: run it off the event loop)."""
        try:
            self.hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        self._ok[self._key(hashed, password)] = time.monotonic()
        while len(self._ok) > self.size:
            self._ok.popitem(last=False)
        return True
