"""The user-set order of a folder's children (Plone's explicit ordering), by gapped keys.

Each child has a *position key*, a signed 64-bit integer; the children in key order are the
folder's order. A folder holds three structures besides its id → child tree:

- ``_order``, an ``LOBTree`` key → id: the order itself. A page is a slice of it, and its
  last key tells an append where to go;
- ``_positions``, an ``OLBTree`` id → key: a child's key without a scan;
- ``_visible_at``, an ``OOBTree`` token → ``LLTreeSet`` of keys: the security index (which
  children each principal token may View) holds keys, not ids, so the C-level union of a
  principal's few sets is already in folder order, and a page of what they may see is a slice
  of it, as it was in id order before.

Why gapped keys rather than Plone's list of ids (``plone.folder``'s ``PersistentList``, where
a move rewrites the list and every position after it): an append takes the last key plus
:data:`GAP` (2**20) and a move takes the midpoint of its new neighbours' keys, so either writes
one entry in each tree and a few token sets, whatever the folder's size, and changes ONE key —
what the catalog indexes as ``getObjPositionInParent`` must be reindexed for that child only.
When two neighbours have no integer left between them (after about twenty moves into the same
gap), the neighbourhood is re-spaced: the smallest window of keys around the spot, grown by
doubling, that holds them all with :func:`spacing_floor` between each (a handful of children
normally; the whole folder only if its keys are dense everywhere). Appends get a little random
jitter below the full gap, so that two concurrent appends to one folder choose different keys
and BTrees' conflict resolution merges them, as it merges their different ids.

Plone's ``subset_ids`` (move among the ids a client shows, keeping the others in place) is a
permutation of those ids' own keys: no key is made, and only the ids that change places among
them change keys. :func:`move_child` returns the ids whose key changed, for the catalog.

Folders stored before order existed have none of the three: reads fall back to id order (and
keys ``(rank + 1) * GAP``), and their first write builds the structures in id order with those
very keys, so a key read before and after agrees.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from baobab.errors import BadRequest

if TYPE_CHECKING:
    from baobab.content.resources import Folder

__all__ = ["GAP", "LIMIT", "move_child", "position_in_parent", "spacing_floor"]

GAP = 2**20  # between appended keys: about twenty moves into one gap before a re-spacing
LIMIT = 2**62  # keys stay within ±LIMIT, far from the 64-bit edges: ``key ± 2 * GAP`` is safe

Delta = int | str  # a number of places (negative: up), or "top" / "bottom"


def spacing_floor() -> int:
    """The least distance between keys a re-spacing leaves (room for eight halvings)."""
    return max(2, GAP >> 8)


def legacy_key(rank: int) -> int:
    """The key of the child at ``rank`` in id order, in a folder stored before order existed."""
    return (rank + 1) * GAP


def between(lo: int | None, hi: int | None) -> int | None:
    """A key strictly between ``lo`` and ``hi`` (None: that end is open), or None when no
    integer is left between them."""
    if lo is None and hi is None:
        return GAP
    if lo is None:
        assert hi is not None
        lo = max(hi - 2 * GAP, -LIMIT - 1)
    if hi is None:
        hi = min(lo + 2 * GAP, LIMIT + 1)
    if hi - lo < 2:
        return None
    return lo + (hi - lo) // 2


def _append_key(last: int | None) -> int | None:
    """After ``last``: a gap less up to a quarter of it, so concurrent appends differ."""
    key = between(last, None)
    if key is None or last is None:
        return key
    jitter = random.randrange(max(1, GAP // 4))  # a spread, not a secret
    return key - jitter if key - jitter > last else key


def _respace(order: Any, lo: int | None, hi: int | None, moving: str | None) -> dict[str, int]:
    """New keys for the children around the spot between ``lo`` and ``hi`` (adjacent keys,
    ``moving`` left out of the count) and for ``moving`` placed there: the window of keys
    ``[centre - r, centre + r]`` doubles until its children fit with the floor's spacing."""
    centre = lo if lo is not None else hi
    assert centre is not None
    floor, radius = spacing_floor(), 4 * GAP
    while True:
        first, last = max(-LIMIT, centre - radius), min(LIMIT, centre + radius)
        window = [(k, n) for k, n in order.items(first, last) if n != moving]
        step = (last - first + 2) // (len(window) + 2)  # within the bounds first-1, last+1
        if step >= floor or (first == -LIMIT and last == LIMIT):
            break
        radius *= 2
    at = sum(1 for k, _ in window if lo is not None and k <= lo)
    names = [n for _, n in window]
    names.insert(at, "" if moving is None else moving)  # "": the child being appended
    keys = dict(window)
    return {
        name: first - 1 + step * (i + 1)
        for i, name in enumerate(names)
        if keys.get(first - 1 + step * (i + 1)) != name
    }


def place(folder: Folder, name: str, lo: int | None, hi: int | None) -> list[str]:
    """Give child ``name`` a key between ``lo`` and ``hi``; the ids whose key changed."""
    order, positions, _ = folder._ordered()
    key = between(lo, hi)
    changes = {name: key} if key is not None else _respace(order, lo, hi, name)
    changes = {n: k for n, k in changes.items() if positions.get(n) != k}
    folder._rekey(changes)
    return sorted(changes)


