"""The indexing queue: what a transaction changed, indexed once, just before it commits.

Whatever changes an object, its place or who may see it queues it here (object events raised
in a request, :func:`baobab.security.indexing.reindex` for the tokens it changes). The queue
lives on the transaction and flushes from its before-commit hook, so

- a request that touches an object three times indexes it once, from its final state;
- a subtree (a move, a copy) is walked once, at the end, whatever happened on the way;
- an aborted transaction (an error, a conflict replay, a stop for more input) takes its
  queue with it: the catalog changes exactly when the content does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from baobab.catalog.store import CATALOG_ATTR, Catalog, date_key
from baobab.config.registry import Registry
from baobab.content.interfaces import IContainer
from baobab.content.resources import Folder
from baobab.location import resource_path

__all__ = ["IndexQueue", "container_of", "entry_values", "queue_for", "reindex_positions"]

POSITION_INDEX = "getObjPositionInParent"

_KEY = object()  # the queue's key in transaction.data


def container_of(obj: Any) -> Any:
    """The container (site) ``obj`` is in, or is; None above containers."""
    while obj is not None:
        if IContainer.providedBy(obj):
            return obj
        obj = getattr(obj, "__parent__", None)
    return None


def _jar(obj: Any) -> Any:
    while obj is not None:
        jar = getattr(obj, "_p_jar", None)
        if jar is not None:
            return jar
        obj = getattr(obj, "__parent__", None)
    return None


def queue_for(obj: Any, registry: Registry) -> IndexQueue | None:
    """The queue of the transaction changing ``obj`` (made, and hooked to the commit, on
    first use); None for an object that is in no stored tree."""
    jar = _jar(obj)
    if jar is None:
        return None
    txn = jar.transaction_manager.get()
    try:
        queue: IndexQueue = txn.data(_KEY)
    except KeyError:
        queue = IndexQueue(registry)
        txn.set_data(_KEY, queue)
        txn.addBeforeCommitHook(queue.flush)
    return queue


def reindex_positions(folder: Any, ids: list[str], registry: Registry) -> None:
    """Queue the children ``ids`` of ``folder`` whose position key changed (a reorder)."""
    queue = queue_for(folder, registry) if ids else None
    if queue is None:
        return
    for name in ids:
        child = folder.get(name)
        if child is not None:
            queue.index(child, only=(POSITION_INDEX,))


@dataclass
class _Work:
    container: Any
    removed: list[str] = field(default_factory=list)
    # id(obj) → (obj, the indexes to update or None for all, subtree?)
    entries: dict[int, tuple[Any, frozenset[str] | None, bool]] = field(default_factory=dict)


def _merge(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    return None if a is None or b is None else a | b


def entry_values(
    obj: Any, registry: Registry, only: frozenset[str] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``obj``'s index values (those of ``only``, or all) and, for a full entry, its
    metadata columns."""
    values: dict[str, Any] = {}
    for name, info in registry.indexes.items():
        if only is not None and name not in only:
            continue
        value = info.value(obj, registry)
        if info.kind == "date" and value is not None and not isinstance(value, int):
            value = date_key(value)
        values[name] = value
    if only is not None:
        return values, None
    columns = {name: info.value(obj, registry) for name, info in registry.columns.items()}
    return values, columns


class IndexQueue:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._work: dict[int, _Work] = {}

    def _for(self, container: Any) -> _Work:
        work = self._work.get(id(container))
        if work is None:
            work = self._work[id(container)] = _Work(container)
        return work

    def index(self, obj: Any, only: Iterable[str] | None = None, subtree: bool = False) -> None:
        """Index ``obj`` (and with ``subtree``, everything below it) when the transaction
        commits; ``only``: just these indexes."""
        container = container_of(obj)
        if container is None:
            return
        entries = self._for(container).entries
        wanted = None if only is None else frozenset(only)
        previous = entries.get(id(obj))
        if previous is not None:
            wanted = _merge(previous[1], wanted)
            subtree = subtree or previous[2]
        entries[id(obj)] = (obj, wanted, subtree)

    def remove(self, container: Any, path: str) -> None:
        """Remove the entries at ``path`` and below from ``container``'s catalog."""
        self._for(container).removed.append(path)

    def flush(self) -> None:
        for work in self._work.values():
            _flush(work, self.registry)
        self._work.clear()


def _in_tree(obj: Any, container: Any) -> bool:
    """Whether ``obj`` is still where its ``__parent__`` says, up to ``container``."""
    while obj is not container:
        parent = getattr(obj, "__parent__", None)
        if not isinstance(parent, Folder) or parent.get(obj.__name__) is not obj:
            return False
        obj = parent
    return True


def _walk(obj: Any) -> Iterator[Any]:
    stack = [obj]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Folder):
            stack.extend(node.values())


def ensure_catalog(container: Any, registry: Registry) -> Catalog:
    catalog: Catalog | None = getattr(container, CATALOG_ATTR, None)
    if catalog is None:
        catalog = Catalog()
        setattr(container, CATALOG_ATTR, catalog)
    catalog.ensure_indexes(registry)
    return catalog


def _flush(work: _Work, registry: Registry) -> None:
    container = work.container
    catalog = ensure_catalog(container, registry)
    for path in work.removed:
        catalog.uncatalog_subtree(path)
    targets: dict[int, tuple[Any, frozenset[str] | None]] = {}
    for obj, only, subtree in work.entries.values():
        if not _in_tree(obj, container):
            continue  # removed (or moved out) after it was queued
        for node in _walk(obj) if subtree else (obj,):
            if node is container:
                continue  # a catalog holds what is in its container, not the container
            previous = targets.get(id(node))
            wanted = only if previous is None else _merge(previous[1], only)
            targets[id(node)] = (node, wanted)
    for node, wanted in targets.values():
        only = wanted if catalog.docid_of(node.uid) is not None else None  # new: in full
        values, columns = entry_values(node, registry, only)
        catalog.catalog_object(node.uid, resource_path(node), values, columns, only)
