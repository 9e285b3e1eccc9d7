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

__all__ = ["REVOKED_KEY", "TokenService", "is_revoked", "revoke"]

REVOKED_KEY = "baobab.revoked_tokens"
_PRUNE_BATCH = 200


class TokenService:
    def __init__(self, secret: str, algorithm: str, expiry: int) -> None:
        self.secret = secret
        self.algorithm = algorithm
        self.expiry = expiry

    def issue(self, principal_id: str) -> tuple[str, int]:
        now = int(time.time())
        exp = now + self.expiry
        claims = {"sub": principal_id, "iat": now, "exp": exp, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self.secret, algorithm=self.algorithm), exp

    def decode(self, token: str) -> dict[str, Any]:
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
