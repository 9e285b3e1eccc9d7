"""Catalog queries: a small typed model, how values are converted, and how a query runs.

A :class:`Search` is what every query language here translates into (plone.restapi's
``@search`` parameters, its ``@querystring`` criteria): terms on indexes, a path, UIDs, a
sort. :func:`execute` runs it on one catalog, always intersected with the sets of the
caller's principal tokens in ``allowedRolesAndUsers``: there is no way to ask for a search
without it. (A Manager is no exception to the rule, only to its effect: every object's
allowed tokens include ``Manager``.)

Terms are applied smallest first (hypatia's indexes answer with BTrees sets; intersections
are C loops), a full-text term keeps its relevance weights for the default sort.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import BTrees
from hypatia.field import FieldIndex
from hypatia.keyword import KeywordIndex
from hypatia.text.parsetree import ParseError

from baobab.catalog.store import Catalog, date_key
from baobab.config.declarations import IndexInfo
from baobab.errors import InvalidQuery
from baobab.inputs import boolean

__all__ = [
    "SECURITY_INDEX",
    "Results",
    "Search",
    "Term",
    "convert",
    "execute",
    "only_active",
    "parse_date",
]

FAMILY = BTrees.family64
_NONE: Any = object()
SECURITY_INDEX = "allowedRolesAndUsers"
SCAN_BUDGET = 50  # see _scan


@dataclass(frozen=True)
class Term:
    """One condition on one index.

    ``op``: ``"any"`` (one of ``values``), ``"all"`` (every one, keywords), ``"none"`` (none
    of them), ``"range"`` (``low``/``high``, either None for open), ``"text"`` (a full-text
    query in ``values[0]``). ``parameter``: what the client wrote, for error messages.
    """

    index: str
    op: str
    values: tuple[Any, ...] = ()
    low: Any = None
    high: Any = None
    parameter: str = ""


@dataclass
class Search:
    terms: list[Term] = field(default_factory=list)
    paths: tuple[str, ...] = ()  # empty: the whole catalog
    depth: int = -1
    uids: tuple[str, ...] | None = None
    exclude_uids: tuple[str, ...] = ()  # never these (@querystring-search: the context)
    sort_on: str | None = None
    reverse: bool = False
    sort_limit: int | None = None
    show_inactive: bool = False  # asked to include what is not yet effective, or expired
    active_at: int | None = None  # leave out what is inactive at this minute (date_key)


@dataclass(frozen=True)
class Results:
    total: int  # how many match
    docids: list[int]  # the window asked for, in order


def only_active(search: Search, now: dt.datetime) -> None:
    """Narrow ``search`` to what is effective and not expired at ``now`` (Plone's
    ``effectiveRange``: effective ≤ now ≤ expires; no date is no limit)."""
    search.active_at = date_key(now)


def _inactive(catalog: Catalog, minute: int) -> Any:
    """The entries not effective yet or expired at ``minute``: few, as a rule, where the
    active ones are nearly everything (so they are subtracted, not intersected)."""
    parts = []
    effective = catalog.indexes.get("effective")
    if effective is not None:
        parts.append(effective.applyInRange(minute + 1, None))
    expires = catalog.indexes.get("expires")
    if expires is not None:
        parts.append(expires.applyInRange(None, minute - 1))
    parts = [part for part in parts if part]
    return FAMILY.IF.multiunion(parts) if parts else None


def parse_date(raw: Any, parameter: str) -> dt.datetime:
    """An ISO 8601 date or date-time (naive means UTC), or a 400 naming ``parameter``."""
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, dt.date):
        value = dt.datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, str):
        text = raw.strip().replace("/", "-")
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise InvalidQuery(
                f"{parameter}: {raw!r} is not a date (ISO 8601, e.g. 2026-12-03 or "
                "2026-12-03T17:00:00Z)",
                parameter,
            ) from None
    else:
        raise InvalidQuery(f"{parameter}: a date is expected", parameter)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def convert(info: IndexInfo, raw: Any, parameter: str) -> Any:
    """A query value for ``info``'s index, converted to what it holds; 400 if it cannot."""
    if info.kind == "date":
        return date_key(parse_date(raw, parameter))
    wanted = info.type
    if wanted is bool:
        value = boolean(raw)
        if value is not None:
            return value
        raise InvalidQuery(f"{parameter}: true or false is expected, not {raw!r}", parameter)
    if wanted is int or wanted is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise InvalidQuery(f"{parameter}: a number is expected, not {raw!r}", parameter)
        try:
            number = wanted(raw)
        except (TypeError, ValueError, OverflowError):
            raise InvalidQuery(
                f"{parameter}: a number is expected, not {raw!r}", parameter
            ) from None
        if wanted is int and abs(number) >= 2**63:
            raise InvalidQuery(f"{parameter}: {raw!r} is out of range", parameter)
        return number
    if not isinstance(raw, str):
        raise InvalidQuery(f"{parameter}: a string is expected, not {raw!r}", parameter)
    return raw


