"""Writing a container (or a subtree of it) to an archive, in one read snapshot.

One read transaction sees the whole export: the archive is a consistent picture of one
moment, whatever the servers write meanwhile (on FileStorage, the storage is opened read
only: a snapshot of the file as it was). Memory stays flat: children are taken a page at a
time from their folder's order, the connection's cache is emptied every ``batch`` objects
(nothing is modified, so every object can be turned back into a ghost), and blobs are copied
in chunks by tarfile.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import transaction
import ZODB

from baobab.catalog.rebuild import Progress, Report
from baobab.config.registry import Registry
from baobab.content.interfaces import IContainer
from baobab.content.resources import Folder, Resource
from baobab.database.transactions import ROOT_KEY
from baobab.errors import ConfigError
from baobab.location import find, resource_path
from baobab.security.users import user_folder
from baobab.transfer import archive
from baobab.transfer.principals import group_record, user_record
from baobab.transfer.records import record_of

__all__ = ["BATCH", "Counts", "export_container"]

BATCH = 1000  # objects between two emptyings of the connection's cache
PAGE = 1000  # children read from a folder's order at a time


@dataclass
class Counts:
    objects: int = 0
    users: int = 0
    groups: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {
            "objects": self.objects,
            "users": self.users,
            "groups": self.groups,
            "blobs": self.blobs,
            "blob_bytes": self.blob_bytes,
        }


def _children(folder: Folder) -> Iterator[Resource]:
    """``folder``'s children in its order, a page of ids at a time."""
    start = 0
    while names := folder.ordered_keys(start, PAGE):
        for name in names:
            yield folder[name]
        start += len(names)


def _below(top: Resource) -> Iterator[Resource]:
    """Everything below ``top``, parents before children, each folder in its order (a stack
    of iterators: memory is the depth, not the size)."""
    stack: list[Iterator[Resource]] = [_children(top)] if isinstance(top, Folder) else []
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        yield child
        if isinstance(child, Folder):
            stack.append(_children(child))


def _count(top: Resource) -> int:
    """The objects below ``top`` (folders' lengths: no item is loaded)."""
    total, stack = 0, [top]
    while stack:
        folder = stack.pop()
        if isinstance(folder, Folder):
            total += len(folder)
            stack.extend(c for c in folder._children.values() if isinstance(c, Folder))
    return total


def _subtree(container: Any, path: str) -> tuple[Resource, list[Resource]]:
    """(the object at ``path`` below the container, the objects between them)."""
    names = [n for n in path.strip("/").split("/") if n]
    if not names:
        return container, []
    top = find(container, "/".join((resource_path(container), *names)))
    if top is None:
        raise ConfigError(f"no object at {path!r} in container {container.__name__!r}")
    chain: list[Resource] = []
    node = top.__parent__
    while node is not container:
        chain.append(node)
        node = node.__parent__
    return top, list(reversed(chain))


class _Export:
    def __init__(self, registry: Registry, writer: archive.ArchiveWriter, container: Any) -> None:
        self.registry = registry
        self.writer = writer
        self.base = resource_path(container)
        self.counts = Counts()

    def write(self, obj: Resource) -> None:
        seq = self.counts.objects
        path = resource_path(obj)[len(self.base) + 1 :]
        record, files = record_of(obj, self.registry, seq, path)
        self.writer.json(archive.content_member(seq), record)
        self.counts.objects += 1
        for member, value in files:
            with value.blob.open("r") as source:
                size = os.fstat(source.fileno()).st_size
                self.writer.stream(member, source, size)
            self.counts.blobs += 1
            self.counts.blob_bytes += size

    def principals(self, container: Any) -> None:
        folder = user_folder(container)
        if folder is None:
            return
        for group in folder.groups.values():
            self.writer.json(f"principals/groups/{group.id}.json", group_record(group))
            self.counts.groups += 1
        for user in folder.users.values():
            self.writer.json(f"principals/users/{user.id}.json", user_record(user))
            self.counts.users += 1


def _container(conn: Any, name: str) -> Any:
    root = conn.root().get(ROOT_KEY)
    found = root.get(name) if isinstance(root, Folder) else None
    return found if IContainer.providedBy(found) else None


def export_container(
    db: ZODB.DB,
    *,
    database: str,
    storage: str,
    container: str,
    path: str,
    registry: Registry,
    out: IO[bytes],
    out_name: str,
    batch: int = BATCH,
    report: Report | None = None,
) -> Counts:
    """Write container ``container`` of ``db`` (below it only ``path``'s subtree, with the
    folders leading to it) to ``out``; the counts written."""
    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    tm.begin()
    try:
        site = _container(conn, container)
        if site is None:
            raise ConfigError(f"no container named {container!r} in database {database!r}")
        top, chain = _subtree(site, path)
        folder = user_folder(site)
        expected = {
            "objects": 1 + len(chain) + (top is not site) + _count(top),
            "users": 0 if folder is None else len(folder.users),
            "groups": 0 if folder is None else len(folder.groups),
        }
        progress = Progress(path=f"/{database}/{container}", total=expected["objects"])
        progress.phase = "index"
        writer = archive.ArchiveWriter(out, out_name)
        source = {"database": database, "container": container, "path": path.strip("/")}
        writer.json(archive.MANIFEST, archive.manifest(storage=storage, counts=expected, **source))
        work = _Export(registry, writer, site)
        work.write(site)
        work.principals(site)
        heads = [*chain, top] if top is not site else []
        for obj in _walk(heads, top):
            work.write(obj)
            if work.counts.objects % batch == 0:
                conn.cacheMinimize()  # nothing is modified: every object may be a ghost again
                progress.done = work.counts.objects
                if report is not None:
                    report(progress)
        writer.json(archive.END, work.counts.as_dict())
        writer.close()
        progress.done = work.counts.objects
        progress.phase = "done"
        if report is not None:
            report(progress)
        return work.counts
    finally:
        tm.abort()
        conn.close()


def _walk(heads: list[Resource], top: Resource) -> Iterator[Resource]:
    yield from heads
    yield from _below(top)
