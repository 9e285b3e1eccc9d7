"""The location protocol: ``__name__`` / ``__parent__`` and the paths derived from them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["find", "lineage", "resource_path", "resource_path_tuple", "split_path"]


def lineage(obj: Any) -> Iterator[Any]:
    """``obj`` and its parents, up to the top of the tree."""
    while obj is not None:
        yield obj
        obj = getattr(obj, "__parent__", None)


def resource_path_tuple(obj: Any) -> tuple[str, ...]:
    names = [getattr(o, "__name__", None) or "" for o in lineage(obj)]
    return tuple(n for n in reversed(names) if n)


def resource_path(obj: Any) -> str:
    """``/db/container/folder/item`` for an object in the tree."""
    return "/" + "/".join(resource_path_tuple(obj))


def split_path(path: str) -> tuple[str, ...]:
    """``/db/site/doc/`` → ``("db", "site", "doc")`` (empty segments dropped)."""
    return tuple(segment for segment in path.split("/") if segment)


def find(start: Any, path: str) -> Any:
    """The object at ``path`` (absolute, below ``start``'s own), or None: what an index
    recorded may be gone. Walks folders only (``folderish``), child by child."""
    own = resource_path(start)
    if path == own:
        return start
    prefix = own.rstrip("/") + "/"
    if not path.startswith(prefix):
        return None
    node = start
    for name in split_path(path[len(prefix) :]):
        node = node.get(name) if getattr(node, "folderish", False) else None
        if node is None:
            return None
    return node
