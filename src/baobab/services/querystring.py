"""``@querystring`` and ``@querystring-search``: plone.restapi's query builder endpoints.

``GET @querystring`` describes what a query builder (Volto's listing block, a collection)
may ask: each index with its operations and, for ``portal_type`` and ``review_state``, the
values it can take (the registry's types, the states of the workflows types follow).
``POST @querystring-search`` (or ``GET`` with the same JSON in ``?query=``) runs criteria
``[{"i", "o", "v"}]`` (:mod:`baobab.catalog.querystring`) and answers as ``@search`` does,
only with what the caller may View. Called on an object other than the container, the object
itself is left out of its results, as plone.restapi does (a listing block on a page does not
list the page).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlencode

import orjson

from baobab.catalog.params import sortable_indexes
from baobab.catalog.query import Search
from baobab.catalog.querystring import parse_criteria, query_fields
from baobab.catalog.store import catalog_of
from baobab.config.declarations import service
from baobab.content.interfaces import IResource
from baobab.errors import InvalidQuery
from baobab.inputs import boolean, decimal
from baobab.request import Request, Response, json_response
from baobab.security.vocabulary import VIEW
from baobab.services import shapes
from baobab.services.search import Shown, check_fields, run_search, search_container

__all__ = ["querystring", "querystring_search", "querystring_search_get"]

_KEYS = frozenset(
    {"query", "sort_on", "sort_order", "b_start", "b_size", "limit", "metadata_fields",
     "fullobjects"}
)  # fmt: skip
# Volto's listing block sends its widget's whole value; this one repeats sort_order
_IGNORED = frozenset({"sort_order_boolean"})
_REVERSE = {"ascending": False, "descending": True, "reverse": True}

_OPERATION = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "description": {"type": ["string", "null"]},
        "operation": {"type": "string"},
        "widget": {"type": ["string", "null"]},
    },
}
_FIELD = {
    "type": "object",
    "required": ["title", "enabled", "sortable", "operations", "operators", "values"],
    "properties": {
        "title": {"type": "string"},
        "description": {"type": "string"},
        "group": {"type": "string"},
        "enabled": {"type": "boolean"},
        "sortable": {"type": "boolean"},
        "operations": {"type": "array", "items": {"type": "string"}},
        "operators": {"type": "object", "additionalProperties": _OPERATION},
        "vocabulary": {"type": ["string", "null"]},
        "fetch_vocabulary": {"type": "boolean"},
        "values": {
            "type": "object",
            "additionalProperties": {"type": "object", "properties": {"title": {"type": "string"}}},
        },
    },
}
QUERYSTRING = {
    "type": "object",
    "required": ["@id", "indexes", "sortable_indexes"],
    "properties": {
        "@id": {"type": "string"},
        "indexes": {"type": "object", "additionalProperties": _FIELD},
        "sortable_indexes": {"type": "object", "additionalProperties": _FIELD},
    },
}
_CRITERION = {
    "type": "object",
    "required": ["i", "o"],
    "additionalProperties": False,
    "properties": {
        "i": {"type": "string", "description": "an index (GET @querystring lists them)"},
        "o": {"type": "string", "description": "plone.app.querystring.operation.…"},
        "v": {"description": "the operation's value: a string, a list, a number of days…"},
    },
}
QUERYSTRING_SEARCH = {
    "type": "object",
    "required": ["query"],
    "additionalProperties": False,
    "properties": {
        "query": {"type": "array", "items": _CRITERION, "minItems": 1},
        "sort_on": {"type": ["string", "null"]},
        "sort_order": {
            "type": ["string", "null"],
            "enum": ["ascending", "descending", "reverse", None],
        },
        "sort_order_boolean": {"description": "ignored (Volto sends it)"},
        "b_start": {"type": "integer", "minimum": 0},
        "b_size": {"type": "integer", "minimum": 1},
        "limit": {"type": ["integer", "null"], "minimum": 0},
        "metadata_fields": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
        },
        "fullobjects": {"type": "boolean"},
    },
}


def _values(request: Request, name: str) -> dict[str, dict[str, str]]:
    registry = request.registry
    if name == "portal_type":
        return {n: {"title": registry.types[n].title or n} for n in sorted(registry.types)}
    if name == "review_state":
        states: dict[str, dict[str, str]] = {}
        for workflow in request.policy.workflows.by_type.values():
            for state in () if workflow is None else workflow.states.values():
                states.setdefault(state.id, {"title": f"{state.title or state.id} [{state.id}]"})
        return dict(sorted(states.items()))
    return {}


@service(
    method="GET",
    name="@querystring",
    context=IResource,
    permission=VIEW.id,
    summary="What a query builder may ask (plone.restapi's @querystring)",
    description="Each index a criterion may name, with its operations and their definitions "
    "(plone.app.querystring's), the values of vocabulary-backed indexes (portal_type, "
    "review_state), and the sortable ones.",
    responses={200: QUERYSTRING},
)
def querystring(request: Request) -> Response:
    search_container(request)
    sortable = set(sortable_indexes(request.registry))
    indexes: dict[str, Any] = {}
    for name, (field, _family, operations) in query_fields(request.registry).items():
        indexes[name] = {
            "title": field.title,
            "description": field.description,
            "group": field.group,
            "enabled": field.enabled,
            "sortable": name in sortable,
            "operations": [op.id for op in operations],
            "operators": {op.id: op.definition() for op in operations},
            "vocabulary": field.vocabulary,
            "fetch_vocabulary": True,
            "values": _values(request, name),
        }
    return json_response(
        {
            "@id": request.view_url("@querystring"),
            "indexes": indexes,
            "sortable_indexes": {n: e for n, e in indexes.items() if e["sortable"]},
        }
    )


def _int(data: dict[str, Any], name: str, default: int, maximum: int | None = None) -> int:
    raw = data.get(name)
    if raw is None:
        return default
    value = raw if type(raw) is int else decimal(raw) if isinstance(raw, str) else None
    if value is None or value < 0 or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" up to {maximum}"
        raise InvalidQuery(f"{name} must be an integer from 0{upper}, not {raw!r}", name)
    return value


def _bool(raw: Any, name: str) -> bool:
    value = boolean(str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw, False)
    if value is None:
        raise InvalidQuery(f"{name} is true or false, not {raw!r}", name)
    return value


def _controls(request: Request, search: Search, data: dict[str, Any]) -> None:
    sort_on = data.get("sort_on")
    if sort_on is not None:
        sortable = sortable_indexes(request.registry)
        if sort_on not in sortable:
            raise InvalidQuery(
                f"Cannot sort on {sort_on!r}: one of {', '.join(sortable)}", "sort_on"
            )
        search.sort_on = sort_on
    order = data.get("sort_order")
    if order is not None:
        if not isinstance(order, str) or order not in _REVERSE:
            raise InvalidQuery("sort_order is ascending, descending or reverse", "sort_order")
        search.reverse = _REVERSE[order]
    limit = _int(data, "limit", 0)
    if limit:  # 0: no limit, as in Plone
        search.sort_limit = limit


def _shown(request: Request, data: dict[str, Any], link_query: list[tuple[str, str]]) -> Shown:
    limits = request.settings.request
    size = _int(data, "b_size", limits.default_batch_size, limits.max_batch_size)
    if size < 1:
        raise InvalidQuery("b_size must be at least 1", "b_size")
    fields = data.get("metadata_fields", ())
    if isinstance(fields, str):
        fields = [fields]
    if not isinstance(fields, list | tuple) or not all(isinstance(f, str) for f in fields):
        raise InvalidQuery("metadata_fields is a list of column names", "metadata_fields")
    return Shown(
        start=_int(data, "b_start", 0),
        size=size,
        fields=check_fields(request.registry, fields, "metadata_fields"),
        full=_bool(data.get("fullobjects", False), "fullobjects"),
        link_query=link_query,
    )


def _run(
    request: Request, data: Any, url: str, link_query: list[tuple[str, str]]
) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidQuery("The body is a JSON object {query, sort_on, …}", "query")
    unknown = set(data) - _KEYS - _IGNORED
    if unknown:
        key = sorted(unknown)[0]
        raise InvalidQuery(f"Unknown key {key!r}: the body takes {', '.join(sorted(_KEYS))}", key)
    container = search_container(request)
    context = request.context
    search = parse_criteria(
        data.get("query"),
        request.registry,
        catalog=catalog_of(container),
        context=context,
        container=container,
        user_id=request.principal.id if request.principal.authenticated else None,
    )
    if context is not container:
        search.exclude_uids = (*search.exclude_uids, context.uid)
    _controls(request, search, data)
    shown = _shown(request, data, link_query)
    return run_search(request, search, url, shown)


_DESCRIPTION = (
    "plone.app.querystring criteria `[{i, o, v}]` (operations: GET @querystring), `sort_on`, "
    "`sort_order`, `limit`, `b_start`/`b_size`, `metadata_fields`, `fullobjects`; the answer "
    "is @search's. Only what the caller may View; a criterion that cannot run is a 400 naming "
    "it (`query[2].v`)."
)


@service(
    method="POST",
    name="@querystring-search",
    context=IResource,
    permission=VIEW.id,
    summary="Search with query builder criteria (plone.restapi's @querystring-search)",
    description=_DESCRIPTION,
    request=QUERYSTRING_SEARCH,
    responses={200: shapes.SEARCH_RESULTS},
)
def querystring_search(request: Request) -> Response:
    url = request.view_url("@querystring-search")
    return json_response(_run(request, request.json(), url, []))


@service(
    method="GET",
    name="@querystring-search",
    context=IResource,
    permission=VIEW.id,
    summary="Search with query builder criteria, the JSON body in ?query=",
    description=_DESCRIPTION + " `query` is the URL-encoded JSON body of the POST; "
    "`b_start`/`b_size` in the query string override those in it (the batching links use them).",
    params=(
        {"name": "query", "in": "query", "required": True, "schema": {"type": "string"}},
        {"name": "b_start", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "b_size", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    ),
    responses={200: shapes.SEARCH_RESULTS},
)
def querystring_search_get(request: Request) -> Response:
    raw = request.query.get("query")
    if not raw:
        raise InvalidQuery("No query supplied", "query")
    try:
        data = orjson.loads(unquote(raw))
    except orjson.JSONDecodeError:
        raise InvalidQuery(
            'query is URL-encoded JSON: {"query": [{i, o, v}], …}', "query"
        ) from None
    if isinstance(data, dict):
        for name in ("b_start", "b_size"):
            if name in request.query:
                data[name] = request.query[name]
    url = request.view_url("@querystring-search")
    out = _run(request, data, url, [("query", raw)])
    out["@id"] = f"{url}?{urlencode([('query', raw)])}"
    return json_response(out)