def append(folder: Folder, name: str) -> list[str]:
    """Key the new child ``name`` after the last; the *other* ids whose key changed (none,
    unless the key space is used up at the end: then its neighbours are re-spaced)."""
    order = folder._ordered()[0]
    last = order.maxKey() if order else None
    key = _append_key(last)
    if key is not None:
        folder._rekey({name: key})
        return []
    changes = _respace(order, last, None, None)
    changes[name] = changes.pop("")
    folder._rekey(changes)
    return sorted(n for n in changes if n != name)


def _before(order: Any, key: int) -> int | None:
    try:
        found: int = order.maxKey(key - 1)
    except ValueError:  # nothing before
        return None
    return found


def _after(order: Any, key: int) -> int | None:
    try:
        found: int = order.minKey(key + 1)
    except ValueError:
        return None
    return found


def _target(order: Any, seen: Any, key: int, delta: Delta) -> tuple[int | None, int | None] | None:
    """The neighbours (in the whole order) between which the child at ``key`` lands when
    moved ``delta`` places among the keys in ``seen``; None when it stays where it is."""
    if delta == "top":
        target = seen.minKey()
        return None if target == key else (_before(order, target), target)
    if delta == "bottom":
        target = seen.maxKey()
        return None if target == key else (target, _after(order, target))
    assert isinstance(delta, int)
    if delta < 0:
        above = seen.keys(max=key, excludemax=True)  # C-level: walks buckets, loads no child
        count = len(above)
        if not count:
            return None
        target = above[max(0, count + delta)]
        return _before(order, target), target
    below = seen.keys(min=key, excludemin=True)
    count = len(below)
    if not count:
        return None
    target = below[min(count, delta) - 1]
    return target, _after(order, target)


def _unknown(field: str, message: str) -> BadRequest:
    return BadRequest(
        f"Invalid ordering: {field} {message}",
        details=[{"field": f"ordering.{field}", "message": message}],
    )


def _move_in_subset(
    folder: Folder, obj_id: str, delta: Delta, subset_ids: Sequence[str], seen: Any
) -> list[str]:
    """Plone's move among ``subset_ids`` (the ids a client shows, in its order): the subset
    is permuted over its own keys, every other child keeps its place."""
    positions = folder._ordered()[1]
    missing = [i for i in subset_ids if positions.get(i) is None or positions[i] not in seen]
    if missing:
        raise _unknown("subset_ids", "names no child here: " + ", ".join(sorted(set(missing))))
    if len(set(subset_ids)) != len(subset_ids):
        raise _unknown("subset_ids", "names a child twice")
    if obj_id not in subset_ids:
        raise _unknown("subset_ids", "must include obj_id")
    keys = [positions[i] for i in subset_ids]
    if keys != sorted(keys):
        raise BadRequest(
            "Client/server ordering mismatch",
            details=[
                {"field": "ordering.subset_ids", "message": "is not in the folder's current order"}
            ],
        )
    old = list(subset_ids)
    at = old.index(obj_id)
    if delta == "top":
        to = 0
    elif delta == "bottom":
        to = len(old) - 1
    else:
        assert isinstance(delta, int)
        to = min(max(at + delta, 0), len(old) - 1)
    new = old[:at] + old[at + 1 :]
    new.insert(to, obj_id)
    changes = {name: keys[i] for i, name in enumerate(new) if old[i] != name}
    folder._rekey(changes)
    return sorted(changes)


def move_child(
    folder: Folder,
    obj_id: str,
    delta: Delta,
    subset_ids: Sequence[str] | None = None,
    *,
    tokens: Iterable[str] | None = None,
) -> list[str]:
    """Move child ``obj_id`` by ``delta`` places (negative: up), or to the "top" or "bottom",
    as plone.restapi's ``ordering`` does; the ids whose position key changed (one, or none if
    it stays; more after a re-spacing, or with ``subset_ids``).

    ``tokens``: the principal's tokens, None for one who sees every child. A child they may
    not View is unknown here, as everywhere; places are counted among the children they see
    (Plone counts all, which would tell a principal how many it hides).
    """
    order, positions, _ = folder._ordered()
    seen = folder.visible_positions(tokens)
    key = positions.get(obj_id)
    if key is None or key not in seen:
        raise _unknown("obj_id", f"names no child here: {obj_id}")
    if subset_ids:
        return _move_in_subset(folder, obj_id, delta, subset_ids, seen)
    spot = _target(order, seen, key, delta)
    if spot is None:
        return []
    return place(folder, obj_id, *spot)


def position_in_parent(obj: Any) -> int:
    """``obj``'s position key in its folder: an integer that sorts in the folder's order
    (the catalog's ``getObjPositionInParent``); 0 for an object outside any folder."""
    parent = getattr(obj, "__parent__", None)
    position_of = getattr(parent, "position_of", None)
    if position_of is None:
        return 0
    key: int = position_of(obj.__name__)
    return key
