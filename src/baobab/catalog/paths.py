"""The path index: where each catalogued object is, queried by subtree and depth.

Neither zope.index nor hypatia has one (Zope's ExtendedPathIndex needs Zope itself), so this
small index is written here on BTrees, with the same query semantics as Plone's:
``depth=-1`` (the default) finds the object at the path and everything below it, ``0`` the
object alone, ``1`` its children (not the object), ``N`` ≥ 2 the object and everything down
to N levels below it. (Plone's ExtendedPathIndex answers ``1`` from its table of parents and
``N`` ≥ 2 level by level, the start included; plone.restapi's documented examples show both,
and its clients rely on them.)

Structures (64-bit families, as hypatia's indexes, so results intersect directly):

- ``_paths``: path → docid, the only index that must be unique; a subtree is a key range
  (``/a/b/`` up to, excluding, ``/a/b0``: ``0`` is the character after ``/``);
- ``_children``: parent path → set of docids: ``depth=1``, a folder listing, is one lookup;
- ``_rev``: docid → path, to unindex without the object.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import BTrees
from persistent import Persistent

__all__ = ["PathIndex", "parent_of"]

FAMILY = BTrees.family64


def parent_of(path: str) -> str:
    return path.rsplit("/", 1)[0]


class PathIndex(Persistent):
    def __init__(self) -> None:
        self._paths: Any = FAMILY.OI.BTree()
        self._children: Any = FAMILY.OO.BTree()
        self._rev: Any = FAMILY.IO.BTree()

    def __len__(self) -> int:
        return len(self._rev)

    def path_of(self, docid: int) -> str | None:
        path: str | None = self._rev.get(docid)
        return path

    def docid_of(self, path: str) -> int | None:
        docid: int | None = self._paths.get(path)
        return docid

    def index_doc(self, docid: int, path: str) -> None:
        old = self._rev.get(docid)
        if old == path:
            return
        if old is not None:
            self.unindex_doc(docid)
        self._paths[path] = docid
        self._rev[docid] = path
        parent = parent_of(path)
        children = self._children.get(parent)
        if children is None:
            children = self._children[parent] = FAMILY.IF.TreeSet()
        children.insert(docid)

    def unindex_doc(self, docid: int) -> None:
        path = self._rev.pop(docid, None)
        if path is None:
            return
        if self._paths.get(path) == docid:
            del self._paths[path]
        parent = parent_of(path)
        children = self._children.get(parent)
        if children is not None and docid in children:
            children.remove(docid)
            if not children:
                del self._children[parent]

    def covers_all(self, paths: Iterable[str], depth: int) -> bool:
        """Whether a search of ``paths`` to ``depth`` finds every entry: a whole-container
        query (the default of ``@search`` on the container) need not build a set of every
        docid to intersect with, which costs ~10 ms per 100,000 entries."""
        if depth >= 0 or not self._paths:
            return False
        first, last = self._paths.minKey(), self._paths.maxKey()
        for given in paths:
            path = given.rstrip("/") or "/"
            low, high = path + "/", path + "0"
            if first >= low and last < high:
                return True
        return False

    def below(self, path: str) -> Any:
        """The docids strictly below ``path``, in path order."""
        return self._paths.values(min=path + "/", max=path + "0", excludemax=True)

    def search(self, paths: Iterable[str], depth: int) -> Any:
        """The docids at ``paths`` and below, as far as ``depth`` says (a set)."""
        found: list[Any] = []
        for given in paths:
            path = given.rstrip("/") or "/"
            if depth == 1:
                found.append(self._children.get(path, FAMILY.IF.Set()))
                continue
            own = self._paths.get(path)
            if depth == 0:
                found.append(FAMILY.IF.Set(() if own is None else (own,)))
                continue
            if depth < 0:
                ids = list(self.below(path))
            else:
                limit = path.count("/") + depth
                ids = [
                    docid
                    for key, docid in self._paths.items(
                        min=path + "/", max=path + "0", excludemax=True
                    )
                    if key.count("/") <= limit
                ]
            if own is not None:
                ids.append(own)
            found.append(FAMILY.IF.Set(ids))
        if len(found) == 1:
            return found[0]
        return FAMILY.IF.multiunion(found) if found else FAMILY.IF.Set()
