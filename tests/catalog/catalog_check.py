"""Reading a container's catalog straight from the database, and checking it is *true*: it
holds exactly one entry per object of the stored tree (the container itself excluded), and
each entry's path, index values and metadata are what indexing the object afresh gives.

This is the oracle of the reindexing tests: whatever a request changed, after it commits
the catalog must equal a rebuild from the tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from baobab.catalog.queue import entry_values
from baobab.catalog.store import date_key
from baobab.config.registry import Registry
from baobab.content.resources import Folder
from baobab.database.transactions import ROOT_KEY
from baobab.location import resource_path

__all__ = ["assert_true", "snapshot", "stored"]


@contextmanager
def stored(db: Any, path: str) -> Iterator[Any]:
    """The object at ``path`` (``/db/site/…``) as stored now (a fresh connection)."""
    conn = db.open()
    try:
        obj = conn.root()[ROOT_KEY]
        for name in path.strip("/").split("/")[1:]:
            obj = obj[name]
        yield obj
    finally:
        conn.close()


def _words(index: Any, docid: int) -> list[str]:
    inner = index.index
    if docid not in inner._docwords:
        return []
    return sorted(index.lexicon.get_word(wid) for wid in inner.get_words(docid))


def _split(catalog: Any, name: str, text: str) -> list[str]:
    lexicon = catalog.indexes[name].lexicon
    words: list[str] = [text]
    for element in lexicon._pipeline:
        words = element.process(words)
    return words


def _entry(catalog: Any, docid: int) -> dict[str, Any]:
    """What the catalog holds for ``docid``: every index's value, its path and metadata."""
    entry: dict[str, Any] = {
        "path": catalog.paths.path_of(docid),
        "metadata": catalog.metadata.get(docid),
    }
    for name, index in catalog.indexes.items():
        kind = catalog.kinds[name]
        if kind == "text":
            entry[name] = _words(index, docid)
        elif kind == "keyword":
            value = index._rev_index.get(docid)
            entry[name] = None if value is None else sorted(value)
        else:
            entry[name] = index._rev_index.get(docid)
    return entry


def _expected(catalog: Any, obj: Any, registry: Registry) -> dict[str, Any]:
    values, columns = entry_values(obj, registry, None)
    entry: dict[str, Any] = {"path": resource_path(obj), "metadata": columns}
    for name, value in values.items():
        kind = catalog.kinds[name]
        if value is None:
            entry[name] = [] if kind == "text" else None
        elif kind == "text":
            entry[name] = sorted(_split(catalog, name, value))
        elif kind == "keyword":
            entry[name] = sorted(set(value))
        elif kind == "date" and not isinstance(value, int):
            entry[name] = date_key(value)
        else:
            entry[name] = value
    return entry


def _walk(container: Any) -> Iterator[Any]:
    stack = list(container.values())
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Folder):
            stack.extend(node.values())


def assert_true(db: Any, registry: Registry, site: str) -> dict[str, int]:
    """The stored catalog of ``site`` is exactly a fresh indexing of its tree; the docid of
    each object's UID."""
    with stored(db, site) as container:
        catalog = container._catalog
        objects = {obj.uid: obj for obj in _walk(container)}
        docids = dict(catalog.docids.items())
        assert set(docids) == set(objects), (
            f"missing {sorted(set(objects) - set(docids))}, "
            f"stale {sorted(set(docids) - set(objects))}"
        )
        assert len(catalog) == len(objects) == len(catalog.metadata) == len(catalog.paths)
        for uid, obj in objects.items():
            got, want = _entry(catalog, docids[uid]), _expected(catalog, obj, registry)
            assert got == want, f"{resource_path(obj)}:\n got {got}\nwant {want}"
        return docids


def snapshot(db: Any, site: str) -> tuple[int, dict[int, dict[str, Any]]]:
    """``len(catalog)`` and every entry, as stored now (to compare before and after)."""
    with stored(db, site) as container:
        catalog = container._catalog
        entries = {docid: _entry(catalog, docid) for docid in catalog.metadata}
        return len(catalog), entries
