"""Helpers the principal services share: the site's user folder, ``@view/{id}`` subpaths,
batching a sorted id sequence, strict bodies."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from baobab.errors import NotFound, ValidationError
from baobab.events import PrincipalsChanged
from baobab.location import resource_path
from baobab.request import Request
from baobab.security.users import UserFolder, user_folder
from baobab.serialization.content import batch_window, batching

__all__ = [
    "batched",
    "check_keys",
    "one_segment",
    "principals_changed",
    "site_folder",
    "string_field",
    "string_list",
    "view_url",
]


def site_folder(request: Request, create: bool = False) -> UserFolder:
    """The container's user folder; an empty, unsaved one if none is stored and not
    ``create``."""
    return user_folder(request.context, create=create) or UserFolder()


def one_segment(request: Request) -> str:
    """The id in ``…/@view/{id}``; 404 for no or more segments."""
    if len(request.subpath) != 1:
        raise NotFound("Not found")
    return request.subpath[0]


def view_url(request: Request, view: str, item: str = "") -> str:
    """``…/{view}`` (or ``…/{view}/{item}``) on the request's context."""
    base = request.url_for(request.path.split(f"/{view}", 1)[0] + f"/{view}")
    return f"{base}/{item}" if item else base


def string_list(data: dict[str, Any], key: str, what: str) -> list[str]:
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"`{key}` must be a list of {what}", details=[{"field": key}])
    return value


def batched(
    request: Request,
    url: str,
    total: int,
    ids: Iterable[str],
    render: Callable[[str], dict[str, Any]],
) -> dict[str, Any]:
    """``{"@id", "items", "items_total", "batching"?}`` for one page of ``ids``."""
    start, size = batch_window(request)
    keys = getattr(ids, "keys", None)
    if callable(keys):  # a BTree set or keys view: slice without reading what is skipped
        page = list(keys()[start : start + size])
    else:
        page = list(islice(ids, start, start + size))
    out: dict[str, Any] = {
        "@id": url,
        "items": [render(item) for item in page],
        "items_total": total,
    }
    links = batching(url, start, size, total, request.query)
    if links is not None:
        out["batching"] = links
    return out


def check_keys(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(
            "Unknown keys: " + ", ".join(unknown),
            details=[{"field": k, "message": "is not accepted here"} for k in unknown],
        )


def string_field(data: dict[str, Any], key: str, max_length: int) -> str:
    value = data[key]
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_length:
        raise ValidationError(
            f"`{key}` must be a string of at most {max_length} characters",
            details=[{"field": key, "message": f"must be a string (≤ {max_length})"}],
        )
    return value


def principals_changed(request: Request, *ids: str) -> None:
    """Tell live sockets of these users or groups (of this container) to re-read who they
    are: roles, groups or their account changed."""
    container = resource_path(request.context)
    request.notify(PrincipalsChanged(actor=request.principal.id, container=container, ids=ids))
