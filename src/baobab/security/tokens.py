"""JSON Web Tokens: issue, decode, and revoke (``@logout``).

Tokens are standard RFC 7519 JWTs signed with the configured secret; ``exp`` bounds their
life. A revoked token's id (``jti``) is kept until its expiry in an ``OOBTree`` at the root of
the first configured database, so every process sharing that database refuses it.
"""

from __future__ import annotations

import time
import uuid
from itertools import islice
from typing import Any

import jwt
from BTrees.OOBTree import OOBTree

from baobab.errors import Unauthorized

__all__ = ["REVOKED_KEY", "TICKET_USE", "TokenService", "is_revoked", "revoke"]

REVOKED_KEY = "baobab.revoked_tokens"
TICKET_USE = "ws"
_PRUNE_BATCH = 200
_VERIFIED_CACHE_SIZE = 4096


class TokenService:
    def __init__(self, secret: str, algorithm: str, expiry: int) -> None:
        self.secret = secret
        self.algorithm = algorithm
        self.expiry = expiry
        # token → claims of tokens whose signature and claims already checked out. PyJWT
        # costs ~100 µs a decode (more than the rest of a GET); a client sends the same token
        # many times. Time-based claims are re-checked on every hit (below).
        self._verified: dict[str, dict[str, Any]] = {}

    def issue(self, principal_id: str, container: str | None = None) -> tuple[str, int]:
        """A token for ``principal_id``; ``container`` (a path) for a user stored there.

        ``iat`` keeps sub-second precision so a password change invalidates every token
        issued before it, even within the same second.
        """
        now = time.time()
        exp = int(now) + self.expiry
        claims: dict[str, Any] = {
            "sub": principal_id,
            "iat": round(now, 6),
            "exp": exp,
            "jti": uuid.uuid4().hex,
        }
        if container is not None:
            claims["ctr"] = container
        return jwt.encode(claims, self.secret, algorithm=self.algorithm), exp

    def issue_ticket(
        self,
        principal_id: str,
        container: str | None,
        expiry: int,
        session: str | None,
        session_expiry: int | None,
    ) -> tuple[str, int]:
        """A WebSocket ticket (``@wstoken``): valid ``expiry`` seconds, once (the socket that
        uses it revokes its ``jti``), never as a Bearer token (claim ``use``). ``session``
        is the ``jti`` of the token it was asked with, so logging that token out also
        closes the socket, which lives at most until ``session_expiry``."""
        now = time.time()
        exp = int(now) + expiry
        claims: dict[str, Any] = {
            "sub": principal_id,
            "iat": round(now, 6),
            "exp": exp,
            "jti": uuid.uuid4().hex,
            "use": TICKET_USE,
        }
        if container is not None:
            claims["ctr"] = container
        if session is not None:
            claims["sid"] = session
        if session_expiry is not None:
            claims["sx"] = session_expiry
        return jwt.encode(claims, self.secret, algorithm=self.algorithm), exp

    def decode(self, token: str) -> dict[str, Any]:
        claims = self._verified.get(token)
        if claims is not None:
            if _in_window(claims, time.time()):
                return dict(claims)
            self._verified.pop(token, None)  # PyJWT gives the exact error below
        claims = self._decode(token)
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)), None)  # the oldest entry
        self._verified[token] = claims
        return dict(claims)

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.secret,
                algorithms=[self.algorithm],
                options={"require": ["sub", "exp", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("The token is invalid") from None
        if not isinstance(claims.get("sub"), str) or not isinstance(claims.get("jti"), str):
            raise Unauthorized("The token is invalid")
        return claims


def _in_window(claims: dict[str, Any], now: float) -> bool:
    """PyJWT's time checks (``exp``, ``iat``, ``nbf``; no leeway), as a yes or no."""
    return (
        int(claims["exp"]) > now
        and float(claims.get("iat", 0)) <= now
        and int(claims.get("nbf", 0)) <= now
    )


def _tree(conn: Any, create: bool) -> Any:
    root = conn.root()
    tree = root.get(REVOKED_KEY)
    if tree is None and create:
        tree = root[REVOKED_KEY] = OOBTree()
    return tree


def is_revoked(conn: Any, token_id: str) -> bool:
    tree = _tree(conn, create=False)
    return tree is not None and token_id in tree


def revoke(conn: Any, token_id: str, expiry: int) -> None:
    """Revoke a token until it expires; prune a batch of already-expired entries."""
    tree = _tree(conn, create=True)
    now = int(time.time())
    # jti are random, so a bounded look at the first entries is a fair sample to prune.
    expired = [k for k, exp in islice(tree.items(), _PRUNE_BATCH) if exp < now]
    for key in expired:
        del tree[key]
    tree[token_id] = expiry
