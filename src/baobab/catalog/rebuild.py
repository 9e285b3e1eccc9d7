"""Rebuilding a container's catalog from its tree, in batches, while the servers keep writing.

``baobab reindex-catalog`` and the start-up upgrade (a container stored before it had a
catalog, an index an add-on declared later) both come here. A rebuild must be safe on a live
PostgreSQL database, so it never holds one long transaction (a long read snapshot of a
history-free RelStorage fails with ``ReadConflictError`` once an object it needs changes, and
one huge write would conflict with every request):

1. **count**: walk the folders in read transactions of a few thousand children each (the
   children stay ghosts: a ghost knows its class, so only folders are loaded);
2. **index**: walk again, ``batch`` objects per write transaction (conflict replays, and a
   batch halved when one keeps conflicting). The walk is resumable: a stack of folder paths
   with the last child id done in each, resolved afresh in each transaction, children taken
   in id order from the mapping (a range search, so creates and deletes elsewhere in the
   folder neither skip nor repeat anything). Each indexed object is ``readCurrent``: if a live
   request changes it before the batch commits, the batch conflicts and replays, so stale
   values never overwrite the request's own reindexing. Each batch also re-checks the entries
   the previous one wrote, in a snapshot taken after that commit: an object deleted while the
   batch ran (a delete does not touch the object itself, so ``readCurrent`` misses it) would
   otherwise come back as an entry;
3. **clean**: the entries not written by the walk are checked one by one; an entry is
   removed only when its path no longer leads to an object with its UID (or the UID has
   another entry). Objects created by the servers during the rebuild were indexed by their
   own transactions, are found at their path, and stay.

Objects created, changed, moved or deleted while it runs are indexed by their own
transactions (the catalog follows every write), so the walk may miss them without harm.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import BTrees
import ZODB

from baobab.catalog.queue import ensure_catalog, entry_values
from baobab.catalog.store import Catalog, catalog_of
from baobab.config.registry import Registry
from baobab.content.interfaces import IContainer
from baobab.content.resources import Folder
from baobab.database.transactions import ROOT_KEY, Connections, run_in_transaction
from baobab.errors import Conflict
from baobab.location import find, resource_path

__all__ = [
    "BATCH",
    "Progress",
    "Rebuilt",
    "container_names",
    "lacking_indexes",
    "prepare_catalogs",
    "rebuild",
]

logger = logging.getLogger(__name__)

FAMILY = BTrees.family64
BATCH = 500  # objects indexed per write transaction
COUNT_BATCH = 5000  # children visited per read transaction while counting
RETRIES = 10  # conflict replays of one batch before it is halved
STALL = 120.0  # seconds without a committed batch before the rebuild gives up
# a catalog lacking an index is filled at start-up if it holds at most this many entries
# (a few seconds); a larger one gets a warning naming the command
STARTUP_FILL_LIMIT = 5000

T = TypeVar("T")
Names = tuple[str, ...]  # a path below the container, as ids
Cursor = list[tuple[Names, str | None]]  # folders being walked, with the last child id done


@dataclass
class Progress:
    """Where a rebuild is: shown by the CLI's progress bar, logged at start-up."""

    path: str  # the container's path, ``/db/site``
    total: int = 0  # objects counted before the walk (the tree may change meanwhile)
    done: int = 0  # objects indexed
    removed: int = 0  # stale entries removed
    phase: str = "count"  # count, index, clean, done
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Objects indexed per second since the walk began."""
        elapsed = self.elapsed
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, from the rate so far (None before there is one)."""
        rate = self.rate
        if rate <= 0:
            return None
        return max(self.total - self.done, 0) / rate


Report = Callable[[Progress], None]


@dataclass
class Rebuilt:
    path: str
    indexed: int
    removed: int
    seconds: float


def _quiet(progress: Progress) -> None:
    pass


# -- the tree ---------------------------------------------------------------------------


