"""The failed-password throttle: per login name and per client address (``auth.throttle``).

Every password check (``@login``, Basic credentials) asks first whether its login name or its
client address is locked; while either is, the password is not checked at all and the answer
is a 429 with ``Retry-After``. A wrong password counts one failure against both; reaching a
limit within the window locks that login name (or address) for ``lockout`` seconds. Login
names are counted whether an account has them or not, so a lockout says nothing about
existence. A right password clears nothing (django-axes' default, not Plone LoginLockout's):
with Basic auth every request of the real user is a successful login, and each would hand an
attacker a fresh allowance; failures age out with their window instead.

The counts live in this process (:class:`MemoryStore`), or in Redis when ``pubsub.redis`` is
set (:class:`RedisStore`), so that every worker and host counts together. Redis is reached
synchronously: the callers run the throttle with the argon2 check, on a worker thread. If
Redis cannot be reached, the throttle lets the check through (and logs it): an outage of
the bus must not lock every user out.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from baobab.config.settings import Settings, ThrottleSettings

__all__ = ["MemoryStore", "RedisStore", "Store", "Throttle", "client_address"]

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(
    peer: Sequence[Any] | None,
    forwarded: str | None,
    trusted: Sequence[Network],
    *,
    any_peer: bool = False,
) -> str:
    """The client's address: the connection's peer (ASGI ``scope["client"]``), unless the
    peer is a trusted proxy (or ``any_peer``) and sent ``X-Forwarded-For``: then the
    right-most address in it that is not a trusted proxy (with ``any_peer``, the right-most:
    the one the proxy appended). "" when the server does not know the peer (a Unix socket)."""
    host = str(peer[0]) if peer else ""
    if not forwarded or not (any_peer or (trusted and _trusted(host, trusted))):
        return host
    for hop in reversed([part.strip() for part in forwarded.split(",")]):
        if not hop:
            continue
        if any_peer or not _trusted(hop, trusted):
            return hop
        host = hop
    return host


def _trusted(host: str, trusted: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in trusted)


class Store(Protocol):
    """Failure counts and locks by key (a hashed login name, or an address)."""

    def locked(self, keys: Sequence[str]) -> float:
        """Seconds left of the longest lock on any of ``keys`` (0: none is locked)."""

    def fail(self, key: str, limit: int, window: int, lockout: int) -> None:
        """One failure for ``key``; the ``limit``-th within ``window`` locks it."""


class MemoryStore:
    """Counts in this process (thread-safe). At most ``size`` keys of each kind are kept: past
    that, expired entries go first, then the oldest."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}  # key → (failures, window end)
        self._locks: dict[str, float] = {}  # key → locked until

    def locked(self, keys: Sequence[str]) -> float:
        now = time.monotonic()
        with self._lock:
            return max((self._locks.get(key, now) - now for key in keys), default=0.0)

    def fail(self, key: str, limit: int, window: int, lockout: int) -> None:
        now = time.monotonic()
        with self._lock:
            count, end = self._counts.pop(key, (0, 0.0))
            if end <= now:
                count, end = 0, now + window
            count += 1
            if count >= limit:
                self._locks.pop(key, None)
                self._locks[key] = now + lockout
                self._trim(self._locks, now, lambda until: until)
            else:
                self._counts[key] = (count, end)
                self._trim(self._counts, now, lambda entry: entry[1])

    def _trim(self, table: dict[str, Any], now: float, end: Any) -> None:
        if len(table) <= self.size:
            return
        for key in [k for k, v in table.items() if end(v) <= now]:
            del table[key]
        while len(table) > self.size:
            del table[next(iter(table))]


class RedisStore:
    """Counts in Redis, shared by every process using the same Redis and prefix: a counter
    per key that expires with its window (``INCR``, ``EXPIRE … NX``) and a lock key that
    expires with the lockout."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.prefix = f"{prefix}:throttle"
        self._redis: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)

    def locked(self, keys: Sequence[str]) -> float:
        try:
            pipe = self._redis.pipeline(transaction=False)
            for key in keys:
                pipe.pttl(f"{self.prefix}:lock:{key}")
            left = pipe.execute()
        except self._errors as exc:
            logger.warning("throttle: Redis unavailable (%s); not throttling", exc)
            return 0.0
        return max((ms / 1000 for ms in left if ms > 0), default=0.0)

    def fail(self, key: str, limit: int, window: int, lockout: int) -> None:
        count_key = f"{self.prefix}:count:{key}"
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.incr(count_key)
            pipe.expire(count_key, window, nx=True)
            count = pipe.execute()[0]
            if count >= limit:
                pipe = self._redis.pipeline(transaction=True)
                pipe.set(f"{self.prefix}:lock:{key}", 1, ex=lockout)
                pipe.delete(count_key)
                pipe.execute()
        except self._errors as exc:
            logger.warning("throttle: Redis unavailable (%s); failure not counted", exc)

    def close(self) -> None:
        self._redis.close()


def _login_key(login: str) -> str:
    """Login names are hashed: no store keeps them, and any length costs the same."""
    return "login:" + hashlib.sha256(login.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class Throttle:
    def __init__(
        self,
        settings: ThrottleSettings,
        store: Store,
        *,
        proxies: Sequence[str] = (),
    ) -> None:
        self.settings = settings
        self.store = store
        self.shared = isinstance(store, RedisStore)  # remote: reach it from a worker thread
        # the reverse proxies whose X-Forwarded-For is believed (server.forwarded_allow_ips)
        self.any_proxy = "*" in proxies
        self.trusted = [ipaddress.ip_network(p, strict=False) for p in proxies if p != "*"]

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        redis_url = settings.pubsub.redis
        proxies = settings.server.forwarded_allow_ips
        store: Store = RedisStore(redis_url, settings.pubsub.prefix) if redis_url else MemoryStore()
        return cls(settings.auth.throttle, store, proxies=proxies)

    def client(self, peer: Sequence[Any] | None, forwarded: str | None) -> str:
        """The address a request counts against (see :func:`client_address`)."""
        return client_address(peer, forwarded, self.trusted, any_peer=self.any_proxy)

    def _keys(self, login: str, address: str) -> list[tuple[str, int]]:
        keys = []
        if self.settings.login_failures:
            keys.append((_login_key(login), self.settings.login_failures))
        if self.settings.address_failures and address:
            keys.append(("address:" + address, self.settings.address_failures))
        return keys

    def retry_after(self, login: str, address: str) -> int | None:
        """Whole seconds until neither ``login`` nor ``address`` is locked; None if neither
        is."""
        keys = [key for key, _ in self._keys(login, address)]
        left = self.store.locked(keys) if keys else 0.0
        return max(1, math.ceil(left)) if left > 0 else None

    def failed(self, login: str, address: str) -> None:
        for key, limit in self._keys(login, address):
            self.store.fail(key, limit, self.settings.window, self.settings.lockout)

    def close(self) -> None:
        if isinstance(self.store, RedisStore):  # narrowed for the type checker
            self.store.close()
