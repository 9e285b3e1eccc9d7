"""A container's catalog: its indexes, metadata and document ids, stored in the container.

Each container (site) has its own catalog, a persistent attribute of the container, so it
lives in the same database as the content, on FileStorage and on RelStorage alike, and is
changed by the same transaction as the content it describes: whatever aborts the one aborts
the other. The structures come from hypatia (field, keyword and Okapi text indexes, built on
BTrees); the path index is ours (:mod:`baobab.catalog.paths`).

- ``docids``: object UID → docid; docids are 63-bit integers, drawn at random and then
  counted up (``_v_next``), as Zope's catalog does: a process appends into its own region of
  the BTrees, so concurrent writers in several processes seldom touch the same buckets.
- ``metadata``: docid → the entry's columns (a :class:`Record`, a dict of JSON values):
  results serialize without loading the objects.
- ``indexes``: index name → hypatia index; an index the registry declares but the catalog
  lacks is added empty on the next write (``baobab reindex-catalog`` fills it).
- ``paths``: the path index.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import Any

import BTrees
from BTrees.Length import Length
from hypatia.field import FieldIndex
from hypatia.text import TextIndex
from persistent import Persistent
from persistent.mapping import PersistentMapping

from baobab.catalog.paths import PathIndex
from baobab.catalog.resolving import KeywordIndex, OkapiIndex
from baobab.catalog.text import new_lexicon
from baobab.config.declarations import IndexInfo
from baobab.config.registry import Registry

__all__ = ["CATALOG_ATTR", "Catalog", "Record", "catalog_of", "date_key", "new_text_index"]

FAMILY = BTrees.family64
CATALOG_ATTR = "_catalog"

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
DATE_MIN = -(2**40)  # "no effective date": before everything (Plone: 1000-01-01)
DATE_MAX = 2**40  # "never expires": after everything (Plone: 2499-12-31)


def date_key(value: dt.datetime) -> int:
    """A datetime as minutes since 1970 (UTC): the resolution of Plone's DateIndex, so
    documents written in the same minute share one set in the index."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int((value - _EPOCH).total_seconds() // 60)


class Record(dict[str, Any]):
    """An entry's metadata columns: a dict that can be ordered.

    A BTree bucket's conflict resolution compares the values of the keys it merges (``<``,
    then ``==``); two dicts cannot be ordered, so a bucket of plain dicts never merged and
    every two transactions that added entries to the same bucket of ``metadata`` (concurrent
    creates: their docids are near each other's) conflicted. Records order by their JSON."""

    __slots__ = ()

    def _key(self) -> str:
        return json.dumps(self, sort_keys=True, default=str)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, dict):
            return NotImplemented
        return self._key() < Record(other)._key()


def new_text_index(name: str, family: Any = FAMILY) -> Any:
    """A full-text index on ``name``: our lexicon (Unicode folding, word ids that concurrent
    writers do not share) and Okapi index (postings that resolve concurrent changes)."""
    lexicon = new_lexicon()
    return TextIndex(name, lexicon=lexicon, index=OkapiIndex(lexicon, family=family))


def _new_index(info: IndexInfo) -> Any:
    # the discriminator is the index name, read off a namespace of precomputed values:
    # nothing but a string is stored with the index (no reference to add-on code)
    if info.kind == "keyword":
        return KeywordIndex(info.name)
    if info.kind == "text":
        return new_text_index(info.name)
    return FieldIndex(info.name)  # field and date


def _values(info_values: Mapping[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(**{k: v for k, v in info_values.items() if v is not None})


class Catalog(Persistent):
    # True from the creation of a catalog for a container that already held content until
    # its first build ends (baobab.catalog.rebuild): a start-up finds it and builds it again
    incomplete = False
    # indexes added empty to a catalog that already had entries, until a rebuild fills them
    # (start-up fills them or names the command)
    unfilled: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.docids: Any = FAMILY.OI.BTree()
        self.metadata: Any = FAMILY.IO.BTree()
        self.indexes: Any = PersistentMapping()
        self.kinds: Any = PersistentMapping()  # index name → kind, as created
        self.paths = PathIndex()
        self.count = Length()

    def __len__(self) -> int:
        return int(self.count())

    # writing ------------------------------------------------------------------------
    def _new_docid(self) -> int:
        docid: int | None = getattr(self, "_v_next", None)
        while docid is None or docid in self.metadata:
            docid = random.randrange(1, 2**62)
        self._v_next = docid + 1
        return docid

    def ensure_indexes(self, registry: Registry) -> list[str]:
        """Add the indexes the registry declares and this catalog lacks (or holds with
        another kind); the names added, empty."""
        added = []
        for name, info in registry.indexes.items():
            if self.kinds.get(name) != info.kind or name not in self.indexes:
                index = _new_index(info)
                index.__name__ = name
                self.indexes[name] = index
                self.kinds[name] = info.kind
                added.append(name)
        if added and len(self):
            self.unfilled = self.unfilled | frozenset(added)
        return added

    def catalog_object(
        self,
        uid: str,
        path: str,
        values: Mapping[str, Any],
        columns: Mapping[str, Any] | None,
        only: Iterable[str] | None = None,
    ) -> int:
        """Index (or reindex) the object ``uid`` at ``path``: ``values`` by index name
        (None: not indexed), ``columns`` its metadata (None: keep). ``only``: the indexes
        to update (all by default)."""
        docid: int | None = self.docids.get(uid)
        if docid is None:
            docid = self._new_docid()
            self.docids[uid] = docid
            self.count.change(1)
        self.paths.index_doc(docid, path)
        names = values.keys() if only is None else only
        namespace = _values(values)
        indexes = self.indexes
        for name in names:
            index = indexes.get(name)
            if index is not None:
                index.index_doc(docid, namespace)
        if columns is not None and self.metadata.get(docid) != columns:
            self.metadata[docid] = Record(columns)
        return docid

    def uncatalog(self, docid: int) -> None:
        for index in self.indexes.values():
            index.unindex_doc(docid)
        self.paths.unindex_doc(docid)
        record = self.metadata.pop(docid, None)
        uid = None if record is None else record.get("UID")
        if uid is not None and self.docids.get(uid) == docid:
            del self.docids[uid]
            self.count.change(-1)

    def uncatalog_subtree(self, path: str) -> int:
        """Remove the entry at ``path`` and every one below it; how many."""
        docids = list(self.paths.search((path,), -1))
        for docid in docids:
            self.uncatalog(docid)
        return len(docids)

    def clear(self) -> None:
        for index in self.indexes.values():
            index.reset()
        self.docids.clear()
        self.metadata.clear()
        self.paths = PathIndex()
        self.count.set(0)

    # reading ------------------------------------------------------------------------
    def docid_of(self, uid: str) -> int | None:
        docid: int | None = self.docids.get(uid)
        return docid

    def all_docids(self) -> Any:
        return FAMILY.IF.Set(self.metadata.keys())


def catalog_of(container: Any) -> Catalog | None:
    """The catalog of ``container`` (None: it has none yet)."""
    found: Catalog | None = getattr(container, CATALOG_ATTR, None)
    return found