def _apply(catalog: Catalog, term: Term) -> Any:
    index = catalog.indexes.get(term.index)
    if index is None:  # declared since the catalog was built: nothing is indexed yet
        return FAMILY.IF.Set()
    if term.op == "text":
        try:
            return index.apply(term.values[0])
        except ParseError as exc:
            raise InvalidQuery(
                f"{term.parameter}: {exc} (a full-text query needs a word that is not a "
                "common word or punctuation)",
                term.parameter,
            ) from None
    if term.op == "range":
        return index.applyInRange(term.low, term.high)
    if term.op == "all":
        if hasattr(index, "applyAll"):
            return index.applyAll(list(term.values))
        # a field index holds one value per object: "all of" one value is "any of" it
        return index.applyAny(list(term.values)) if len(set(term.values)) == 1 else FAMILY.IF.Set()
    if term.op == "none":
        return index.applyNotAny(list(term.values))
    return _any(index, term.values)


def _normalizes(index: Any) -> bool:
    """Whether a keyword index changes values before storing them (then its ``applyAny``
    must see the query's values)."""
    return isinstance(index, KeywordIndex) and type(index).normalize is not KeywordIndex.normalize


def _any(index: Any, values: Sequence[Any]) -> Any:
    """The docids with any of ``values``: the index's own set for one value (hypatia's
    ``applyAny`` copies it through ``multiunion``: ~2 ms for 50,000 docids), a union of the
    sets for several."""
    if not isinstance(index, FieldIndex | KeywordIndex) or _normalizes(index):
        return index.applyAny(list(values))
    fwd = index._fwd_index
    found = [docs for docs in (fwd.get(value) for value in values) if docs]
    if not found:
        return FAMILY.IF.Set()
    return found[0] if len(found) == 1 else FAMILY.IF.multiunion(found)


def _intersect(sets: list[Any]) -> Any:
    if not sets:
        return None
    sets.sort(key=len)
    result = sets[0]
    for other in sets[1:]:
        if not result:
            break
        result = FAMILY.IF.intersection(result, other)
    return result


def _scannable(index: Any, limit: int | None, reverse: bool) -> bool:
    """Whether :func:`_scan` can sort on ``index``: a field index, a limit, and for a
    descending sort integer values (the next value down is ``maxKey(value - 1)``: dates,
    positions)."""
    if limit is None or not isinstance(index, FieldIndex):
        return False
    fwd = index._fwd_index
    return not reverse or (bool(fwd) and isinstance(fwd.maxKey(), int))


def _scan(index: FieldIndex, result: Any, limit: int, reverse: bool) -> list[int] | None:
    """The first ``limit`` docids of ``result`` in ``index``'s order (equal values: docid
    order, reversed when descending, as hypatia's n-best gives them), or None when that
    would cost more than hypatia's sort.

    hypatia's n-best (its choice for a small ``limit``) looks up every docid of the result
    in the reverse index, in Python: ~1 µs each, 30 ms for 30,000 matches; its forward scan
    loops over the docids of each value in Python. Walking the values from the wanted end,
    one C intersection each (~10 ns per element of both sets), finds the first ``limit``
    after about ``limit * values / len(result)`` values: far sooner for a large result or
    few distinct values (dates in minutes, a folder's positions). The walk gives up once it
    has touched :data:`SCAN_BUDGET` times as many elements as the result has, where n-best
    would have cost about as much.
    """
    fwd = index._fwd_index
    size = len(result)
    budget = SCAN_BUDGET * size
    spent = 0
    out: list[int] = []
    if not reverse:
        for docs in fwd.values():
            spent += len(docs) + size
            if spent > budget:
                return None
            out.extend(FAMILY.IF.intersection(docs, result))
            if len(out) >= limit:
                break
        return out[:limit]
    key = fwd.maxKey()
    while True:
        docs = fwd[key]
        spent += len(docs) + size
        if spent > budget:
            return None
        out.extend(reversed(FAMILY.IF.intersection(docs, result)))
        if len(out) >= limit:
            return out[:limit]
        try:
            key = fwd.maxKey(key - 1)
        except ValueError:  # no smaller value
            return out


def _ranked(index: FieldIndex, result: Any, limit: int | None, reverse: bool) -> list[int]:
    """``result`` by (value, docid), descending when ``reverse``: the order :func:`_scan`
    gives, so that pages stay consistent whichever of the two sorted them (hypatia's own
    sorts break ties by docid in either direction, depending on the algorithm it picks).
    Entries without a value are left out (the caller puts them last)."""
    rev = index._rev_index
    keyed = [(value, docid) for docid in result if (value := rev.get(docid, _NONE)) is not _NONE]
    if limit is None:
        keyed.sort(reverse=reverse)
        chosen = keyed
    else:
        chosen = heapq.nlargest(limit, keyed) if reverse else heapq.nsmallest(limit, keyed)
    return [docid for _, docid in chosen]


