"""The throttle's pieces: the client address behind proxies, and the memory store's counts."""

from __future__ import annotations

import ipaddress

import pytest

from baobab.security.throttle import MemoryStore, RedisStore, client_address
from baobab.testing import delete_redis_keys, require_redis

TRUSTED = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        (("203.0.113.5", 1), None, TRUSTED, "203.0.113.5"),
        (("203.0.113.5", 1), "198.51.100.1", [], "203.0.113.5"),  # no trusted proxy
        (("203.0.113.5", 1), "198.51.100.1", TRUSTED, "203.0.113.5"),  # peer not trusted
        (("10.0.0.2", 1), "198.51.100.1", TRUSTED, "198.51.100.1"),
        # the right-most untrusted hop: what the client put first is not believed
        (("10.0.0.2", 1), "1.1.1.1, 198.51.100.1, 10.0.0.9", TRUSTED, "198.51.100.1"),
        (("::1", 1), "2001:db8::7", TRUSTED, "2001:db8::7"),
        (("10.0.0.2", 1), "10.0.0.3", TRUSTED, "10.0.0.3"),  # proxies all the way
        (("10.0.0.2", 1), "not-an-ip", TRUSTED, "not-an-ip"),
        (None, "198.51.100.1", TRUSTED, ""),  # no peer known (a Unix socket)
    ],
)
def test_client_address(
    peer: tuple[str, int] | None,
    forwarded: str | None,
    trusted: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
    expected: str,
) -> None:
    assert client_address(peer, forwarded, trusted) == expected


def test_any_proxy_believes_only_the_hop_it_appended() -> None:
    # server.forwarded_allow_ips = ["*"]: every peer is a proxy, and what the client wrote
    # first is still not believed
    forwarded = "1.1.1.1, 198.51.100.1"
    assert client_address(("203.0.113.5", 1), forwarded, [], any_peer=True) == "198.51.100.1"
    assert client_address(("203.0.113.5", 1), None, [], any_peer=True) == "203.0.113.5"


def test_memory_store_locks_at_the_limit() -> None:
    store = MemoryStore()
    for _ in range(2):
        store.fail("a", limit=3, window=60, lockout=30)
    assert store.locked(["a"]) == 0
    store.fail("a", limit=3, window=60, lockout=30)
    assert 29 < store.locked(["a", "b"]) <= 30
    assert store.locked(["b"]) == 0


def test_memory_store_keeps_a_bounded_number_of_keys() -> None:
    store = MemoryStore(size=10)
    for index in range(100):
        store.fail(f"k{index}", limit=5, window=60, lockout=30)
        store.fail(f"locked{index}", limit=1, window=60, lockout=30)
    assert len(store._counts) <= 10
    assert len(store._locks) <= 10
    assert store.locked(["locked99"]) > 0  # the newest are kept


def test_redis_store_counts_for_every_process_and_lets_checks_through_when_down() -> None:
    url = require_redis()
    prefix = "baobab-throttle-unit"
    one, two = RedisStore(url, prefix), RedisStore(url, prefix)
    try:
        one.fail("a", limit=2, window=60, lockout=30)
        assert two.locked(["a"]) == 0
        two.fail("a", limit=2, window=60, lockout=30)
        assert 29 < one.locked(["a"]) <= 30
    finally:
        one.close()
        two.close()
        delete_redis_keys(url, prefix)
    down = RedisStore("redis://127.0.0.1:1/0", prefix)  # nothing listens on port 1
    try:
        down.fail("a", limit=1, window=60, lockout=30)  # logged, not raised
        assert down.locked(["a"]) == 0
    finally:
        down.close()