def container_names(conn: Any) -> list[str]:
    """The ids of the containers of the database ``conn`` is on."""
    root = conn.root().get(ROOT_KEY)
    if not isinstance(root, Folder):
        return []
    return [name for name, child in root.items() if IContainer.providedBy(child)]


def _container(conn: Any, name: str) -> Any:
    root = conn.root().get(ROOT_KEY)
    found = root.get(name) if isinstance(root, Folder) else None
    return found if IContainer.providedBy(found) else None


def _visit(container: Any, cursor: Cursor, limit: int) -> list[Any]:
    """Up to ``limit`` more objects of the walk, depth first; advances ``cursor``.

    Children are read from the folder's id-keyed mapping (``_children``), from just after the
    last id done: the ordered listing of a folder is for clients, and positions shift as the
    live servers add and remove children."""
    found: list[Any] = []
    while cursor and len(found) < limit:
        names, after = cursor[-1]
        folder = find(container, "/".join((resource_path(container), *names)))
        if not isinstance(folder, Folder):
            cursor.pop()  # deleted or replaced meanwhile
            continue
        children = folder._children
        items = children.items() if after is None else children.items(min=after, excludemin=True)
        exhausted = True
        for name, child in items:
            found.append(child)
            cursor[-1] = (names, name)
            if isinstance(child, Folder):  # a ghost knows its class: nothing loaded yet
                cursor.append(((*names, name), None))
                exhausted = False
                break
            if len(found) >= limit:
                exhausted = False
                break
        if exhausted:
            cursor.pop()
    return found


# -- the transactions -------------------------------------------------------------------


class _Gone(Exception):
    """The container was deleted while it was being rebuilt."""


def _check(catalog: Catalog, container: Any, docid: int) -> bool:
    """Remove the entry ``docid`` unless its path leads to an object with its UID that has
    no other entry; whether it was removed."""
    path = catalog.paths.path_of(docid)
    record = catalog.metadata.get(docid)
    uid = None if record is None else record.get("UID")
    if path is not None and uid is not None and catalog.docid_of(uid) == docid:
        obj = find(container, path)
        if obj is not None and getattr(obj, "uid", None) == uid and obj is not container:
            return False
    catalog.uncatalog(docid)
    return True


