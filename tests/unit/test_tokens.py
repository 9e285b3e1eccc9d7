"""JWT tokens: a cached verification never outlives the token's expiry."""

from __future__ import annotations

import base64
import time
from datetime import datetime, tzinfo

import jwt.api_jwt
import pytest

from baobab.errors import Unauthorized
from baobab.security import tokens
from baobab.security.tokens import TokenService

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"


class Clock:
    """The one "now" of the token service and of PyJWT's time checks, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freeze both clocks at the current time: ``tokens.time.time()`` (issue, cache window)
    and PyJWT's ``datetime.now`` (``exp``/``iat`` validation), so expiry needs no sleep."""
    clock = Clock(time.time())

    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> FrozenDatetime:
            return cls.fromtimestamp(clock.now, tz)

    monkeypatch.setattr(tokens, "time", clock)
    monkeypatch.setattr(jwt.api_jwt, "datetime", FrozenDatetime)
    return clock


def test_cached_token_still_expires(clock: Clock) -> None:
    service = TokenService(SECRET, "HS256", expiry=60)
    token, exp = service.issue("alice")
    assert service.decode(token)["sub"] == "alice"
    assert service.decode(token)["sub"] == "alice"  # served from the cache
    clock.now = exp - 0.5
    assert service.decode(token)["sub"] == "alice"  # the last moment it is valid
    clock.now = exp  # PyJWT has no leeway here: expired at ``exp``
    with pytest.raises(Unauthorized, match="expired"):
        service.decode(token)


def test_the_clock_fixture_moves_pyjwt_too(clock: Clock) -> None:
    """PyJWT follows the frozen clock: a token issued an hour from now (``iat`` in the real
    future, which PyJWT refuses as invalid) decodes while the clock stands there."""
    clock.now += 3600
    service = TokenService(SECRET, "HS256", expiry=60)
    token, _ = service.issue("alice")
    assert service.decode(token)["sub"] == "alice"


def _flipped(signature: str) -> str:
    """``signature`` (base64url, unpadded) with every bit of its first byte flipped: valid
    base64url whose decoded bytes always differ (changing a character may not change them)."""
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    forged = bytes([raw[0] ^ 0xFF]) + raw[1:]
    return base64.urlsafe_b64encode(forged).rstrip(b"=").decode()


def test_tampered_token_is_refused_even_after_a_good_one() -> None:
    service = TokenService(SECRET, "HS256", expiry=60)
    token, _ = service.issue("alice")
    service.decode(token)
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{_flipped(signature)}"
    assert forged != token
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
