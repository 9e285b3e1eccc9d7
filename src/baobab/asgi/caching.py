"""Who may keep a copy of an answer: ``Cache-Control`` and ``Vary`` on every HTTP answer the
pipeline gives (content, listings, downloads, errors), decided here only.

What an answer holds depends on who asked (what they may View, their roles, their tokens), so
every answer varies on the credentials (``Vary: Authorization, Cookie``, merged with the
``Vary`` already set: ``Origin`` from CORS, ``Accept`` where a URL negotiates) and is
revalidated before every reuse (``no-cache``: the ETag or Last-Modified makes that a 304):

- an answer to an unsafe method (POST, PUT, PATCH, DELETE) is ``no-store``: it may carry
  credentials (``@login``, ``@login-renew``) and is never worth storing;
- a successful read (GET or HEAD: 200, 206, 304) by a request with no credentials is
  ``public, no-cache``: every anonymous request gets the same answer, and a shared cache
  must ask the server again (which checks the permission again) before each reuse;
- everything else — a read with credentials, any error — is ``private, no-cache``: only the
  requester's own browser may keep it.

A ``Cache-Control`` a service sets itself (``no-store`` on ``@wstoken`` tickets and TUS
offsets) is kept: services may only be stricter, the rule above is the floor.
"""

from __future__ import annotations

from baobab.request import Response
from baobab.types import Scope

__all__ = ["CREDENTIAL_HEADERS", "cache_headers"]

CREDENTIAL_HEADERS = ("Authorization", "Cookie")
NO_STORE = b"no-store"
PUBLIC = b"public, no-cache"
PRIVATE = b"private, no-cache"
_READS = frozenset({"GET", "HEAD"})
_SHAREABLE = frozenset({200, 206, 304})


def _anonymous(scope: Scope) -> bool:
    return not any(name in (b"authorization", b"cookie") for name, _ in scope["headers"])


def _policy(scope: Scope, status: int) -> bytes:
    method = scope["method"]
    if method not in _READS and method != "OPTIONS":
        return NO_STORE
    if method in _READS and status in _SHAREABLE and _anonymous(scope):
        return PUBLIC
    return PRIVATE


def _vary(headers: list[tuple[bytes, bytes]]) -> bytes:
    """One ``Vary``: the names already there (case-insensitively once each), then the
    credentials."""
    names: dict[str, str] = {}
    for name, value in headers:
        if name.lower() == b"vary":
            for item in value.decode("latin-1").split(","):
                if item.strip():
                    names.setdefault(item.strip().lower(), item.strip())
    if "*" in names:
        return b"*"
    for item in CREDENTIAL_HEADERS:
        names.setdefault(item.lower(), item)
    return ", ".join(names.values()).encode("latin-1")


def cache_headers(scope: Scope, response: Response) -> None:
    """Set ``Cache-Control`` (unless the service set one) and merge ``Vary``."""
    headers = response.headers
    vary = _vary(headers)
    kept = [(k, v) for k, v in headers if k.lower() != b"vary"]
    if not any(k.lower() == b"cache-control" for k, _ in kept):
        kept.append((b"cache-control", _policy(scope, response.status)))
    kept.append((b"vary", vary))
    headers[:] = kept
