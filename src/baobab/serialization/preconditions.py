"""``If-Match``: an object's current ETag, and the 412 for a stale one."""

from __future__ import annotations

from typing import Any

import orjson

from baobab.errors import PreconditionFailed
from baobab.request import Request
from baobab.serialization.content import serialize
from baobab.serialization.etags import etag_for, etag_matches

__all__ = ["check_if_match", "current_etag"]


def current_etag(request: Request, obj: Any) -> tuple[str, dict[str, Any]]:
    """``obj``'s ETag as this request sees it (its representation's), and that
    representation."""
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
