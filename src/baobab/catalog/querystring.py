"""plone.app.querystring's criteria (``[{"i": index, "o": operation, "v": value}]``) as a
:class:`Search`, and the query builder's description of what may be asked.

The operations are plone.app.querystring's, by their registry names
(``plone.app.querystring.operation.selection.any`` …), with the semantics of its
``queryparser`` — except where Plone silently drops a criterion it cannot read (an ``int`` that
is not one, a malformed date, a depth that is not a number): a query builder that sends those
has a bug the user should see, so here they are a 400 naming the criterion
(``query[2].v``). An operation applies to an index by the kind of values the index holds
(:func:`family`), not to a fixed list of index names, so an add-on's index is queried the
same way as the built-in ones. Operations Baobab cannot answer (``showInactive``: no
``effectiveRange`` index; ``reference.is``: no relations; ``path.isWithin*``: declared in
Plone's registry without a parser) are unknown operations here.

Dates relative to "now" and "today" are computed in UTC (Plone uses the server's local
time zone). Rows combine with AND; Plone keeps only the last row of an index, merging ranges
and paths — the same for ranges and paths, stricter for repeated selections.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from baobab.catalog.query import SECURITY_INDEX, Search, Term, convert, parse_date
from baobab.catalog.store import Catalog, date_key
from baobab.config.declarations import IndexInfo
from baobab.config.registry import Registry
from baobab.errors import InvalidQuery
from baobab.inputs import decimal
from baobab.location import resource_path

__all__ = [
    "FIELDS",
    "OPERATIONS",
    "PREFIX",
    "Field",
    "Operation",
    "family",
    "field_of",
    "parse_criteria",
    "query_fields",
]

PREFIX = "plone.app.querystring.operation."
_PARSER = "plone.app.querystring.queryparser."
_TIP = "Tip: you can use * to autocomplete."
_DATE_TIP = "Please use YYYY/MM/DD."
_DAYS = "Please enter the number in days."


@dataclass(frozen=True)
class Operation:
    """One operation: what the query builder shows (Plone's registry record) and the index
    families it applies to."""

    name: str  # without the prefix
    title: str
    description: str
    parser: str  # plone.app.querystring's function, shown as "operation" for compatibility
    widget: str | None
    families: frozenset[str]

    @property
    def id(self) -> str:
        return PREFIX + self.name

    def definition(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description or None,
            "operation": _PARSER + self.parser,
            "widget": self.widget,
        }


def _ops(names: str) -> tuple[str, ...]:
    return tuple(PREFIX + name for name in names.split())


_DATE = "date"
_SELECT = "string keyword uid"
# name, title, plone.app.querystring's parser, widget, the families it applies to, description
_ROWS: tuple[tuple[str, str, str, str | None, str, str], ...] = (
    ("boolean.isTrue", "Yes", "_isTrue", None, "bool", ""),
    ("boolean.isFalse", "No", "_isFalse", None, "bool", ""),
    ("int.is", "Equals", "_intEqual", "StringWidget", "int", ""),
    ("int.lessThan", "Less than", "_intLessThan", "StringWidget", "int", ""),
    ("int.largerThan", "Larger than", "_intLargerThan", "StringWidget", "int", ""),
    ("intselection.is", "Is", "_intEqual", "MultipleSelectionWidget", "int", _TIP),
    ("date.lessThan", "Before date", "_dateLessThan", "DateWidget", _DATE, _DATE_TIP),
    ("date.largerThan", "After date", "_dateLargerThan", "DateWidget", _DATE, _DATE_TIP),
    ("date.between", "Between dates", "_dateBetween", "DateRangeWidget", _DATE, _DATE_TIP),
    ("date.lessThanRelativeDate", "Within next", "_lessThanRelativeDate",
     "RelativeDateWidget", _DATE, _DAYS),
    ("date.largerThanRelativeDate", "Within last", "_moreThanRelativeDate",
     "RelativeDateWidget", _DATE, _DAYS),
    ("date.today", "Today", "_today", None, _DATE, "The current day"),
    ("date.beforeToday", "Before today", "_beforeToday", None, _DATE, "Before the current day"),
    ("date.afterToday", "After today", "_afterToday", None, _DATE, "After the current day"),
    ("date.beforeRelativeDate", "Before relative Date", "_beforeRelativeDate",
     "RelativeDateWidget", _DATE, "Before N days in the past"),
    ("date.afterRelativeDate", "After relative Date", "_afterRelativeDate",
     "RelativeDateWidget", _DATE, "After N days in the future"),
    ("list.contains", "Contains", "_contains", "ReferenceWidget", _SELECT, ""),
    ("string.contains", "Contains", "_contains", "StringWidget", "text string", ""),
    ("string.currentUser", "Current logged in user", "_currentUser", None, "string keyword",
     "The user viewing the querystring results"),
    ("string.is", "Is", "_equal", "StringWidget", _SELECT, _TIP),
    ("string.isNot", "Is not", "_excludes", "StringWidget", _SELECT, _TIP),
    ("selection.is", "Is", "_equal", "MultipleSelectionWidget", _SELECT, _TIP),
    ("selection.any", "Matches any of", "_contains", "MultipleSelectionWidget", _SELECT, _TIP),
    ("selection.none", "Matches none of", "_excludes", "MultipleSelectionWidget", _SELECT, _TIP),
    ("selection.all", "Matches all of", "_all", "MultipleSelectionWidget", "string keyword",
     _TIP),
    ("string.absolutePath", "Absolute path", "_absolutePath", "ReferenceWidget", "path",
     "Location in the site structure"),
    ("string.path", "Navigation path", "_navigationPath", "ReferenceWidget", "path",
     "Location in the navigation structure"),
    ("string.relativePath", "Relative path", "_relativePath", "RelativePathWidget", "path",
     "Use '../' to navigate to parent objects."),
)  # fmt: skip
OPERATIONS: dict[str, Operation] = {
    PREFIX + name: Operation(name, title, desc, parser, widget, frozenset(families.split()))
    for name, title, parser, widget, families, desc in _ROWS
}

# what the query builder lists for an index of each family (an operation of the family that
# is not listed is still accepted)
_DEFAULT_OPS: dict[str, tuple[str, ...]] = {
    "string": _ops("string.is string.isNot selection.any selection.none"),
    "keyword": _ops("selection.any selection.all selection.none"),
    "int": _ops("int.is int.lessThan int.largerThan"),
    "bool": _ops("boolean.isTrue boolean.isFalse"),
    "date": _ops(
        "date.lessThan date.largerThan date.between date.lessThanRelativeDate "
        "date.largerThanRelativeDate date.today date.beforeToday date.afterToday "
        "date.beforeRelativeDate date.afterRelativeDate"
    ),
    "text": _ops("string.contains"),
    "path": _ops("string.absolutePath string.path string.relativePath"),
}


@dataclass(frozen=True)
class Field:
    """How the query builder presents an index (Plone's ``IQueryField`` record)."""

    title: str
    description: str
    group: str
    operations: tuple[str, ...] = ()  # empty: the family's defaults
    enabled: bool = True
    vocabulary: str | None = None


# Plone's records for the indexes Baobab has under the same name (plone.app.querystring's
# profiles/default/registry.xml); the others are described from their declaration
FIELDS: dict[str, Field] = {
    "path": Field("Location", "The location of an item", "Metadata"),
    "getId": Field("Short name (id)", "The short name of an item (used in the url)", "Metadata",
                   _ops("string.is string.isNot")),
    "created": Field("Creation date", "The date an item was created", "Dates"),
    "modified": Field("Modification date", "The time and date an item was last modified",
                      "Dates"),
    "effective": Field("Effective date", "The time and date an item was first published",
                       "Dates"),
    "expires": Field("Expiration date", "The time and date an item was expired", "Dates"),
    "Creator": Field("Creator", "The person that created an item", "Metadata",
                     _ops("string.currentUser selection.any selection.none"),
                     vocabulary="plone.app.vocabularies.Users"),
    "portal_type": Field("Type", "An item's type (e.g. Event)", "Metadata",
                         _ops("selection.any selection.none"),
                         vocabulary="plone.app.vocabularies.ReallyUserFriendlyTypes"),
    "review_state": Field("Review state", "An item's workflow state (e.g.published)", "Metadata",
                          _ops("selection.any selection.none"),
                          vocabulary="plone.app.vocabularies.WorkflowStates"),
    "SearchableText": Field("Searchable text", "Text search of an item's contents", "Text"),
    "sortable_title": Field("Sortable Title", "The item's title, transformed for sorting", "Text",
                            _ops("string.contains string.is string.isNot"), enabled=False),
    "Subject": Field("Tag", "Tags are used for organization of content", "Text",
                     vocabulary="plone.app.vocabularies.Keywords"),
    "getObjPositionInParent": Field("Order in folder", "The order of an item in its parent folder",
                                    "Metadata", enabled=False),
    # Plone's "isFolderish", under Baobab's index name
    "is_folderish": Field("Folder-like", "Find items that can contain other objects", "Metadata",
                          enabled=False),
}  # fmt: skip


def family(info: IndexInfo) -> str:
    """The kind of values an index holds, as the operations see it."""
    if info.kind in ("keyword", "text", "date"):
        return info.kind
    if info.type is bool:
        return "bool"
    if info.type is int or info.type is float:
        return "int"
    return "string"


def _queryable(registry: Registry) -> dict[str, str]:
    """Index name → family, for every index a criterion may name (the security index is the
    server's, never a client's)."""
    found = {n: family(i) for n, i in registry.indexes.items() if n != SECURITY_INDEX}
    found["path"] = "path"
    found["UID"] = "uid"
    return found


def field_of(name: str, info: IndexInfo | None) -> Field:
    known = FIELDS.get(name)
    if known is not None:
        return known
    assert info is not None
    group = "Dates" if info.kind == "date" else "Text" if info.kind == "text" else "Metadata"
    return Field(info.title or name, info.description, group)


def query_fields(registry: Registry) -> dict[str, tuple[Field, str, tuple[Operation, ...]]]:
    """What the query builder lists: index name → (field, family, its operations), sorted
    by name. ``UID`` is accepted in criteria but not listed (neither does Plone)."""
    listed: dict[str, tuple[Field, str, tuple[Operation, ...]]] = {}
    for name, fam in sorted(_queryable(registry).items()):
        if fam == "uid":
            continue
        field = field_of(name, registry.indexes.get(name))
        ops = field.operations or _DEFAULT_OPS[fam]
        listed[name] = (field, fam, tuple(OPERATIONS[o] for o in ops))
    return listed


# parsing ------------------------------------------------------------------------------


@dataclass
class _Context:
    registry: Registry
    catalog: Catalog | None
    context: Any
    container: Any
    user_id: str | None
    now: dt.datetime
    path_depth: int | None = None
    paths: list[str | None] | None = None  # None: a UID nobody has (there is nothing)


def _strings(raw: Any, parameter: str, *, single: bool = False) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if not single and isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        return list(raw)
    wanted = "a string" if single else "a string or a list of strings"
    raise InvalidQuery(f"{parameter}: {wanted} is expected, not {raw!r}", parameter)


def _days(raw: Any, parameter: str) -> int:
    text = raw if isinstance(raw, str) else str(raw) if type(raw) is int else None
    sign = -1 if text is not None and text.startswith("-") else 1
    number = None if text is None else decimal(text[1:] if sign < 0 else text)
    if number is None or number > 100_000:
        raise InvalidQuery(f"{parameter}: a number of days is expected, not {raw!r}", parameter)
    return sign * number


def _day_start(moment: dt.datetime) -> dt.datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _day_end(moment: dt.datetime) -> dt.datetime:
    return moment.replace(hour=23, minute=59, second=59, microsecond=0)


def _range(index: str, low: dt.datetime | None, high: dt.datetime | None, parameter: str) -> Term:
    lo = None if low is None else date_key(low)
    hi = None if high is None else date_key(high)
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo  # Plone sorts the pair
    return Term(index, "range", low=lo, high=hi, parameter=parameter)


def _date_term(index: str, name: str, raw: Any, now: dt.datetime, parameter: str) -> Term:
    today = _day_start(now)
    if name == "date.lessThan":
        return _range(
            index, None, parse_date(_strings(raw, parameter, single=True)[0], parameter), parameter
        )
    if name == "date.largerThan":
        return _range(
            index, parse_date(_strings(raw, parameter, single=True)[0], parameter), None, parameter
        )
    if name == "date.between":
        if not isinstance(raw, list) or len(raw) != 2:
            raise InvalidQuery(f"{parameter}: a list of two dates is expected", parameter)
        low = None if raw[0] in ("", None) else parse_date(raw[0], f"{parameter}[0]")
        high = now if raw[1] in ("", None) else parse_date(raw[1], f"{parameter}[1]")
        return _range(index, low, high, parameter)
    if name == "date.today":
        return _range(index, today, _day_end(now), parameter)
    if name == "date.beforeToday":
        return _range(index, None, now, parameter)
    if name == "date.afterToday":
        return _range(index, now, None, parameter)
    days = dt.timedelta(days=_days(raw, parameter))
    if name == "date.lessThanRelativeDate":  # within the next N days
        return _range(index, today, _day_end(now + days), parameter)
    if name == "date.largerThanRelativeDate":  # within the last N days
        return _range(index, _day_start(now - days), _day_end(now), parameter)
    if name == "date.beforeRelativeDate":
        return _range(index, None, today - days, parameter)
    return _range(index, today + days, None, parameter)  # date.afterRelativeDate


def _values(info: IndexInfo, raw: Any, parameter: str, *, single: bool = False) -> tuple[Any, ...]:
    if isinstance(raw, list):
        if single:
            raise InvalidQuery(f"{parameter}: one value is expected, not a list", parameter)
        return tuple(convert(info, v, f"{parameter}[{n}]") for n, v in enumerate(raw))
    return (convert(info, raw, parameter),)


def _uids(search: Search, raw: Any, name: str, parameter: str) -> None:
    values = _strings(raw, parameter, single=name == "string.is")
    if not values:
        return
    if name in ("string.isNot", "selection.none"):
        search.exclude_uids = (*search.exclude_uids, *values)
        return
    wanted = set(values) if search.uids is None else set(search.uids) & set(values)
    search.uids = tuple(sorted(wanted))


def _term(ctx: _Context, index: str, name: str, raw: Any, parameter: str) -> Term | None:
    info = ctx.registry.indexes[index]
    fam = family(info)
    if fam == "date":
        return _date_term(index, name, raw, ctx.now, parameter)
    if name == "boolean.isTrue":
        return Term(index, "any", (True,), parameter=parameter)
    if name == "boolean.isFalse":
        return Term(index, "any", (False,), parameter=parameter)
    if name == "string.currentUser":
        return Term(
            index, "any", () if ctx.user_id is None else (ctx.user_id,), parameter=parameter
        )
    if fam == "text":
        return Term(index, "text", (_strings(raw, parameter, single=True)[0],), parameter=parameter)
    if name in ("int.lessThan", "int.largerThan"):
        (value,) = _values(info, raw, parameter, single=True)
        if name == "int.lessThan":
            return Term(index, "range", high=value, parameter=parameter)
        return Term(index, "range", low=value, parameter=parameter)
    values = _values(info, raw, parameter, single=name in ("string.is", "string.contains"))
    if not values:  # an empty selection: no condition, as in Plone
        return None
    if name in ("string.isNot", "selection.none"):
        return Term(index, "none", values, parameter=parameter)
    if name == "selection.all":
        if fam != "keyword" and len(set(values)) > 1:
            return Term(index, "any", (), parameter=parameter)  # one value cannot equal two
        return Term(index, "all", values, parameter=parameter)
    return Term(index, "any", values, parameter=parameter)


def _resolve_uid(ctx: _Context, uid: str) -> str | None:
    catalog = ctx.catalog
    docid = None if catalog is None else catalog.docid_of(uid)
    return None if catalog is None or docid is None else catalog.paths.path_of(docid)


def _walk(ctx: _Context, relative: str) -> str:
    """The path ``relative`` leads to from the context, as Plone's ``_relativePath`` walks:
    ``..`` goes up (not above the container: the walk stops there), a name goes to that
    child if there is one (else it is skipped)."""
    obj = ctx.context
    for part in (p for p in relative.split("/") if p):
        if part == "..":
            if obj is ctx.container:
                break
            obj = obj.__parent__
        elif getattr(obj, "folderish", False) and part in obj:
            obj = obj[part]
    return resource_path(obj)


def _path(ctx: _Context, name: str, raw: Any, parameter: str) -> None:
    (value,) = _strings(raw, parameter, single=True)
    depth: int | None = None
    if "::" in value:
        value, _, tail = value.partition("::")
        number = decimal(tail[1:] if tail.startswith("-") else tail)
        if number is None or (tail.startswith("-") and number != 1):
            raise InvalidQuery(
                f"{parameter}: the depth after '::' is a number, not {tail!r}", parameter
            )
        depth = -1 if tail.startswith("-") else number
    root = resource_path(ctx.container)
    if name == "string.relativePath":
        path: str | None = _walk(ctx, value)
    elif value and "/" not in value:  # a UID
        path = _resolve_uid(ctx, value)
    else:
        path = "/" + value.strip("/") if value.strip("/") else root
        if path != root and not path.startswith(root + "/"):
            path = root + path
    if ctx.paths is None:  # the first path row's depth holds for all, as in Plone
        ctx.paths = []
        ctx.path_depth = depth
    ctx.paths.append(path)


def _row(ctx: _Context, search: Search, number: int, row: Any, fields: Mapping[str, str]) -> None:
    where = f"query[{number}]"
    if not isinstance(row, dict):
        raise InvalidQuery(f"{where}: a criterion is an object {{i, o, v}}", where)
    unknown = set(row) - {"i", "o", "v"}
    if unknown:
        key = sorted(unknown)[0]
        raise InvalidQuery(
            f"{where}: unknown key {key!r} (a criterion has i, o and v)", f"{where}.{key}"
        )
    index, op_id, raw = row.get("i"), row.get("o"), row.get("v")
    if not isinstance(index, str) or index not in fields:
        raise InvalidQuery(
            f"{where}.i: {index!r} is not an index a query may use (GET @querystring lists them)",
            f"{where}.i",
        )
    op = OPERATIONS.get(op_id) if isinstance(op_id, str) else None
    if op is None:
        raise InvalidQuery(f"{where}.o: unknown operation {op_id!r}", f"{where}.o")
    fam = fields[index]
    if fam not in op.families:
        raise InvalidQuery(
            f"{where}.o: {op.id} does not apply to {index!r}; its operations: "
            + ", ".join(o for o, known in OPERATIONS.items() if fam in known.families),
            f"{where}.o",
        )
    parameter = f"{where}.v"
    if fam == "path":
        _path(ctx, op.name, raw, parameter)
    elif fam == "uid":
        _uids(search, raw, op.name, parameter)
    else:
        term = _term(ctx, index, op.name, raw, parameter)
        if term is not None:
            search.terms.append(term)


def parse_criteria(
    criteria: Any,
    registry: Registry,
    *,
    catalog: Catalog | None,
    context: Any,
    container: Any,
    user_id: str | None,
    now: dt.datetime | None = None,
) -> Search:
    """The :class:`Search` the criteria ask for, in ``container``'s catalog (the whole
    container unless a path criterion says otherwise). ``user_id``: the caller (None for
    anonymous: ``currentUser`` then matches nothing). ``now``: for tests."""
    if not isinstance(criteria, list):
        raise InvalidQuery("query: a list of criteria {i, o, v} is expected", "query")
    if not criteria:
        raise InvalidQuery("No query supplied", "query")
    moment = now or dt.datetime.now(dt.UTC)
    ctx = _Context(registry, catalog, context, container, user_id, moment)
    search = Search()
    fields = _queryable(registry)
    for number, row in enumerate(criteria):
        _row(ctx, search, number, row, fields)
    if ctx.paths is not None:  # path rows: anywhere they say (one row or another)
        found = tuple(dict.fromkeys(p for p in ctx.paths if p is not None))
        if found:
            search.paths = found
            search.depth = -1 if ctx.path_depth is None else ctx.path_depth
        else:  # only unknown UIDs: nowhere
            search.uids = ()
    return search
