"""``@search``: plone.restapi's catalog search on any folderish object of a container.

The query is the context's subtree unless ``path.query`` says otherwise, and always only
what the caller may View (:mod:`baobab.catalog.query`). Each result is the catalog's
metadata (no object loaded), or with ``fullobjects`` the object as GET shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from baobab.catalog.params import parse_search
from baobab.catalog.query import Search, execute, only_active
from baobab.catalog.queue import container_of
from baobab.catalog.store import catalog_of
from baobab.config.declarations import service
from baobab.config.registry import Registry
from baobab.content.interfaces import IFolderish
from baobab.content.resources import utcnow
from baobab.errors import InvalidQuery, NotFound
from baobab.inputs import boolean
from baobab.location import find, resource_path
from baobab.request import Request, Response, json_response
from baobab.security.vocabulary import ACCESS_INACTIVE, VIEW
from baobab.serialization.content import batch_window, batching, serialize
from baobab.services import shapes
from baobab.telemetry.metrics import instruments

__all__ = ["Shown", "check_fields", "run_search", "search", "search_container"]

# always in a result; ``metadata_fields`` adds columns, ``_all`` every one
SUMMARY = ("@id", "@type", "id", "UID", "title", "description", "review_state", "is_folderish")
_FROM_COLUMN = {"@type": "portal_type"}


@dataclass(frozen=True)
class Shown:
    """What a search answers besides its query: the window, the metadata columns added to
    each summary, whole objects or summaries, and the parameters kept in batching links."""

    start: int
    size: int
    fields: tuple[str, ...] = ()
    full: bool = False
    link_query: Sequence[tuple[str, str]] = ()


def check_fields(registry: Registry, values: Iterable[str], parameter: str) -> tuple[str, ...]:
    """The metadata columns ``values`` name (``_all``: every one); 400 for another name."""
    wanted: list[str] = []
    for value in values:
        if value == "_all":
            wanted.extend(registry.columns)
        elif value in registry.columns:
            wanted.append(value)
        else:
            raise InvalidQuery(
                f"Unknown metadata field {value!r} (the columns: "
                f"{', '.join(sorted(registry.columns))}, or _all)",
                parameter,
            )
    return tuple(dict.fromkeys(wanted))


def _fields(request: Request) -> tuple[str, ...]:
    values = (v for k, v in request.query_items if k.split(":", 1)[0] == "metadata_fields")
    return check_fields(request.registry, values, "metadata_fields")


def _flag(request: Request, name: str) -> bool:
    raw = request.query.get(name)
    value = False if raw is None else boolean(raw, empty=True)
    if value is None:
        raise InvalidQuery(f"{name} is true or false, not {raw!r}", name)
    return value


def search_container(request: Request) -> Any:
    """The container whose catalog a search of the context queries; 404 above containers."""
    container = container_of(request.context)
    if container is None:
        raise NotFound("Search a container or an object in one")
    return container


def _item(request: Request, record: dict[str, Any], path: str, extra: tuple[str, ...]) -> Any:
    item: dict[str, Any] = {"@id": request.url_for(path)}
    for name in SUMMARY[1:]:
        item[name] = record.get(_FROM_COLUMN.get(name, name))
    for name in extra:
        item[name] = record.get(name)
    return item


def run_search(
    request: Request, search: Search, url: str, shown: Shown | None = None
) -> dict[str, Any]:
    """The batch of ``search``'s results as ``@search`` answers it; ``shown`` defaults to
    what the query string asks (``b_start``, ``b_size``, ``metadata_fields``,
    ``fullobjects``)."""
    if shown is None:
        start, size = batch_window(request)
        shown = Shown(
            start, size, _fields(request), _flag(request, "fullobjects"), request.query_items
        )
    start, size, extra, full = shown.start, shown.size, shown.fields, shown.full
    container = search_container(request)
    catalog = catalog_of(container)
    if catalog is None:  # built at start-up and at the container's creation: never, unless lost
        raise NotFound("This container has no catalog: run baobab reindex-catalog")
    if not search.show_inactive and not request.security.permits(ACCESS_INACTIVE.id, container):
        only_active(search, utcnow())
    began = perf_counter()
    results = execute(catalog, search, sorted(request.principal.tokens), start, size)
    instruments().catalog.observe(perf_counter() - began)
    items = []
    for docid in results.docids:
        path = catalog.paths.path_of(docid) or ""
        obj = find(container, path) if full else None
        if obj is not None:
            items.append(serialize(obj, request, request.url_for(path)))
        else:
            items.append(_item(request, catalog.metadata.get(docid, {}), path, extra))
    out: dict[str, Any] = {"@id": url, "items": items, "items_total": results.total}
    links = batching(url, start, size, results.total, shown.link_query)
    if links is not None:
        out["batching"] = links
    return out


@service(
    method="GET",
    name="@search",
    context=IFolderish,
    permission=VIEW.id,
    summary="Search the catalog",
    description="plone.restapi's query language: any index by name (repeat it for several "
    "values), `name.query`/`name.range` (min, max, min:max)/`name.operator` (and, or)/"
    "`name.not`, `path.query`/`path.depth`, `SearchableText`, `sort_on`, `sort_order`, "
    "`sort_limit`, `b_start`/`b_size`, `metadata_fields` (or `_all`), `fullobjects`. Only what "
    "the caller may View; an unknown index, option or malformed value is a 400 naming it.",
    params=(
        {"name": "SearchableText", "in": "query", "schema": {"type": "string"}},
        {"name": "portal_type", "in": "query", "schema": {"type": "string"}},
        {"name": "review_state", "in": "query", "schema": {"type": "string"}},
        {"name": "path.query", "in": "query", "schema": {"type": "string"}},
        {"name": "path.depth", "in": "query", "schema": {"type": "integer", "minimum": -1}},
        {"name": "sort_on", "in": "query", "schema": {"type": "string"}},
        {
            "name": "sort_order",
            "in": "query",
            "schema": {"type": "string", "enum": ["ascending", "descending", "reverse"]},
        },
        {"name": "sort_limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "b_start", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "b_size", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "metadata_fields", "in": "query", "schema": {"type": "string"}},
        {"name": "fullobjects", "in": "query", "schema": {"type": "string"}},
    ),
    responses={200: shapes.SEARCH_RESULTS},
)
def search(request: Request) -> Response:
    container = search_container(request)
    path = resource_path(request.context)
    query = parse_search(request.query_items, request.registry, path, resource_path(container))
    return json_response(run_search(request, query, request.view_url("@search")))