class _Rebuild:
    """The transactions of one container's rebuild (each replayed on conflict)."""

    def __init__(
        self, db: ZODB.DB, name: str, registry: Registry, only: frozenset[str] | None
    ) -> None:
        self.db = db
        self.name = name
        self.registry = registry
        self.only = only
        self.connections = Connections()

    def run(self, work: Callable[[Any, Catalog], tuple[T, bool]]) -> T:
        """``work(container, catalog)`` in a transaction; it returns (result, commit)."""

        def unit(conn: Any) -> tuple[T, bool]:
            container = _container(conn, self.name)
            if container is None:
                raise _Gone(self.name)
            return work(container, ensure_catalog(container, self.registry))

        return run_in_transaction(self.db, unit, retries=RETRIES, connections=self.connections)

    def prepare(self) -> None:
        """Make the catalog (marked incomplete until its first build ends) and the indexes
        it lacks (empty: the walk fills them)."""

        def unit(conn: Any) -> tuple[None, bool]:
            container = _container(conn, self.name)
            if container is None:
                raise _Gone(self.name)
            catalog = catalog_of(container)
            if catalog is not None and not lacking_indexes(catalog, self.registry):
                return None, False
            made = ensure_catalog(container, self.registry)
            if catalog is None:
                made.incomplete = True
            return None, True

        run_in_transaction(self.db, unit, retries=RETRIES, connections=self.connections)

    def count(self) -> int:
        """The objects in the container (read transactions; only folders are loaded)."""
        cursor: Cursor = [((), None)]
        total = 0
        while cursor:

            def work(container: Any, catalog: Catalog, start: Cursor = cursor) -> Any:
                walked = list(start)
                return (walked, len(_visit(container, walked, COUNT_BATCH))), False

            cursor, seen = self.run(work)
            total += seen
        return total

    def batch(self, cursor: Cursor, check: list[int], size: int) -> tuple[Cursor, list[int], int]:
        """Re-check ``check`` (the previous batch's entries), then index up to ``size``
        more objects; (the cursor after them, their docids, entries removed)."""

        def work(container: Any, catalog: Catalog) -> Any:
            removed = sum(_check(catalog, container, docid) for docid in check)
            walked = list(cursor)
            docids = [self._index(catalog, node) for node in _visit(container, walked, size)]
            return (walked, docids, removed), True

        result: tuple[Cursor, list[int], int] = self.run(work)
        return result

    def _index(self, catalog: Catalog, node: Any) -> int:
        node._p_jar.readCurrent(node)  # changed by a request before we commit: replay
        only = self.only if catalog.docid_of(node.uid) is not None else None
        values, columns = entry_values(node, self.registry, only)
        return catalog.catalog_object(node.uid, resource_path(node), values, columns, only)

    def unseen(self, seen: Any) -> list[int]:
        """The entries not in ``seen``, read a few thousand per transaction (a bucket of
        ``metadata`` loads its columns too: one transaction would hold them all)."""
        found: list[int] = []
        after: int | None = None
        while True:

            def work(container: Any, catalog: Catalog, after: int | None = after) -> Any:
                keys = catalog.metadata.keys(min=after, excludemin=after is not None)
                return list(itertools.islice(keys, COUNT_BATCH)), False

            chunk: list[int] = self.run(work)
            if not chunk:
                return found
            found.extend(FAMILY.IF.difference(FAMILY.IF.Set(chunk), seen))
            after = chunk[-1]

    def clean(self, docids: list[int]) -> int:
        """Remove the entries of ``docids`` whose objects are gone; how many."""

        def work(container: Any, catalog: Catalog) -> tuple[int, bool]:
            return sum(_check(catalog, container, docid) for docid in docids), True

        return self.run(work)

    def finish(self) -> None:
        """Mark the catalog built (a start-up will not build it again) and the indexes
        rebuilt filled."""

        def work(container: Any, catalog: Catalog) -> tuple[None, bool]:
            unfilled = frozenset() if self.only is None else catalog.unfilled - self.only
            if not catalog.incomplete and unfilled == catalog.unfilled:
                return None, False
            catalog.incomplete = False
            catalog.unfilled = frozenset(unfilled)
            return None, True

        self.run(work)


