"""The persistent classes of the tree. Their dotted paths are API: moving one needs an alias.

Folders keep children in an ``OOBTree``, their count in a ``BTrees.Length`` (constant-time
``len`` and conflict-resolving increments) and their order as gapped integer keys in two more
BTrees (:mod:`baobab.content.ordering`), so a folder of a million children behaves like one of
ten. Field values are plain attributes on the instance; ``_p_``/``_v_`` are persistence's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from types import MappingProxyType
from typing import Any

from BTrees.Length import Length
from BTrees.LLBTree import LLSet, LLTreeSet, multiunion
from BTrees.LOBTree import LOBTree
from BTrees.OLBTree import OLBTree
from BTrees.OOBTree import OOBTree, union
from persistent import Persistent
from zope.interface import implementer

from baobab.content import ordering
from baobab.content.interfaces import (
    IApplication,
    IContainer,
    IDatabaseRoot,
    IFolderish,
    IItem,
    IResource,
)

__all__ = ["Application", "Container", "DatabaseRoot", "Folder", "Item", "Resource"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@implementer(IApplication)
class Application:
    """The non-persistent top of the URL space; its children are database names."""

    __name__ = ""
    __parent__ = None
    type_name = "Application"

    def __init__(self, database_names: list[str]) -> None:
        self.database_names = database_names


# an early page is read by iterating from the first bucket (a slice would count every bucket
# first, loading them all from the storage when cold); a deep one by a slice
_ITERATE_BELOW = 2048

_NO_ROLES: Mapping[str, tuple[str, ...]] = MappingProxyType({})
_NO_PERMISSIONS: Mapping[str, tuple[tuple[str, ...], bool]] = MappingProxyType({})


@implementer(IResource)
class Resource(Persistent):
    """Base of every content object.

    The security state lives here as plain attributes that :mod:`baobab.security` reads and
    replaces (never mutates in place, so persistence sees every change):

    - ``_local_roles``: principal id → roles granted on this object (and, unless
      ``_inherit_roles`` is false, below it);
    - ``_permission_roles``: permission → (roles, acquire) set by the workflow state;
    - ``_allowed``: the tokens (role ids, ``user:<principal>``) that may View this object —
      Plone's ``allowedRolesAndUsers`` — kept current by the security indexer;
    - ``workflow_history``: one entry per transition (action, actor, time, state, comment).

    The class-level defaults are read-only and stand in for objects stored before a field
    existed.
    """

    folderish = False
    _local_roles: Mapping[str, tuple[str, ...]] = _NO_ROLES
    _inherit_roles: bool = True
    _permission_roles: Mapping[str, tuple[tuple[str, ...], bool]] = _NO_PERMISSIONS
    _allowed: tuple[str, ...] = ()
    workflow_history: tuple[dict[str, Any], ...] = ()

    def __init__(self, id_: str, type_name: str) -> None:
        self.__name__: str = id_
        self.__parent__: Any = None
        self.type_name = type_name
        self.uid = uuid.uuid4().hex
        self.review_state: str | None = None
        now = utcnow()
        self.created = now
        self.modified = now

    @property
    def id(self) -> str:
        return self.__name__


@implementer(IItem)
class Item(Resource):
    """A leaf content object."""


def _index_key(index: OOBTree, key: int, old: Iterable[str], new: Iterable[str]) -> None:
    """Move position ``key`` from the token sets of ``old`` to those of ``new``."""
    old, new = set(old), set(new)
    for token in old - new:
        keys = index.get(token)
        if keys is not None and key in keys:
            keys.remove(key)
            if not keys:
                del index[token]
    for token in new - old:
        keys = index.get(token)
        if keys is None:
            keys = index[token] = LLTreeSet()
        keys.insert(key)


def _slice(keys: Any, start: int, size: int) -> list[int]:
    """``keys[start:start + size]`` of a union (an ``LLSet``: one C array, indexed) or of one
    token's ``LLTreeSet`` (iterated for an early page, else sliced: see ``_ITERATE_BELOW``),
    without making a list of every key."""
    if isinstance(keys, LLSet):
        return [keys[i] for i in range(start, min(start + size, len(keys)))]
    if start < _ITERATE_BELOW:
        return list(islice(keys, start, start + size))
    return list(keys.keys()[start : start + size])


@implementer(IFolderish)
class Folder(Resource):
    """A content object with children, in a user-set order (:mod:`baobab.content.ordering`).

    ``keys()``, ``values()`` and ``items()`` are in id order (the mapping's own, the cheapest
    walk, for code that visits every child); ``ordered_keys()``, ``ordered_items()`` and
    ``visible_page()`` are in the folder's order, as listings show it.
    """

    folderish = True
    # None on a folder stored before its children had an order: reads fall back to id order,
    # the first write builds them (``_ordered``)
    _order: LOBTree | None = None  # position key → id
    _positions: OLBTree | None = None  # id → position key
    _visible_at: OOBTree | None = None  # token → LLTreeSet of the keys of children it may View

    def __init__(self, id_: str, type_name: str) -> None:
        super().__init__(id_, type_name)
        self._init_children()

    def _init_children(self) -> None:
        """Empty children structures (a new folder, or the copy of one)."""
        self._children: OOBTree = OOBTree()
        self._count = Length()
        self._order = LOBTree()
        self._positions = OLBTree()
        # token → keys of the children whose ``_allowed`` holds it: a folder lists what a
        # principal may see as a C-level union of a few sets, in folder order, without loading
        # the children it skips.
        self._visible_at = OOBTree()

    def __len__(self) -> int:
        return int(self._count())

    def __bool__(self) -> bool:  # a folder is truthy even when empty
        return True

    def __contains__(self, name: object) -> bool:
        return name in self._children

    def __getitem__(self, name: str) -> Resource:
        child: Resource = self._children[name]
        return child

    def get(self, name: str, default: Any = None) -> Any:
        return self._children.get(name, default)

    def keys(self, start: int = 0, size: int | None = None) -> list[str]:
        """Child ids in id order, from position ``start``."""
        keys = self._children.keys()
        stop = None if size is None else start + size
        return list(keys[start:stop])

    def values(self) -> Iterator[Resource]:
        yield from self._children.values()

    def items(self, start: int = 0, size: int | None = None) -> list[tuple[str, Resource]]:
        """(id, child) pairs in id order, from position ``start``."""
        stop = None if size is None else start + size
        return list(self._children.items()[start:stop])

    # -- order ----------------------------------------------------------------------------

    def ordered_keys(self, start: int = 0, size: int | None = None) -> list[str]:
        """Child ids in the folder's order, from position ``start``: a slice of the order
        tree, which walks its buckets up to ``start`` and loads no child."""
        if self._order is None:
            return self.keys(start, size)
        stop = None if size is None else start + size
        if start < _ITERATE_BELOW:  # reads only the buckets up to the page
            return list(islice(self._order.values(), start, stop))
        # a slice counts every bucket first, then finds ``start``: both in C, no Python step
        # per child skipped
        return list(self._order.values()[start:stop])

    def ordered_items(self, start: int = 0, size: int | None = None) -> list[tuple[str, Resource]]:
        """(id, child) pairs in the folder's order, from position ``start``."""
        return [(name, self[name]) for name in self.ordered_keys(start, size)]

    def position_of(self, name: str) -> int:
        """Child ``name``'s position key: an integer that sorts in the folder's order."""
        if self._positions is not None:
            key: int = self._positions[name]
            return key
        ranks: dict[str, int] | None = getattr(self, "_v_ranks", None)
        if ranks is None:  # stored before order: id order, as the first write will keep it
            ranks = {n: ordering.legacy_key(i) for i, n in enumerate(self._children.keys())}
            self._v_ranks = ranks
        return ranks[name]

    def _ordered(self) -> tuple[LOBTree, OLBTree, OOBTree]:
        """The order structures; a folder stored before them gets them now, in id order (a
        write: called on the way to every change of the children)."""
        order, positions, visible = self._order, self._positions, self._visible_at
        if order is None or positions is None or visible is None:
            self._build_order()
            return self._ordered()
        return order, positions, visible

    def _build_order(self) -> None:
        pairs = [(ordering.legacy_key(i), n) for i, n in enumerate(self._children.keys())]
        order, positions = LOBTree(pairs), OLBTree([(n, k) for k, n in pairs])
        visible = OOBTree()
        for token, ids in (vars(self).get("_visible") or {}).items():
            visible[token] = LLTreeSet([positions[n] for n in ids if n in positions])
        self._order, self._positions, self._visible_at = order, positions, visible
        if "_visible" in vars(self):
            del self._visible  # the id-based index these replace

    def _rekey(self, changes: Mapping[str, int]) -> None:
        """Set the position keys of the children named in ``changes`` (a new child has
        none yet), in the order and the token sets. All old keys go before any new one is
        set: a permutation gives one child's old key to another."""
        order, positions, visible = self._ordered()
        old = {name: positions[name] for name in changes if name in positions}
        for key in old.values():
            del order[key]
        for name, key in changes.items():
            order[key] = name
            positions[name] = key
        if len(old) > 64 and len(old) * 16 > len(self):  # a re-spacing of much of the folder
            moved = {old[name]: changes[name] for name in old}
            for token, keys in list(visible.items()):
                visible[token] = LLTreeSet([moved.get(k, k) for k in keys])
        else:
            for name, key in old.items():
                _index_key(visible, key, self._children[name]._allowed, ())
            for name in old:
                _index_key(visible, changes[name], (), self._children[name]._allowed)
        for name in changes.keys() - old.keys():
            _index_key(visible, changes[name], (), self._children[name]._allowed)

    # -- children ---------------------------------------------------------------------------

    def _set_child(self, name: str, child: Resource) -> list[str]:
        """Add ``child`` as ``name``, last in order; the ids of *other* children whose
        position key changed (none, unless the key space is used up at its end)."""
        self._ordered()  # a folder stored before order: built without the newcomer
        child.__name__ = name
        child.__parent__ = self
        self._children[name] = child
        self._count.change(1)
        return ordering.append(self, name)

    def _restore_child(self, name: str, child: Resource, key: int) -> None:
        """Add ``child`` as ``name`` at position key ``key`` (an import restoring a folder's
        order exactly; ``child._allowed`` is already computed, and indexed here)."""
        order = self._ordered()[0]
        if name in self._children or key in order:
            raise ValueError(f"child {name!r} or position {key} is taken")
        child.__name__ = name
        child.__parent__ = self
        self._children[name] = child
        self._count.change(1)
        self._rekey({name: key})

    def _del_child(self, name: str) -> Resource:
        order, positions, visible = self._ordered()
        child: Resource = self._children.pop(name)
        self._count.change(-1)
        key = positions.pop(name)
        del order[key]
        _index_key(visible, key, child._allowed, ())
        return child

    def _rename_child(self, old: str, new: str) -> Resource:
        """Give child ``old`` the id ``new``, keeping its place (and its key: the token
        index, by key, is unchanged)."""
        order, positions, _ = self._ordered()
        child: Resource = self._children.pop(old)
        self._children[new] = child
        child.__name__ = new
        key = positions.pop(old)
        positions[new] = key
        order[key] = new
        return child

    def _index_child(self, name: str, old: Iterable[str], new: Iterable[str]) -> None:
        """Move child ``name`` from the token sets of ``old`` to those of ``new``."""
        _, positions, visible = self._ordered()
        _index_key(visible, positions[name], old, new)

    # -- what a principal may see -------------------------------------------------------

    def visible_positions(self, tokens: Iterable[str] | None) -> Any:
        """The sorted position keys of the children visible to a principal holding
        ``tokens`` (None: every child, the order tree itself): a C-level union of the
        folder's sets for those tokens, the one set itself when only one matches."""
        order, _, index = self._ordered()
        if tokens is None:
            return order
        found = [keys for token in tokens if (keys := index.get(token)) is not None]
        if not found:
            return LLTreeSet()
        return found[0] if len(found) == 1 else multiunion(found)

    def visible_page(self, tokens: Iterable[str], start: int, size: int) -> tuple[int, list[str]]:
        """(how many children a principal holding ``tokens`` may see, the ids of those from
        ``start``, at most ``size``), in the folder's order; children skipped are not loaded."""
        if self._order is None:  # stored before order: the id-based index, in id order
            ids = self._legacy_visible(tokens)
            return len(ids), list(ids.keys()[start : start + size]) if ids else []
        keys = self.visible_positions(tokens)
        order = self._order
        return len(keys), [order[key] for key in _slice(keys, start, size)]

    def _legacy_visible(self, tokens: Iterable[str]) -> Any:
        found: Any = None
        index = vars(self).get("_visible") or {}
        for token in tokens:
            ids = index.get(token)
            if ids is not None:
                found = ids if found is None else union(found, ids)
        return () if found is None else found

    def visible_keys(self, tokens: Iterable[str]) -> list[str]:
        """The ids of the children visible to a principal holding ``tokens``, in the
        folder's order (every one: for checks and tests; listings page with
        :meth:`visible_page`)."""
        return self.visible_page(tokens, 0, len(self))[1]


@implementer(IContainer)
class Container(Folder):
    """A site: ``/{db}/{container}``."""


@implementer(IDatabaseRoot)
class DatabaseRoot(Folder):
    """The content root of one database (``/{db}``); its children are containers."""
