"""Permission checks and preconditions shared by services."""

from __future__ import annotations

from typing import Any

import orjson

from baobab.errors import Forbidden, PreconditionFailed, Unauthorized
from baobab.request import Request
from baobab.serialization.content import serialize
from baobab.serialization.etags import etag_for, etag_matches

__all__ = ["check_if_match", "current_etag", "require"]


def require(request: Request, permission: str, context: Any) -> None:
    """Raise 401 (anonymous) or 403 (authenticated) unless the policy allows."""
    decision = request.policy.permits(request.principal, permission, context)
    if decision:
        return
    if not request.principal.authenticated:
        raise Unauthorized("Authentication required", details={"permission": permission})
    raise Forbidden(
        f"{request.principal.id} may not do this here", details={"permission": permission}
    )


def current_etag(request: Request, obj: Any) -> tuple[str, dict[str, Any]]:
    data = serialize(obj, request)
    return etag_for(orjson.dumps(data)), data


def check_if_match(request: Request, obj: Any) -> None:
    """``If-Match`` naming a stale version → 412 with the current copy and its ETag."""
    header = request.headers.get("if-match")
    if header is None:
        return
    etag, data = current_etag(request, obj)
    if not etag_matches(header, etag):
        raise PreconditionFailed(
            "The resource was modified meanwhile; the current copy is in details.existing",
            details={"existing": data},
            etag=etag,
        )