def _sort(catalog: Catalog, search: Search, result: Any, limit: int | None) -> list[int]:
    if search.sort_on == "path":  # tree order: a folder, then what is in it
        path_of = catalog.paths.path_of
        by_path = sorted(
            result, key=lambda d: (path_of(d) or "").split("/"), reverse=search.reverse
        )
        return by_path[:limit]
    index = None if search.sort_on is None else catalog.indexes.get(search.sort_on)
    if index is None:  # no sort: docid order
        return list(itertools.islice(iter(result), limit))
    ordered = None
    if limit is not None and _scannable(index, limit, search.reverse):
        ordered = _scan(index, result, limit, search.reverse)
    if ordered is None and isinstance(index, FieldIndex):
        ordered = _ranked(index, result, limit, search.reverse)
    if ordered is None:
        ordered = list(
            index.sort(result, reverse=search.reverse, limit=limit, raise_unsortable=False)
        )
    wanted = len(result) if limit is None else min(limit, len(result))
    if len(ordered) < wanted:  # entries without a value in the sort index go last
        seen = FAMILY.IF.Set(ordered)
        ordered.extend(d for d in result if d not in seen)
        ordered = ordered[:wanted]
    return ordered


def _allowed(security: Any, tokens: Sequence[str], within: Any) -> Any:
    """The docids of ``within`` (None: of the whole catalog) that ``tokens`` may View.

    Within a result already narrowed (a folder's children, a type and state, full-text
    matches) each token's set is intersected with it, then the small pieces united: the
    union of the token sets first (``Anonymous`` alone holds every published object) costs
    a copy of every docid they hold, ~3 ms per 50,000."""
    if within is None:
        return _any(security, tokens)
    if not isinstance(security, KeywordIndex):  # not ours: no shortcut through its sets
        return FAMILY.IF.intersection(_any(security, tokens), within)
    fwd = security._fwd_index
    parts = [FAMILY.IF.intersection(docs, within) for docs in map(fwd.get, tokens) if docs]
    parts = [part for part in parts if part]
    if not parts:
        return FAMILY.IF.Set()
    return parts[0] if len(parts) == 1 else FAMILY.IF.multiunion(parts)


def _without(catalog: Catalog, search: Search, result: Any) -> Any:
    """``result`` less what is inactive (unless asked for) and the UIDs left out."""
    if search.active_at is not None and result:
        inactive = _inactive(catalog, search.active_at)
        if inactive:
            result = FAMILY.IF.difference(result, inactive)
    if search.exclude_uids and result:
        found = (catalog.docid_of(uid) for uid in search.exclude_uids)
        result = FAMILY.IF.difference(result, FAMILY.IF.Set(d for d in found if d is not None))
    return result


def _matches(catalog: Catalog, search: Search, security: Any, tokens: Sequence[str]) -> Any:
    """The docids matching ``search`` that ``tokens`` may View; weighted by relevance (a
    mapping docid → score) when the search has a full-text term."""
    sets: list[Any] = []
    weighted = None
    if search.paths and not catalog.paths.covers_all(search.paths, search.depth):
        sets.append(catalog.paths.search(search.paths, search.depth))
    if search.uids is not None:
        found = (catalog.docid_of(uid) for uid in search.uids)
        sets.append(FAMILY.IF.Set(d for d in found if d is not None))
    for term in search.terms:
        applied = _apply(catalog, term)
        if term.op != "text":
            sets.append(applied)
            continue
        if weighted is not None:
            applied = FAMILY.IF.weightedIntersection(weighted, applied)[1]
        weighted = applied
        if not weighted:
            return weighted
    narrowed = _intersect(sets)
    if weighted is not None:
        narrowed = FAMILY.IF.intersection(weighted, narrowed)  # its keys, or all of them
    if narrowed is not None and not narrowed:
        return narrowed
    result = _allowed(security, tokens, narrowed)
    if weighted is not None:
        result = FAMILY.IF.weightedIntersection(weighted, result)[1]
    return _without(catalog, search, result)


def execute(
    catalog: Catalog,
    search: Search,
    tokens: Sequence[str],
    start: int = 0,
    size: int | None = None,
) -> Results:
    """The matches of ``search`` that a principal holding ``tokens`` may View: how many,
    and the docids of the window ``[start, start + size)`` in the order asked."""
    security = catalog.indexes.get(SECURITY_INDEX)
    if security is None:
        return Results(0, [])
    result = _matches(catalog, search, security, tokens)
    if not result:
        return Results(0, [])
    total = len(result)
    if search.sort_limit is not None:
        total = min(total, search.sort_limit)
    end = total if size is None else min(total, start + size)
    if start >= end:
        return Results(total, [])
    if search.sort_on is None and hasattr(result, "items"):  # relevance, best first
        ranked = sorted(result.items(), key=lambda pair: -pair[1])
        return Results(total, [docid for docid, _ in ranked[start:end]])
    return Results(total, _sort(catalog, search, result, end)[start:end])
