"""JWT tokens: a cached verification never outlives the token's expiry."""

from __future__ import annotations

import time

import pytest

from baobab.errors import Unauthorized
from baobab.security.tokens import TokenService

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"


def test_cached_token_still_expires() -> None:
    service = TokenService(SECRET, "HS256", expiry=1)
    token, exp = service.issue("alice")
    assert service.decode(token)["sub"] == "alice"
    assert service.decode(token)["sub"] == "alice"  # served from the cache
    time.sleep(max(0.0, exp - time.time()) + 1.1)  # PyJWT has no leeway here
    with pytest.raises(Unauthorized, match="expired"):
        service.decode(token)


def test_tampered_token_is_refused_even_after_a_good_one() -> None:
    service = TokenService(SECRET, "HS256", expiry=60)
    token, _ = service.issue("alice")
    service.decode(token)
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[:-2]}AA"
    with pytest.raises(Unauthorized, match="invalid"):
        service.decode(forged)
    other = TokenService("another-secret-that-is-long-enough-for-hs256", "HS256", 60)
    with pytest.raises(Unauthorized):
        other.decode(token)


def test_claims_are_copies() -> None:
    service = TokenService(SECRET, "HS256", expiry=60)
    token, _ = service.issue("alice")
    service.decode(token)["sub"] = "mallory"
    assert service.decode(token)["sub"] == "alice"
    assert time.time() < service.decode(token)["exp"]
