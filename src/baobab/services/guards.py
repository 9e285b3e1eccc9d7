"""Permission checks and preconditions shared by services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from baobab.content.typeinfo import type_fields
from baobab.errors import Forbidden, NotFound, PreconditionFailed, Unauthorized
from baobab.request import Request
from baobab.security.vocabulary import ACCESS_CONTENT
from baobab.security.vocabulary import PUBLIC as PUBLIC_PERMISSION
from baobab.serialization.content import serialize
from baobab.serialization.etags import etag_for, etag_matches
from baobab.traversal import split_path

__all__ = ["check_field_writes", "check_if_match", "current_etag", "require"]


ACCESS = ACCESS_CONTENT.id
PUBLIC = PUBLIC_PERMISSION.id


def require(request: Request, permission: str, context: Any) -> None:
    """Raise unless the policy allows ``permission`` on ``context``.

    Anonymous gets 401 (authenticating may help). An authenticated principal that may not
    *Access contents information* on the object gets the 404 a missing object gets — checked
    first, so no permission held elsewhere (sharing, say) reaches an object its holder cannot
    see. Otherwise 403 naming the permission.
    """
    checker = request.security
    hidden = (
        permission != PUBLIC
        and getattr(context, "__parent__", None) is not None
        and not checker.sees(context)  # who may View it may know it exists
        and not checker.permits(ACCESS, context)
    )
    if not hidden and checker.permits(permission, context):
        return
    if not request.principal.authenticated:
        raise Unauthorized("Authentication required", details={"permission": permission})
    if hidden:
        # Word for word what traversal says about a missing object.
        segments = split_path(request.path)[1:]
        raise NotFound(f"Not found: {context.__name__!r}", details={"path": "/".join(segments)})
    raise Forbidden(
        f"{request.principal.id} may not do this here", details={"permission": permission}
    )


def check_field_writes(
    request: Request, data: Mapping[str, Any], type_name: str, context: Any
) -> None:
    """403 naming the fields in ``data`` whose write permission the principal lacks."""
    fields = type_fields(request.registry, type_name)
    refused = [
        name
        for name in data
        if (field := fields.get(name)) is not None
        and field.write_permission is not None
        and not request.security.permits(field.write_permission, context)
    ]
    if refused:
        raise Forbidden(
            f"{request.principal.id} may not change " + ", ".join(refused),
            details={"fields": refused},
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
