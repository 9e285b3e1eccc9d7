"""plone.restapi's ``@search`` query parameters, translated into a :class:`Search`.

``GET …/@search?portal_type=Document&portal_type=File&path.depth=1&sort_on=modified`` —
any index by name (repeated for several values; Zope's ``:list`` and ``:record`` markers are
accepted), ``name.query``/``name.range``/``name.operator``/``name.not`` for the options,
``path.query``/``path.depth``, ``UID``, and the controls ``sort_on``, ``sort_order``,
``sort_limit``. Batching and what each result shows (``b_start``, ``b_size``,
``metadata_fields``, ``fullobjects``) are the service's. Everything else is a 400 naming the
parameter: an index nobody declared, an option an index does not have, a value of the wrong
type, a malformed range or date, a full-text query of only common words.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from baobab.catalog.query import Search, Term, convert
from baobab.config.registry import Registry
from baobab.errors import InvalidQuery
from baobab.inputs import boolean, decimal

__all__ = ["CONTROLS", "PRESENTATION", "parse_search", "sortable_indexes"]

# parameters that shape the answer, not the query (read by the service)
PRESENTATION = frozenset({"b_start", "b_size", "metadata_fields", "fullobjects"})
# plone.restapi flags Baobab accepts and has nothing to do for
_IGNORED = frozenset({"use_site_search_settings"})
CONTROLS = frozenset({"sort_on", "sort_order", "sort_limit", "show_inactive"})
_CONVERTERS = (
    ":list", ":tuple", ":record", ":records", ":string", ":text", ":int", ":long",
    ":float", ":boolean", ":date", ":lines", ":ignore_empty",
)  # fmt: skip
_OPTIONS = frozenset({"query", "range", "operator", "not", "depth"})
_REVERSE = {"ascending": False, "descending": True, "reverse": True}


def _strip(name: str) -> str:
    for suffix in _CONVERTERS:
        while name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def sortable_indexes(registry: Registry) -> list[str]:
    """The field and date indexes, and ``path`` (tree order; plone.restapi's documented
    ``@search?sort_on=path``)."""
    names = [n for n, i in registry.indexes.items() if i.kind in ("field", "date")]
    return sorted([*names, "path"])


def _group(items: Iterable[tuple[str, str]]) -> dict[str, dict[str, list[str]]]:
    grouped: dict[str, dict[str, list[str]]] = {}
    for raw_name, value in items:
        name = _strip(raw_name)
        base, _, option = name.partition(".")
        grouped.setdefault(base, {}).setdefault(option or "query", []).append(value)
    return grouped


def _one(values: list[str], parameter: str) -> str:
    if len(values) != 1:
        raise InvalidQuery(f"{parameter} takes one value, not {len(values)}", parameter)
    return values[0]


def _depth(values: list[str]) -> int:
    raw = _one(values, "path.depth")
    number = decimal(raw[1:]) if raw.startswith("-") else decimal(raw)
    depth = None if number is None else (-number if raw.startswith("-") else number)
    if depth is None or depth < -1:
        raise InvalidQuery(
            f"path.depth must be an integer from -1 (no limit) up, not {raw!r}", "path.depth"
        )
    return depth


def _paths(values: list[str], container_path: str) -> tuple[str, ...]:
    paths = []
    for value in values:
        path = "/" + value.strip("/")
        if path != container_path and not path.startswith(container_path + "/"):
            path = container_path.rstrip("/") + ("" if path == "/" else path)
        paths.append(path)
    return tuple(paths)


def _term(registry: Registry, name: str, options: dict[str, list[str]]) -> Term:
    info = registry.indexes[name]
    unknown = set(options) - {"query", "range", "operator", "not"}
    if unknown:
        option = sorted(unknown)[0]
        raise InvalidQuery(f"{name} has no option {option!r}", f"{name}.{option}")
    if info.kind == "text":
        if set(options) != {"query"}:
            raise InvalidQuery(f"{name} is a full-text index: only a query", name)
        return Term(name, "text", (_one(options["query"], name),), parameter=name)
    if "not" in options:
        if set(options) - {"not"}:
            raise InvalidQuery(f"{name}.not cannot be combined with other options", name)
        values = tuple(convert(info, v, f"{name}.not") for v in options["not"])
        return Term(name, "none", values, parameter=f"{name}.not")
    raw_values = options.get("query")
    if not raw_values:
        raise InvalidQuery(f"{name}: a value is required", f"{name}.query")
    if "range" in options:
        return _range(info, name, _one(options["range"], f"{name}.range"), raw_values)
    values = tuple(convert(info, v, name) for v in raw_values)
    operator = _one(options.get("operator", ["or"]), f"{name}.operator")
    if operator not in ("and", "or"):
        raise InvalidQuery(f"{name}.operator is 'and' or 'or', not {operator!r}", name)
    if operator == "and" and info.kind != "keyword" and len(set(values)) > 1:
        return Term(name, "any", (), parameter=name)  # one value cannot equal two
    return Term(name, "all" if operator == "and" else "any", values, parameter=name)


def _range(info: Any, name: str, kind: str, raw_values: list[str]) -> Term:
    parameter = f"{name}.range"
    if info.kind not in ("field", "date"):
        raise InvalidQuery(f"{name} is not an index that takes ranges", parameter)
    want = {"min": 1, "max": 1, "min:max": 2}.get(kind)
    if want is None:
        raise InvalidQuery(f"{parameter} is min, max or min:max, not {kind!r}", parameter)
    if len(raw_values) != want:
        raise InvalidQuery(f"{parameter}={kind} takes {want} value(s) in {name}.query", parameter)
    values = [convert(info, v, f"{name}.query") for v in raw_values]
    if kind == "min":
        return Term(name, "range", low=values[0], parameter=parameter)
    if kind == "max":
        return Term(name, "range", high=values[0], parameter=parameter)
    low, high = values
    if low > high:
        raise InvalidQuery(f"{parameter}: the minimum is above the maximum", parameter)
    return Term(name, "range", low=low, high=high, parameter=parameter)


def parse_search(
    items: Iterable[tuple[str, str]], registry: Registry, context_path: str, container_path: str
) -> Search:
    """The :class:`Search` that ``items`` (the query string's pairs) ask for, under the
    context (its path is the default ``path.query``)."""
    search = Search(paths=(context_path,))
    for name, options in _group(items).items():
        if name in PRESENTATION or name in _IGNORED:
            continue
        if name in CONTROLS:
            _control(search, registry, name, options)
        elif name == "path":
            unknown = set(options) - {"query", "depth"}
            if unknown:
                raise InvalidQuery(f"path has no option {sorted(unknown)[0]!r}", "path")
            if "query" in options:
                search.paths = _paths(options["query"], container_path)
            if "depth" in options:
                search.depth = _depth(options["depth"])
        elif name == "UID":
            if set(options) != {"query"}:
                raise InvalidQuery("UID takes only values", "UID")
            search.uids = tuple(options["query"])
        elif name in registry.indexes:
            search.terms.append(_term(registry, name, options))
        else:
            raise InvalidQuery(f"Unknown index or parameter {name!r}", name)
    return search


def _control(search: Search, registry: Registry, name: str, options: dict[str, list[str]]) -> None:
    if set(options) != {"query"}:
        raise InvalidQuery(f"{name} takes no options", name)
    value = _one(options["query"], name)
    if name == "sort_on":
        if value not in sortable_indexes(registry):
            raise InvalidQuery(
                f"Cannot sort on {value!r}: one of {', '.join(sortable_indexes(registry))}",
                "sort_on",
            )
        search.sort_on = value
    elif name == "show_inactive":
        flag = boolean(value, empty=True)
        if flag is None:
            raise InvalidQuery("show_inactive is true or false", name)
        search.show_inactive = flag
    elif name == "sort_order":
        if value not in _REVERSE:
            raise InvalidQuery("sort_order is ascending, descending or reverse", name)
        search.reverse = _REVERSE[value]
    else:
        limit = decimal(value)
        if limit is None or limit < 1:
            raise InvalidQuery("sort_limit must be a positive integer", name)
        search.sort_limit = limit
