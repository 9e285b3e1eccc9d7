"""The persistent classes of the tree. Their dotted paths are API: moving one needs an alias.

Folders keep children in an ``OOBTree`` and their count in a ``BTrees.Length`` (constant-time
``len`` and conflict-resolving increments), so a folder of a million children behaves like one
of ten. Field values are plain attributes on the instance; ``_p_``/``_v_`` are persistence's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree, OOTreeSet, union
from persistent import Persistent
from zope.interface import implementer

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


@implementer(IFolderish)
class Folder(Resource):
    """A content object with children."""

    folderish = True

    def __init__(self, id_: str, type_name: str) -> None:
        super().__init__(id_, type_name)
        self._children: OOBTree = OOBTree()
        self._count = Length()
        # token → ids of the children whose ``_allowed`` holds it: a folder lists what a
        # principal may see as a C-level union of a few sets, in id order, without loading
        # the children it skips.
        self._visible: OOBTree = OOBTree()

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

    def _set_child(self, name: str, child: Resource) -> None:
        child.__name__ = name
        child.__parent__ = self
        self._children[name] = child
        self._count.change(1)
        self._index_child(name, (), child._allowed)

    def _del_child(self, name: str) -> Resource:
        child: Resource = self._children.pop(name)
        self._count.change(-1)
        self._index_child(name, child._allowed, ())
        return child

    def _index_child(self, name: str, old: Iterable[str], new: Iterable[str]) -> None:
        """Move child ``name`` from the token sets of ``old`` to those of ``new``."""
        old, new = set(old), set(new)
        index = self._token_index()
        for token in old - new:
            ids = index.get(token)
            if ids is not None and name in ids:
                ids.remove(name)
                if not ids:
                    del index[token]
        for token in new - old:
            ids = index.get(token)
            if ids is None:
                ids = index[token] = OOTreeSet()
            ids.insert(name)

    def _token_index(self) -> OOBTree:
        index: OOBTree | None = getattr(self, "_visible", None)
        if index is None:  # a folder stored before the index existed
            index = self._visible = OOBTree()
        return index

    def visible_keys(self, tokens: Iterable[str]) -> Any:
        """The sorted ids of the children visible to a principal holding ``tokens``."""
        found: Any = None
        index = getattr(self, "_visible", None) or {}
        for token in tokens:
            ids = index.get(token)
            if ids is not None:
                found = ids if found is None else union(found, ids)
        return () if found is None else found


@implementer(IContainer)
class Container(Folder):
    """A site: ``/{db}/{container}``."""


@implementer(IDatabaseRoot)
class DatabaseRoot(Folder):
    """The content root of one database (``/{db}``); its children are containers."""
