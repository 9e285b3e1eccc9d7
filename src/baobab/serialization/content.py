"""Content → JSON in plone.restapi's shape, with behaviour fields flat."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any
from urllib.parse import urlencode

import orjson

from baobab.content.files import NamedFile
from baobab.content.interfaces import IApplication, IDatabaseRoot
from baobab.content.resources import Folder, Resource
from baobab.content.typeinfo import type_fields
from baobab.location import resource_path, split_path
from baobab.request import Request, Response
from baobab.security.vocabulary import VIEW
from baobab.serialization.etags import etag_for

__all__ = [
    "batch_window",
    "batched",
    "batching",
    "file_json",
    "parent_summary",
    "representation",
    "serialize",
    "summary",
]


def summary(obj: Any, request: Request, url: str | None = None) -> dict[str, Any]:
    """The short form used in listings and for ``parent`` (``url``: its ``@id`` if known)."""
    url = url or request.url_for(resource_path(obj))
    if IDatabaseRoot.providedBy(obj):
        return {
            "@id": url,
            "@type": "Database",
            "id": obj.__name__,
            "is_folderish": True,
        }
    return {
        "@id": url,
        "@type": obj.type_name,
        "id": obj.__name__,
        "UID": obj.uid,
        "title": getattr(obj, "title", ""),
        "description": getattr(obj, "description", ""),
        "review_state": obj.review_state,
        "is_folderish": obj.folderish,
    }


def parent_summary(parent: Any, request: Request, url: str) -> dict[str, Any]:
    """``parent``: its summary if the principal may View it, else only its ``@id`` — which the
    object's own ``@id`` already spells out — and nothing of its type, title, description,
    state or UID. A database root's summary (its configured name and ``"Database"``) holds no
    content, so every principal gets it."""
    if IDatabaseRoot.providedBy(parent) or request.security.permits(VIEW.id, parent):
        return summary(parent, request, url)
    return {"@id": url}


def file_json(value: NamedFile, download: str) -> dict[str, Any]:
    """A file field's value as plone.restapi shows it (images add width and height)."""
    out: dict[str, Any] = {
        "download": download,
        "filename": value.filename,
        "content-type": value.content_type,
        "size": value.size,
    }
    if value.width is not None:
        out["width"], out["height"] = value.width, value.height
    return out


def batch_window(request: Request) -> tuple[int, int]:
    """``(b_start, b_size)`` from the query, within the configured limits."""
    limits = request.settings.request
    size = request.query_int("b_size", limits.default_batch_size, 1, limits.max_batch_size)
    return request.query_int("b_start", 0), size


def batching(
    url: str,
    start: int,
    size: int,
    total: int,
    query: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
) -> dict[str, str] | None:
    """plone.restapi's ``batching`` links (``@id``, first, last, next, prev) for a page of
    ``size`` from ``start`` in ``total``; None when everything fits on the first page.
    ``query`` parameters (a mapping, or pairs: a name may repeat) other than the batch's are
    kept in the links."""
    if total <= size and not start:
        return None
    pairs = query.items() if isinstance(query, Mapping) else (query or ())
    kept = [(k, v) for k, v in pairs if k not in ("b_start", "b_size")]

    def link(b_start: int) -> str:
        return f"{url}?{urlencode([*kept, ('b_start', b_start), ('b_size', size)])}"

    links = {"@id": link(start), "first": link(0), "last": link(max(0, (total - 1) // size * size))}
    if start + size < total:
        links["next"] = link(start + size)
    if start > 0:
        links["prev"] = link(max(0, start - size))
    return links


def _page(folder: Folder, request: Request, start: int, size: int) -> tuple[int, list[Any]]:
    """(number of visible children, the visible children from ``start``), in the folder's
    order: those whose allowed tokens meet the principal's, found through the folder's token
    index (by position key, so its union is in order and a page is a slice of it)."""
    if request.security.is_manager():  # holds View everywhere: skip the index
        return len(folder), folder.ordered_items(start, size)
    total, names = folder.visible_page(request.principal.tokens, start, size)
    return total, [(name, folder[name]) for name in names]


def _batch(folder: Folder, request: Request, url: str) -> dict[str, Any]:
    """One page of children; their ``@id`` is built from the folder's, not walked again."""
    start, size = batch_window(request)
    total, page = _page(folder, request, start, size)
    out: dict[str, Any] = {
        "items": [summary(child, request, f"{url}/{name}") for name, child in page],
        "items_total": total,
    }
    links = batching(url, start, size, total)
    if links is not None:
        out["batching"] = links
    return out


def serialize(obj: Any, request: Request, url: str | None = None) -> dict[str, Any]:
    """The full representation of ``obj`` (what GET returns); ``url``: its ``@id`` if known."""
    if IApplication.providedBy(obj):
        return {
            "@id": request.url_for("/"),
            "@type": "Application",
            "databases": [request.url_for(f"/{name}") for name in obj.database_names],
        }
    if IDatabaseRoot.providedBy(obj):
        url = request.url_for(resource_path(obj))
        return {**summary(obj, request, url), **_batch(obj, request, url)}
    assert isinstance(obj, Resource)
    parent = obj.__parent__  # every Resource below a DatabaseRoot has one
    if url is None:
        parent_url = request.url_for(resource_path(parent))
        url = f"{parent_url}/{obj.__name__}"
    else:
        parent_url = url.rsplit("/", 1)[0]
    data: dict[str, Any] = {
        "@id": url,
        "@type": obj.type_name,
        "id": obj.__name__,
        "UID": obj.uid,
        "parent": parent_summary(parent, request, parent_url),
        "review_state": obj.review_state,
        "is_folderish": obj.folderish,
    }
    checker = request.security
    for name, field in type_fields(request.registry, obj.type_name).items():
        if field.read_permission is None or checker.permits(field.read_permission, obj):
            value = getattr(obj, name, field.default)
            if isinstance(value, NamedFile):
                value = file_json(value, f"{url}/@download/{name}")
            data[name] = value
    if isinstance(obj, Folder):
        data.update(_batch(obj, request, url))
    return data


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


def representation(request: Request, obj: Any, status: int = 200) -> Response:
    """``obj`` as JSON with its ETag (the pipeline answers ``If-None-Match`` with 304)."""
    url = None
    if obj is request.context and not request.view_name:
        # the request's own path is the object's: no walk up the tree to rebuild it
        url = request.url_for("/" + "/".join(split_path(request.path)))
    body = orjson.dumps(serialize(obj, request, url))
    return Response(status=status, body=body, headers=[(b"etag", etag_for(body).encode())])