def rebuild(
    db: ZODB.DB,
    database: str,
    name: str,
    registry: Registry,
    *,
    batch: int = BATCH,
    only: Iterable[str] | None = None,
    report: Report = _quiet,
) -> Rebuilt:
    """Rebuild the catalog of container ``name`` of ``db`` (named ``database``) from its tree:
    every object indexed, entries of objects that are gone removed. ``only``: just these
    indexes (objects without an entry are indexed in full). ``report`` is called with the
    progress after each transaction. Raises :class:`LookupError` if there is no such
    container (or it is deleted meanwhile)."""
    progress = Progress(path=f"/{database}/{name}")
    work = _Rebuild(db, name, registry, None if only is None else frozenset(only))
    try:
        work.prepare()
        progress.total = work.count()
        progress.phase = "index"
        progress.started = time.monotonic()
        report(progress)
        cursor: Cursor = [((), None)]
        seen = FAMILY.IF.TreeSet()
        check: list[int] = []
        size, failures, committed = batch, 0, time.monotonic()
        while cursor or check:
            try:
                cursor, docids, removed = work.batch(cursor, check, size)
            except Conflict:
                if time.monotonic() - committed > STALL:
                    raise
                # a hot spot (or catalog structures splitting as they grow): smaller
                # batches, after a pause that lets the servers' commits through
                failures += 1
                size = max(1, size // 2)
                logger.info("%s: batch conflicted, now %d objects a batch", progress.path, size)
                time.sleep(random.uniform(0, min(1.0, 0.05 * failures)))
                continue
            failures, committed = 0, time.monotonic()
            size = min(batch, size * 2)
            seen.update(docids)
            check = docids
            progress.done += len(docids)
            progress.removed += removed
            report(progress)
        progress.phase = "clean"
        todo = work.unseen(seen)
        for start in range(0, len(todo), batch):
            progress.removed += work.clean(todo[start : start + batch])
            report(progress)
        work.finish()
        progress.phase = "done"
        report(progress)
    except _Gone:
        raise LookupError(f"no container {name!r} in database {database!r}") from None
    finally:
        work.connections.close_all()
    return Rebuilt(progress.path, progress.done, progress.removed, progress.elapsed)


# -- start-up ---------------------------------------------------------------------------


def lacking_indexes(catalog: Catalog, registry: Registry) -> list[str]:
    """The indexes the registry declares that ``catalog`` lacks (or holds with another
    kind), or holds unfilled: an add-on added since the catalog was built."""
    return [
        name
        for name, info in registry.indexes.items()
        if name not in catalog.indexes
        or catalog.kinds.get(name) != info.kind
        or name in catalog.unfilled
    ]


@dataclass
class _Survey:
    name: str
    missing: bool  # no catalog, or one whose first build did not finish
    lacking: list[str]
    entries: int


def _survey(conn: Any, registry: Registry) -> list[_Survey]:
    found = []
    for name in container_names(conn):
        catalog = catalog_of(conn.root()[ROOT_KEY][name])
        if catalog is None or catalog.incomplete:
            found.append(_Survey(name, True, [], 0))
            continue
        lacking = lacking_indexes(catalog, registry)
        if lacking:
            found.append(_Survey(name, False, lacking, len(catalog)))
    return found


def _startup_report(doing: str, every: float = 10.0) -> Report:
    """Log lines: what is done (once the objects are counted), then progress every
    ``every`` seconds."""
    last = [time.monotonic()]

    def report(progress: Progress) -> None:
        now = time.monotonic()
        if progress.phase != "index":
            return
        if progress.done == 0:
            logger.info("%s %s: %d objects", doing, progress.path, progress.total)
        elif now - last[0] >= every:
            last[0] = now
            logger.info("%s: %d/%d objects", progress.path, progress.done, progress.total)

    return report


def prepare_catalogs(
    db: ZODB.DB, database: str, registry: Registry, *, fill_limit: int | None = None
) -> None:
    """At start-up (under the start-up lock): build the catalog of each container stored
    before catalogs existed (or whose first build was interrupted); fill the indexes an
    add-on declared since if the catalog is small, else warn with the command that does."""

    def survey(conn: Any) -> tuple[list[_Survey], bool]:
        return _survey(conn, registry), False

    limit = STARTUP_FILL_LIMIT if fill_limit is None else fill_limit
    for found in run_in_transaction(db, survey, retries=RETRIES):
        path = f"/{database}/{found.name}"
        lacking = ", ".join(found.lacking)
        if not found.missing and found.entries > limit:
            logger.warning(
                "the catalog of %s lacks the index(es) %s (declared since it was built): "
                "queries on them find only objects written since; fill them with "
                "`baobab reindex-catalog --database %s --container %s`",
                path,
                lacking,
                database,
                found.name,
            )
            continue
        doing = (
            "building the catalog of" if found.missing else f"filling the index(es) {lacking} of"
        )
        only = None if found.missing else found.lacking
        report = _startup_report(doing)
        try:
            done = rebuild(db, database, found.name, registry, only=only, report=report)
        except LookupError:
            continue  # deleted meanwhile by another host
        logger.info("catalog of %s built: %d objects in %.1f s", path, done.indexed, done.seconds)
